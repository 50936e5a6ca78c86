"""What a batch of new interactions adds to the maintained per-profile rows, as commutative
deltas (the writer adds them with one upsert per table; ``store.counters``).

- ``activity_spans``: per profile, the first and last UTC day of its new interactions; a
  profile's ``profile_activity`` row takes the least first day and the greatest last day.
- ``window_deltas``: per profile and window of ``WINDOWS`` days ending on the tenant's base day
  ``as_of``, what its new offer interactions add to its ``profile_windows`` row: the total
  (summed), ``head`` and ``first_day`` (least wins). Interactions outside every window (older
  than the longest, or after ``as_of``) add nothing.

Every combination used (sum, least, greatest) is commutative, associative and has the
empty delta as identity, so adding the deltas of any split of the new interactions gives the
rows a recount gives. ``profile_of(e)`` is the key of the profile ``e`` belongs to now.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, Mapping

from profile360.events.model import OFFER_TYPES, Interaction
from profile360.projections.buckets import key_of

WINDOWS = (1, 7, 30, 90)

ProfileKey = tuple[str, str]  # (tenant_id, profile key)
WindowKey = tuple[str, int, str]  # (tenant_id, days, profile key)


@dataclass(slots=True)
class WindowDelta:
    head: str
    first_day: date
    total: int = 0

    def add(self, customer_id: str, day: date, n: int) -> None:
        self.head, self.first_day = min(self.head, customer_id), min(self.first_day, day)
        self.total += n


def _day(e: Interaction) -> date:
    return key_of(e)[2]


def activity_spans(fresh: Iterable[Interaction], profile_of: Callable[[Interaction], str]) -> dict[ProfileKey, tuple[date, date]]:
    """(tenant, profile) -> (first day, last day) of the new interactions ``fresh``."""
    spans: dict[ProfileKey, tuple[date, date]] = {}
    for e in fresh:
        k, d = (e.tenant_id, profile_of(e)), _day(e)
        lo, hi = spans.get(k, (d, d))
        spans[k] = (min(lo, d), max(hi, d))
    return spans


def window_deltas(fresh: Iterable[Interaction], profile_of: Callable[[Interaction], str],
                  as_of: Mapping[str, date]) -> dict[WindowKey, WindowDelta]:
    """The deltas of ``fresh`` for the windows ending on ``as_of[tenant]`` (tenants absent from
    ``as_of`` have no maintained windows: nothing)."""
    per_day: Counter[tuple[str, str, str, date]] = Counter()  # (tenant, profile, customer, day) -> offer interactions
    for e in fresh:
        if e.type in OFFER_TYPES and e.tenant_id in as_of:
            per_day[(e.tenant_id, profile_of(e), e.customer_id, _day(e))] += 1
    out: dict[WindowKey, WindowDelta] = {}
    for (tenant_id, profile, customer_id, day), n in per_day.items():
        age = (as_of[tenant_id] - day).days  # in the window of d days ending on as_of when 0 <= age < d
        for days in WINDOWS:
            if 0 <= age < days:
                d = out.get((tenant_id, days, profile))
                if d is None:
                    out[(tenant_id, days, profile)] = WindowDelta(customer_id, day, n)
                else:
                    d.add(customer_id, day, n)
    return out
