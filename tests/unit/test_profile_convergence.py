"""The unified profile is a function of the set of events: identity, facts and interactions in
any order, duplicated, in any batches (merges arriving before or after the events they join)
give every profile the same attributes and metrics."""
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from profile360.events.model import Interaction
from profile360.events.people import ConsentChanged, Identify, Link, RawIdentifier as R, Unlink
from profile360.projections import buckets, metrics, profile, traits
from profile360.projections.identity import IdentityView

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
TODAY = date(2026, 3, 10)
IDS = [("customer_id", "C1"), ("customer_id", "C2"), ("customer_id", "C3"), ("email", "a@x.com"), ("email", "B@x.com")]
who = st.sampled_from(IDS).map(lambda p: R(*p))
n = st.integers(0, 30)
minutes = st.integers(0, 8 * 24 * 60)

events = st.one_of(
    st.builds(lambda i, m, a, b, city: Identify(f"i{i}", "t", T0 + timedelta(minutes=m), (a, b), {"city": city},
                                                ("vip",) if city == "Rome" else ()),
              n, minutes, who, who, st.sampled_from(["Rome", "Oslo"])),
    st.builds(lambda i, m, a, b, c: Link(f"l{i}", "t", T0 + timedelta(minutes=m), a, b, c), n, minutes, who, who,
              st.sampled_from([0.5, 1.0])),
    st.builds(lambda i, m, a, b: Unlink(f"u{i}", "t", T0 + timedelta(minutes=m), a, b), n, minutes, who, who),
    st.builds(lambda i, m, a, g: ConsentChanged(f"c{i}", "t", T0 + timedelta(minutes=m), a, "email", "marketing", g),
              n, minutes, who, st.booleans()),
    st.builds(lambda i, m, c, k, v: Interaction(f"e{i}", "t", T0 + timedelta(minutes=m), c, k, value=v), n, minutes,
              st.sampled_from(["C1", "C2", "C3"]), st.sampled_from(["purchase", "click"]), st.sampled_from([None, 9.5])),
)


def unique(evs):
    return list({(type(e).__name__, e.event_id): e for e in evs}.values())


def fold(batches):
    """Identity view, fact registers and buckets after applying ``batches`` in turn."""
    ident, facts, bucket_table, seen = IdentityView(), {}, {}, set()
    for batch in batches:
        ident = ident.apply([e for e in batch if isinstance(e, (Identify, Link, Unlink))])
        for f in (f for e in batch if not isinstance(e, Interaction) for f in traits.facts_of(e)):
            facts[f.register] = traits.winners([facts[f.register], f])[f.register] if f.register in facts else f
        fresh = {e.event_id: e for e in batch if isinstance(e, Interaction) and e.event_id not in seen}
        seen |= set(fresh)
        bucket_table = buckets.merged(bucket_table, buckets.customer_buckets(fresh.values()))
    return ident, facts, bucket_table


def views(batches):
    ident, facts, bucket_table = fold(batches)
    members: dict[str, set[str]] = {}
    for key, pid in ident.profiles("t").items():
        members.setdefault(pid, set()).add(key)
    out = {}
    for pid, keys in members.items():
        cids = {k.split(":", 1)[1] for k in keys if k.startswith("customer_id:")}
        rows = metrics.merge_rows((d, t, b) for (_, c, d, t), b in bucket_table.items() if c in cids)
        obj = profile.profile_object(pid, [], [f for f in facts.values() if f.key in keys], rows, (None, None))
        out[pid] = (obj, metrics.built_in(rows, TODAY))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=25).map(unique), st.randoms(use_true_random=False), st.integers(1, 6))
def test_every_profile_is_a_function_of_the_set_of_events(evs, rnd, size):
    expected = views([evs])
    shuffled = evs + evs[: len(evs) // 3]
    rnd.shuffle(shuffled)
    assert views([shuffled[i:i + size] for i in range(0, len(shuffled), size)]) == expected
