"""Deltas of new interactions (``projections.window_deltas``): added batch by batch the way the
writer's upserts add them, they give the rows a recount of every interaction gives, for any
split of the interactions into batches."""
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, strategies as st

from profile360.events.model import Interaction
from profile360.projections.window_deltas import WINDOWS, activity_spans, window_deltas

TODAY = date(2026, 3, 10)
KINDS = ("impression", "click", "dismiss", "convert", "purchase")
PROFILE = {"c1": "p1", "c2": "p1", "c3": "c3", "c4": "p2"}  # c1 and c2 are one merged profile

interactions = st.builds(
    lambda i, c, d, k, o: Interaction(f"e{i}", "t", datetime.combine(TODAY, datetime.min.time(), timezone.utc)
                                      + timedelta(days=d, hours=5), c, k, offer_id=o),
    st.integers(0, 10**6), st.sampled_from(sorted(PROFILE)), st.integers(-100, 2), st.sampled_from(KINDS),
    st.one_of(st.none(), st.sampled_from(["o1", "o2", "o3"])))
batches = st.lists(st.lists(interactions, max_size=6), max_size=5)


def profile_of(e: Interaction) -> str:
    return PROFILE[e.customer_id]


def add_windows(rows: dict, deltas: dict) -> None:
    """What ``windows.add``'s upsert does to the stored rows."""
    for k, d in deltas.items():
        r = rows.get(k)
        rows[k] = (d.head, d.first_day, d.total) if r is None else (
            min(r[0], d.head), min(r[1], d.first_day), r[2] + d.total)


def recount(events: list[Interaction]) -> dict:
    """The rows counted from scratch, as ``windows.replace`` counts them."""
    rows: dict = {}
    for days in WINDOWS:
        for e in events:
            day = e.occurred_at.date()
            if e.type != "purchase" and TODAY - timedelta(days=days) < day <= TODAY:
                mine = [x for x in events if profile_of(x) == profile_of(e) and x.type != "purchase"
                        and TODAY - timedelta(days=days) < x.occurred_at.date() <= TODAY]
                rows[("t", days, profile_of(e))] = (
                    min(x.customer_id for x in mine), min(x.occurred_at.date() for x in mine), len(mine))
    return rows


@given(batches)
def test_window_deltas_added_batch_by_batch_equal_a_recount(plan):
    rows: dict = {}
    for batch in plan:
        add_windows(rows, window_deltas(batch, profile_of, {"t": TODAY}))
    assert rows == recount([e for batch in plan for e in batch])


@given(batches)
def test_activity_spans_widened_batch_by_batch_equal_the_first_and_last_day(plan):
    spans: dict = {}
    for batch in plan:
        for k, (lo, hi) in activity_spans(batch, profile_of).items():
            old = spans.get(k, (lo, hi))
            spans[k] = (min(old[0], lo), max(old[1], hi))
    everything = [e for batch in plan for e in batch]
    assert spans == {("t", p): (min(e.occurred_at.date() for e in everything if profile_of(e) == p),
                                max(e.occurred_at.date() for e in everything if profile_of(e) == p))
                     for p in {profile_of(e) for e in everything}}


def test_tenants_without_a_base_and_interactions_outside_every_window_add_nothing():
    old = Interaction("e", "t", datetime(2025, 12, 1, tzinfo=timezone.utc), "c1", "click", offer_id="o1")
    late = Interaction("f", "t", datetime(2026, 3, 11, tzinfo=timezone.utc), "c1", "click", offer_id="o1")
    assert window_deltas([old, late], profile_of, {"t": TODAY}) == {}
    assert window_deltas([late], profile_of, {}) == {}
