"""Identity resolution: normalization, the graph, merge and unmerge, convergence."""
from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings, strategies as st

import pytest

from profile360.events.model import InvalidEvent, from_record
from profile360.events.people import ConsentChanged, Identify, Link, RawIdentifier as R, Unlink
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
    assert not no_region.valid and "defaultRegion" in no_region.problem
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


def test_weak_links_never_merge():
    view = IdentityView().apply([Link("l1", "t", at(0), R("customer_id", "C1"), R("customer_id", "C2"), 0.5)])
    assert view.profiles("t")["customer_id:C2"] == "C2"
    assert view.profiles("t", threshold=0.5)["customer_id:C2"] == "C1"


def who(kind: str, value: str) -> dict:
    return {"type": kind, "value": value}


ENVELOPE = {"eventId": "e", "tenantId": "t", "occurredAt": T0}
RECORDS = {  # one record of each event that names identifiers, and the field of its second-named one
    "Identify": ({**ENVELOPE, "identifiers": [who("customer_id", "C1"), None]}, "identifiers[1].value"),
    "Link": ({**ENVELOPE, "identifier": who("customer_id", "C1"), "linkedIdentifier": None, "confidence": 1.0},
             "linkedIdentifier.value"),
    "Unlink": ({**ENVELOPE, "identifier": who("customer_id", "C1"), "linkedIdentifier": None}, "linkedIdentifier.value"),
    "ConsentChanged": ({**ENVELOPE, "identifier": None, "channel": "sms", "purpose": "marketing", "granted": True},
                       "identifier.value"),
    "ExperimentAssigned": ({**ENVELOPE, "identifier": None, "experimentId": "x", "variant": "A"}, "identifier.value"),
    "JourneyUpdated": ({**ENVELOPE, "identifier": None, "journeyId": "j", "status": "active"}, "identifier.value"),
}


def record(name: str, ident: dict, region: str | None = None) -> dict:
    rec, path = RECORDS[name]
    rec = {**rec, "defaultRegion": region}
    slot = path.removesuffix(".value")
    if slot.startswith("identifiers"):
        return {**rec, "identifiers": [rec["identifiers"][0], ident]}
    return {**rec, slot: ident}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_record_reads_phones_with_its_own_region_and_refuses_what_it_cannot_read(name):
    """One region rule for every identifier-bearing record: the event's ``defaultRegion``."""
    phone = who("phone", "050 123 4567")
    for bad, why in ((phone, "defaultRegion"), (who("email", "not-an-email"), "@"), (who("phone", "12345"), "")):
        with pytest.raises(InvalidEvent) as err:
            from_record(name, record(name, bad))
        assert err.value.field == RECORDS[name][1] and why in err.value.problem, err.value
    event = from_record(name, record(name, phone, region="AE"))
    assert "phone:+971501234567" in [n.key for n in identity.facts(event)[0]] + [
        k for e in identity.facts(event)[1] for k in (e.a, e.b)]


def test_an_unlink_of_identifiers_never_linked_sights_no_one():
    unlink = Unlink("u1", "t", at(20), R("customer_id", "Z1"), R("email", "z1@example.com"))
    view = IdentityView().apply([unlink])
    assert view.profiles("t") == {} and len(view.edges) == 1  # the pair's state is kept, no identifier
    older = Link("l1", "t", at(10), R("customer_id", "Z1"), R("email", "z1@example.com"), 1.0)
    view = view.apply([older])  # a link older than the unlink, applied after it: sighted, not joined
    assert view.profiles("t") == {"customer_id:Z1": "Z1", "email:z1@example.com": "email:z1@example.com"}


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


# valid identifiers only (the decoder refuses the rest); every event reads phones with its own
# region, AE here: the national and the international spelling are one identifier
ids = st.sampled_from([("customer_id", "C1"), ("customer_id", "C2"), ("customer_id", "C3"), ("email", "a@x.com"),
                       ("email", "B@x.com"), ("phone", "+971501234567"), ("phone", "050 123 4567"), ("device_id", "d1"),
                       ("device_id", "d2")])
raw = ids.map(lambda p: R(*p))
identity_events = st.one_of(
    st.builds(lambda n, m, xs: identify(f"i{n}", m, *xs, region="AE"), st.integers(0, 20), st.integers(0, 50),
              st.lists(ids, min_size=1, max_size=3)),
    st.builds(lambda n, m, a, b, c: Link(f"l{n}", "t", at(m), a, b, c, "AE"), st.integers(0, 20), st.integers(0, 50),
              raw, raw, st.sampled_from([0.5, 0.8, 1.0])),
    st.builds(lambda n, m, a, b: Unlink(f"u{n}", "t", at(m), a, b, "AE"), st.integers(0, 20), st.integers(0, 50), raw, raw),
    st.builds(lambda n, m, a: ConsentChanged(f"k{n}", "t", at(m), a, "sms", "marketing", True, None, "AE"),
              st.integers(0, 20), st.integers(0, 50), raw),
)


def sighted(evs) -> set[str]:
    """The identifiers some event other than an Unlink names: the only ones in a profile."""
    return {normalize(r, "AE").key for e in evs if not isinstance(e, Unlink)
            for r in (e.identifiers if isinstance(e, Identify) else
                      (e.identifier, e.linked_identifier) if isinstance(e, Link) else (e.identifier,))}


def unique_by_id(evs):
    seen = {}
    for e in evs:
        seen.setdefault(e.event_id, e)
    return list(seen.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(identity_events, max_size=25).map(unique_by_id), st.randoms(use_true_random=False), st.data())
def test_profiles_depend_only_on_the_set_of_events(evs, rnd, data):
    expected = IdentityView().apply(evs).profiles("t")
    assert set(expected) == sighted(evs)
    shuffled = evs + data.draw(st.lists(st.sampled_from(evs), max_size=5) if evs else st.just([]))
    rnd.shuffle(shuffled)
    view = IdentityView()
    for i in range(0, len(shuffled), 3):
        view = view.apply(shuffled[i:i + 3])
    assert view.profiles("t") == expected


SPLIT_ALONE = [Link("l1", "t", at(0), R("customer_id", "C1"), R("customer_id", "C2"), 1.0),
               Unlink("u1", "t", at(1), R("customer_id", "C2"), R("customer_id", "C1"))]  # a batch of its own


@settings(max_examples=300, deadline=None)
@given(st.lists(identity_events, max_size=25).map(unique_by_id), st.integers(1, 6))
@example(SPLIT_ALONE, 1)
def test_regrouping_only_the_touched_profiles_equals_a_full_recomputation(evs, size):
    """The store's incremental step (store/identity.py): recompute the profiles of a batch's
    nodes and of every member of their old profiles, from the edges among them."""
    view, membership = IdentityView(), {}
    for i in range(0, len(evs), size):
        batch = evs[i:i + size]
        view = view.apply(batch)
        # as store.identity.apply_people: the batch's nodes and edge ends are the seeds, a new
        # node starts alone, and only stored identifiers are regrouped
        stated = [identity.facts(e) for e in batch]
        for node in (n for nodes, _ in stated for n in nodes):
            membership.setdefault(node.key, identity.canonical([node.key]))
        seeds = identity.seeds((n for nodes, _ in stated for n in nodes), (e for _, edges in stated for e in edges))
        old = {membership[s] for s in seeds if s in membership}
        scope = {n for n, p in membership.items() if p in old}
        membership.update(components(scope, (e for e in view.edges.values() if e.a in scope and e.b in scope),
                                     identity.DEFAULT_THRESHOLD))
    assert membership == view.profiles("t")
