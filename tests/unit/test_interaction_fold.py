"""The interaction tables are a pure function of the set of events."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from profile360.events.model import Interaction
from profile360.projections.interactions import InteractionView, customer_deltas, summary_deltas

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
    by_customer = sum(sum(c) for c in view.customers.values())
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
    per_customer = customer_deltas([e1, e2, e3])
    assert per_customer == {("t", "c1", day, "o1"): (1, 1, 0, 0)}


def test_an_offer_interaction_without_an_offer_counts_for_its_customer_under_no_offer():
    e = Interaction("a", "t", T0, "c1", "dismiss")
    assert customer_deltas([e]) == {("t", "c1", T0.date(), ""): (0, 0, 1, 0)}


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
    for (tenant, customer, day, offer), counts in view.customers.items():
        matching = [e for e in evs if (e.tenant_id, e.customer_id, e.occurred_at.date(), e.offer_id or "")
                    == (tenant, customer, day, offer)]
        assert counts == tuple(sum(1 for e in matching if e.type == t) for t in offer_types)
    # and nothing is missing: every offer interaction is in its customer row
    assert sum(sum(c) for c in view.customers.values()) == sum(1 for e in evs if e.type in offer_types)
