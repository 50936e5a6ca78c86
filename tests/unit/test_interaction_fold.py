"""The interaction tables are a pure function of the set of events."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from profile360.events.model import Interaction
from profile360.projections.buckets import Bucket, customer_buckets
from profile360.projections.interactions import InteractionView, summary_deltas

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)

events = st.builds(
    Interaction,
    event_id=st.sampled_from([f"e{i}" for i in range(30)]),
    tenant_id=st.sampled_from(["t1", "t2"]),
    occurred_at=st.integers(0, 3 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m)),
    customer_id=st.sampled_from(["c1", "c2", "c3"]),
    type=st.sampled_from(["impression", "click", "dismiss", "convert", "purchase", "email_opened"]),
    channel=st.sampled_from([None, "EMAIL", "SMS"]),
    channel_id=st.sampled_from([None, "ch1"]),
    offer_id=st.sampled_from([None, "o1", "o2"]),
    creative_id=st.sampled_from([None, "cr1"]),
    value=st.sampled_from([None, 0.1, 0.2, 2.5, 1e16, -7.0]),
)


def unique_by_id(evs):
    """Real producers re-send an event id only with the same content."""
    seen = {}
    for e in evs:
        seen.setdefault((e.tenant_id, e.event_id), e)
    return list(seen.values())


def fold(batches):
    view = InteractionView()
    for batch in batches:
        view = view.apply(batch)
    return view


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=40).map(unique_by_id), st.randoms(use_true_random=False), st.data())
def test_order_duplicates_and_batching_do_not_change_the_tables(evs, rnd, data):
    expected = fold([evs])
    shuffled = evs + data.draw(st.lists(st.sampled_from(evs), max_size=10) if evs else st.just([]))
    rnd.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)])]
    assert fold(batches) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(events, max_size=30).map(unique_by_id))
def test_replaying_everything_changes_nothing(evs):
    once = fold([evs])
    assert once.apply(evs) == once


@settings(max_examples=100, deadline=None)
@given(st.lists(events, max_size=30).map(unique_by_id))
def test_summary_counts_each_offer_interaction_once_per_dimension(evs):
    view = fold([evs])
    offer_events = [e for e in evs if e.type in ("impression", "click", "dismiss", "convert")]
    by_customer = sum(b.n for k, b in view.customers.items() if k[3] in ("impression", "click", "dismiss", "convert"))
    assert by_customer == len(offer_events)
    by_action = sum(sum(c) for (t, dim, k, d), c in view.summary.items() if dim == "action")
    assert by_action == sum(1 for e in offer_events if e.offer_id)


def test_deltas_are_per_utc_day_and_type():
    e1 = Interaction("a", "t", T0, "c1", "impression", offer_id="o1", creative_id="cr1", channel="EMAIL")
    e2 = Interaction("b", "t", T0 + timedelta(hours=1), "c1", "click", offer_id="o1", channel_id="ch9", channel="EMAIL")
    e3 = Interaction("c", "t", T0 + timedelta(days=1), "c2", "purchase", offer_id="o1")
    deltas = summary_deltas([e1, e2, e3])
    day = T0.date()
    assert deltas[("t", "action", "o1", day)] == (1, 1, 0, 0)
    assert deltas[("t", "treatment", "cr1", day)] == (1, 0, 0, 0)
    assert deltas[("t", "channel", "EMAIL", day)] == (1, 0, 0, 0)
    assert deltas[("t", "channel", "ch9", day)] == (0, 1, 0, 0)
    assert not any(k[3] != day for k in deltas), "purchase is not an offer interaction"
    o1 = frozenset({"o1"})
    assert customer_buckets([e1, e2, e3]) == {("t", "c1", day, "impression"): Bucket(1, offers=o1),
                                              ("t", "c1", day, "click"): Bucket(1, offers=o1),
                                              ("t", "c2", day + timedelta(days=1), "purchase"): Bucket(1, offers=o1)}


def test_value_sums_are_exact_in_any_order_and_the_latest_value_is_by_time_then_id():
    evs = [Interaction(f"e{i}", "t", T0 + timedelta(minutes=m), "c1", "purchase", value=v)
           for i, (m, v) in enumerate([(1, 0.1), (2, 0.2), (3, 0.3), (3, 1e16), (0, -1e16)])]
    forward = customer_buckets(evs)[("t", "c1", T0.date(), "purchase")]
    backward = customer_buckets(evs[::-1])[("t", "c1", T0.date(), "purchase")]
    assert forward == backward
    assert (forward.n, forward.value_n, str(forward.value_sum)) == (5, 5, "0.6")
    assert (forward.value_min, forward.value_max, forward.latest) == (-1e16, 1e16, (T0 + timedelta(minutes=3), "e3", 1e16))


@settings(max_examples=150, deadline=None)
@given(st.lists(events, max_size=40).map(unique_by_id))
def test_every_summary_row_and_total_equals_a_naive_count(evs):
    view = fold([evs])
    offer_types = ("impression", "click", "dismiss", "convert")
    for (tenant, dim, key, day), counts in view.summary.items():
        def group_of(e, dim=dim):
            return {"action": e.offer_id, "treatment": e.creative_id, "channel": e.channel_id or e.channel}[dim]
        matching = [e for e in evs if e.tenant_id == tenant and group_of(e) == key and e.occurred_at.date() == day]
        assert counts == tuple(sum(1 for e in matching if e.type == t) for t in offer_types)
    for (tenant, scope, key), n in view.totals.items():
        field = {"all": None, "offer": "offer_id", "creative": "creative_id", "type": "type"}[scope]
        assert n == sum(1 for e in evs if e.tenant_id == tenant and (field is None or getattr(e, field) == key))
    for (tenant, customer, day, kind), b in view.customers.items():
        matching = [e for e in evs if (e.tenant_id, e.customer_id, e.occurred_at.date(), e.type) == (tenant, customer, day, kind)]
        assert b.n == len(matching) and b.offers == {e.offer_id for e in matching if e.offer_id}
    # and nothing is missing: every event is in its customer's bucket
    assert sum(b.n for b in view.customers.values()) == len(evs)
