"""Overview counters (``projections.overview``): replacing profile rows and adding the deltas
gives the counts of the final rows from scratch, whatever the order, splits and repetitions."""
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, strategies as st

from profile360.projections.overview import Activity, count, deltas, stretched

T0 = datetime(2026, 1, 30, 22, tzinfo=timezone.utc)

activities = st.builds(lambda t, h, d, r: Activity(t, T0 + timedelta(hours=h), None if d is None else date(2026, 2, 1) + timedelta(d), r),
                       st.sampled_from(["t1", "t2"]), st.integers(0, 100), st.one_of(st.none(), st.integers(0, 5)),
                       st.lists(st.sampled_from(["email", "sms", "push"]), unique=True).map(lambda c: tuple(sorted(c))))
# a step: which profiles a batch touched, and their rows after it (None: the profile is gone)
steps = st.lists(st.dictionaries(st.sampled_from("abcde"), st.one_of(st.none(), activities), min_size=1), max_size=8)


def replay(plan, repeat: bool) -> tuple[dict, dict]:
    rows: dict = {}
    counters: dict = {}
    for step in plan:
        for _ in range(2 if repeat else 1):  # a replayed batch recomputes the same rows again
            old = [rows[p] for p in step if p in rows]
            new = [a for a in step.values() if a is not None]
            for p, a in step.items():
                rows.pop(p, None) if a is None else rows.__setitem__(p, a)
            for k, n in deltas(old, new).items():
                counters[k] = counters.get(k, 0) + n
    return rows, {k: n for k, n in counters.items() if n}


@given(steps, st.booleans())
def test_counters_equal_a_count_from_scratch(plan, repeat):
    rows, counters = replay(plan, repeat)
    assert counters == count(rows.values())


@given(steps)
def test_touching_a_profile_in_one_batch_or_in_several_gives_the_same_counters(plan):
    merged: dict = {}
    for step in plan:
        merged.update(step)
    assert replay(plan, False)[1] == replay([merged], False)[1] == count(a for a in merged.values() if a is not None)


def test_buckets_are_utc_months_days_and_granted_channels():
    a = Activity("t", datetime(2026, 2, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), date(2026, 2, 3), ("sms", "email"))
    assert count([a]) == {("t", "contacts", ""): 1, ("t", "first_month", "2026-01"): 1, ("t", "last_day", "2026-02-03"): 1,
                          ("t", "reach", "email"): 1, ("t", "reach", "sms"): 1}


@given(st.lists(st.tuples(st.one_of(st.none(), activities), st.integers(0, 50), st.integers(0, 4)), max_size=8))
def test_a_stretch_changes_the_counters_as_replacing_the_rows_does(rows):
    """``stretched`` looks only at the fields a stretch moves; it must agree with ``deltas``."""
    pairs = []
    for i, (old, earlier, later) in enumerate(rows):
        if old is None:
            pairs.append((None, Activity("t1", T0, date(2026, 2, 1) + timedelta(later), ())))
        else:
            last = max(old.last_day or date(2026, 2, 1), date(2026, 2, 1) + timedelta(later))
            pairs.append((old, Activity(old.tenant_id, old.first_at - timedelta(hours=earlier), last, old.reach)))
    assert stretched(pairs) == deltas([o for o, _ in pairs if o is not None], [n for _, n in pairs])
