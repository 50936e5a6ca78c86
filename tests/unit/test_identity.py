"""Identity resolution: normalization, the graph, merge and unmerge, convergence."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from profile360.events.people import Identify, Link, RawIdentifier as R, Unlink
from profile360.projections import identity
from profile360.projections.identifiers import normalize, parse_key
from profile360.projections.identity import IdentityView, components

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_emails_are_trimmed_lower_cased_and_validated():
    ok = normalize(R("email", "  John.Doe@Example.COM "))
    assert (ok.key, ok.original, ok.valid) == ("email:john.doe@example.com", "  John.Doe@Example.COM ", True)
    bad = normalize(R("email", " not-an-email "))
    assert (bad.key, bad.valid) == ("email:not-an-email", False) and "@" in bad.problem


def test_phones_become_e164_with_the_default_region():
    national = normalize(R("phone", "050 123 4567"), "AE")
    assert (national.key, national.region, national.valid) == ("phone:+971501234567", "AE", True)
    assert normalize(R("phone", "+971 50 123 4567")).key == "phone:+971501234567"
    no_region = normalize(R("phone", "050 123 4567"))
    assert not no_region.valid and "region" in no_region.problem
    assert not normalize(R("phone", "+1 555"), "US").valid


def test_other_types_are_trimmed_only_and_keys_split_at_the_first_colon():
    assert normalize(R("loyalty_no", " AB:12 ")).key == "loyalty_no:AB:12"
    assert parse_key("loyalty_no:AB:12") == ("loyalty_no", "AB:12")
    assert parse_key("CUST1") is None and parse_key(":x") is None


def identify(eid, minutes, *ids, region=None, **traits):
    return Identify(eid, "t", at(minutes), tuple(R(k, v) for k, v in ids), traits, default_region=region)


def test_an_identify_joins_its_identifiers_under_the_smallest_customer_id():
    view = IdentityView().apply([identify("e1", 0, ("email", "A@x.com"), ("customer_id", "C2")),
                                 identify("e2", 1, ("customer_id", "C1"), ("email", "a@x.com"))])
    assert view.profiles("t") == {"customer_id:C1": "C1", "customer_id:C2": "C1", "email:a@x.com": "C1"}


def test_weak_links_and_invalid_identifiers_never_merge():
    view = IdentityView().apply([
        Link("l1", "t", at(0), R("customer_id", "C1"), R("customer_id", "C2"), 0.5),
        identify("e1", 1, ("customer_id", "C3"), ("email", "broken"), ("email", "ok@x.com")),
        identify("e2", 2, ("customer_id", "C4"), ("email", "broken")),
    ])
    profiles = view.profiles("t")
    assert profiles["customer_id:C2"] == "C2" and profiles["customer_id:C4"] == "C4"
    assert profiles["email:ok@x.com"] == "C3" and profiles["email:broken"] == "email:broken"
    assert view.profiles("t", threshold=0.5)["customer_id:C2"] == "C1"


def test_an_unlink_splits_and_only_a_later_link_joins_again():
    link = Link("l1", "t", at(10), R("customer_id", "C1"), R("email", "fam@x.com"), 0.9)
    share = Link("l2", "t", at(10), R("customer_id", "C2"), R("email", "fam@x.com"), 0.9)
    unlink = Unlink("u1", "t", at(20), R("email", "FAM@x.com"), R("customer_id", "C2"))
    view = IdentityView().apply([link, share])
    assert view.profiles("t")["customer_id:C2"] == "C1"
    view = view.apply([unlink])
    assert view.profiles("t")["customer_id:C2"] == "C2"
    assert view.apply([Link("l0", "t", at(5), R("customer_id", "C2"), R("email", "fam@x.com"), 1.0)]) \
        .profiles("t")["customer_id:C2"] == "C2", "an older link loses to the unlink"
    assert view.apply([Link("l3", "t", at(30), R("customer_id", "C2"), R("email", "fam@x.com"), 1.0)]) \
        .profiles("t")["customer_id:C2"] == "C1"


ids = st.sampled_from([("customer_id", "C1"), ("customer_id", "C2"), ("customer_id", "C3"), ("email", "a@x.com"),
                       ("email", "B@x.com"), ("email", "bad"), ("phone", "+971501234567"), ("device_id", "d1")])
raw = ids.map(lambda p: R(*p))
identity_events = st.one_of(
    st.builds(lambda n, m, xs: identify(f"i{n}", m, *xs), st.integers(0, 20), st.integers(0, 50),
              st.lists(ids, min_size=1, max_size=3)),
    st.builds(lambda n, m, a, b, c: Link(f"l{n}", "t", at(m), a, b, c), st.integers(0, 20), st.integers(0, 50),
              raw, raw, st.sampled_from([0.5, 0.8, 1.0])),
    st.builds(lambda n, m, a, b: Unlink(f"u{n}", "t", at(m), a, b), st.integers(0, 20), st.integers(0, 50), raw, raw),
)


def unique_by_id(evs):
    seen = {}
    for e in evs:
        seen.setdefault(e.event_id, e)
    return list(seen.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(identity_events, max_size=25).map(unique_by_id), st.randoms(use_true_random=False), st.data())
def test_profiles_depend_only_on_the_set_of_events(evs, rnd, data):
    expected = IdentityView().apply(evs).profiles("t")
    shuffled = evs + data.draw(st.lists(st.sampled_from(evs), max_size=5) if evs else st.just([]))
    rnd.shuffle(shuffled)
    view = IdentityView()
    for i in range(0, len(shuffled), 3):
        view = view.apply(shuffled[i:i + 3])
    assert view.profiles("t") == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(identity_events, max_size=25).map(unique_by_id), st.integers(1, 6))
def test_regrouping_only_the_touched_profiles_equals_a_full_recomputation(evs, size):
    """The store's incremental step (store/identity.py): recompute the profiles of a batch's
    nodes and of every member of their old profiles, from the edges among them."""
    view, membership = IdentityView(), {}
    for i in range(0, len(evs), size):
        batch = evs[i:i + size]
        view = view.apply(batch)
        # as store.identity.apply_people: the batch's nodes are the seeds, a new one starts alone
        seeds = {n.key for e in batch for n in identity.facts(e)[0]}
        for key in seeds:
            membership.setdefault(key, identity.canonical([key]))
        old = {membership[s] for s in seeds}
        scope = seeds | {n for n, p in membership.items() if p in old}
        membership.update(components(scope, (e for e in view.edges.values() if e.a in scope and e.b in scope),
                                     identity.DEFAULT_THRESHOLD))
    assert membership == view.profiles("t")
