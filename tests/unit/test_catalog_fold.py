from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from profile360.events.model import Offer
from profile360.projections.catalog import latest

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

offers = st.builds(
    Offer, event_id=st.text("abcdef", min_size=1, max_size=3), tenant_id=st.just("t"),
    occurred_at=st.integers(0, 5).map(lambda h: T0 + timedelta(hours=h)),
    offer_id=st.sampled_from(["o1", "o2"]), name=st.text("xyz", max_size=3), priority=st.integers(0, 9))


@settings(max_examples=200, deadline=None)
@given(st.lists(offers, max_size=20, unique_by=lambda o: o.event_id), st.randoms(use_true_random=False), st.integers(0, 20))
def test_last_writer_wins_whatever_the_order_and_batching(evs, rnd, cut):
    expected = latest(evs)
    shuffled = list(evs)
    rnd.shuffle(shuffled)
    assert latest(shuffled[cut:], latest(shuffled[:cut])) == expected


def test_ties_on_time_are_broken_by_event_id():
    a = Offer("e1", "t", T0, "o1", "first")
    b = Offer("e2", "t", T0, "o1", "second")
    assert latest([b, a])[("offer", "t", "o1")].name == "second"
    assert latest([a, b])[("offer", "t", "o1")].name == "second"
