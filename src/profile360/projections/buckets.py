"""Per-customer daily buckets: one row per (tenant, customer, UTC day, interaction type).

A bucket holds what any window over whole days needs without reading events again: the count,
statistics of the ``value`` of the events that carry one (count, exact sum, min, max, the
latest by ``(occurred_at, event_id)``), and the offers met. Summed over days they give the
customer summary (counts per offer interaction, ``uniqueActions``), the profile's built-in
metrics and tenant-defined metrics; the window slides by choosing days.

Merging buckets is associative and commutative, and sums are exact (decimal sums of each
value's shortest round-trip form, ``repr`` here and ``float8::text`` in PostgreSQL), so the
buckets are a function of the set of events in any order or batching.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable

from profile360.events.model import Interaction

#: (tenant_id, customer_id, day, type)
BucketKey = tuple[str, str, date, str]
Latest = tuple[datetime, str, float]  # (occurred_at, event_id, value)


@dataclass(frozen=True, slots=True)
class Bucket:
    n: int = 0
    value_n: int = 0
    value_sum: Decimal = Decimal(0)
    value_min: float | None = None
    value_max: float | None = None
    latest: Latest | None = None
    offers: frozenset[str] = frozenset()

    def merge(self, other: "Bucket") -> "Bucket":
        return Bucket(self.n + other.n, self.value_n + other.value_n, self.value_sum + other.value_sum,
                      _pick(min, self.value_min, other.value_min), _pick(max, self.value_max, other.value_max),
                      _pick(max, self.latest, other.latest), self.offers | other.offers)


def _pick(f, a, b):
    return b if a is None else a if b is None else f(a, b)


def bucket_of(e: Interaction) -> Bucket:
    offers = frozenset((e.offer_id,)) if e.offer_id else frozenset()
    if e.value is None:
        return Bucket(1, offers=offers)
    return Bucket(1, 1, Decimal(repr(e.value)), e.value, e.value, (e.occurred_at, e.event_id, e.value), offers)


def key_of(e: Interaction) -> BucketKey:
    return e.tenant_id, e.customer_id, e.occurred_at.date(), e.type


def customer_buckets(events: Iterable[Interaction]) -> dict[BucketKey, Bucket]:
    """Buckets of ``events``; the caller passes each event once (see ``interactions.dedupe``)."""
    acc: dict[BucketKey, Bucket] = {}
    for e in events:
        k = key_of(e)
        b = bucket_of(e)
        acc[k] = acc[k].merge(b) if k in acc else b
    return acc


def merged(table: dict[BucketKey, Bucket], deltas: dict[BucketKey, Bucket]) -> dict[BucketKey, Bucket]:
    out = dict(table)
    for k, b in deltas.items():
        out[k] = out[k].merge(b) if k in out else b
    return out
