"""What a batch of new interactions adds to the maintained per-profile rows, as commutative
deltas (the writer adds them with one upsert per table; ``store.counters``).

- ``activity_spans``: per profile, the first and last UTC day of its new interactions; a
  profile's ``profile_activity`` row takes the least first day and the greatest last day.
- ``window_deltas``: per profile and window of ``WINDOWS`` days ending on the tenant's base day
  ``as_of``, what its new offer interactions add to its ``profile_windows`` row: counts per type
  (summed), ``head`` and ``first_day`` (least wins), the offers (set union; ``unique_actions``
  is the size of the union). Interactions outside every window (older than the longest, or
  after ``as_of``) add nothing.

Every combination used (sum, least, greatest, union) is commutative, associative and has the
empty delta as identity, so adding the deltas of any split of the new interactions gives the
rows a recount gives. ``profile_of(e)`` is the key of the profile ``e`` belongs to now.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
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
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OFFER_TYPES, 0))
    offers: set[str] = field(default_factory=set)

    def add(self, customer_id: str, day: date, kind: str, offer_id: str | None) -> None:
        self.head, self.first_day = min(self.head, customer_id), min(self.first_day, day)
        self.counts[kind] += 1
        if offer_id is not None:
            self.offers.add(offer_id)


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
    out: dict[WindowKey, WindowDelta] = {}
    for e in fresh:
        end = as_of.get(e.tenant_id)
        if end is None or e.type not in OFFER_TYPES:
            continue
        day = _day(e)
        for days in WINDOWS:
            if end - timedelta(days=days) < day <= end:
                k = (e.tenant_id, days, profile_of(e))
                out.setdefault(k, WindowDelta(e.customer_id, day)).add(e.customer_id, day, e.type, e.offer_id)
    return out
