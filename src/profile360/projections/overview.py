"""Seed 000's overview counters: per tenant, how many profiles fall in each bucket.

Each profile has one ``Activity`` row (``profile_activity``): its first event, its last day
with an interaction and the channels its latest marketing consent grants. A tenant's counters
(``overview_counts``) are the number of rows per bucket:

- ``("contacts", "")``: every profile;
- ``("first_month", "YYYY-MM")``: profiles whose first event falls in that UTC month;
- ``("last_day", "YYYY-MM-DD")``: profiles whose last interaction falls on that UTC day;
- ``("reach", channel)``: profiles whose latest marketing consent on the channel is granted.

The writer replaces the rows of the profiles a batch touched and adds ``deltas(old, new)`` to
the counters. Because the deltas of a replacement are the new rows' buckets minus the old
rows', the counters equal ``count(rows)`` after any sequence of replacements, whatever their
order, splits or repetitions (a replacement of a row by itself adds nothing).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable

#: (tenant_id, metric, key)
CounterKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Activity:
    tenant_id: str
    first_at: datetime
    last_day: date | None
    reach: tuple[str, ...]


def _month(a: Activity) -> CounterKey:
    return a.tenant_id, "first_month", a.first_at.astimezone(timezone.utc).strftime("%Y-%m")


def buckets(a: Activity) -> list[CounterKey]:
    """The counters one profile row counts in."""
    keys = [(a.tenant_id, "contacts", ""), _month(a)]
    if a.last_day is not None:
        keys.append((a.tenant_id, "last_day", a.last_day.isoformat()))
    return keys + [(a.tenant_id, "reach", channel) for channel in sorted(set(a.reach))]


def deltas(old: Iterable[Activity], new: Iterable[Activity]) -> dict[CounterKey, int]:
    """What replacing the rows ``old`` by the rows ``new`` changes in the counters (no zeros)."""
    change: Counter[CounterKey] = Counter()
    for a in new:
        change.update(buckets(a))
    for a in old:
        change.subtract(buckets(a))
    return {k: n for k, n in change.items() if n}


def stretched(pairs: Iterable[tuple[Activity | None, Activity]]) -> dict[CounterKey, int]:
    """What widening rows changes in the counters, for (row before or None, row after) pairs of
    the same profile that differ at most in ``first_at`` and ``last_day`` (a stretch): equal to
    ``deltas`` of the olds and the news, looking only at the fields that moved."""
    change: Counter[CounterKey] = Counter()
    for old, new in pairs:
        if old is None:
            change.update(buckets(new))
            continue
        if old.first_at != new.first_at:
            change[_month(new)] += 1
            change[_month(old)] -= 1
        if old.last_day != new.last_day:
            change[(new.tenant_id, "last_day", new.last_day.isoformat())] += 1
            if old.last_day is not None:
                change[(old.tenant_id, "last_day", old.last_day.isoformat())] -= 1
    return {k: n for k, n in change.items() if n}


def count(rows: Iterable[Activity]) -> dict[CounterKey, int]:
    """The counters of ``rows`` from scratch."""
    return deltas((), rows)
