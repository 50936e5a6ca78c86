"""The materialized profile: the documents the worker keeps per profile and per customer id, and
how a read turns them into every profile shape. Pure.

Two documents, each a function of rows the same transaction writes:

- **profile document** (``profile_doc``), one per profile that has identity nodes: a function
  of its nodes, the edges touching them, the facts under its identifiers and the tenant's link
  threshold. It holds every part of the profile shapes that does not depend on interactions
  or on the day, pre-rendered (times as the API writes them).
- **customer document** (``fold_customer``), one per customer id with interactions: count,
  first and last time, the newest ``RECENT`` interactions and the daily buckets. Folding is
  order-free: ``fold_customer(fold_customer(None, a), b) == fold_customer(None, a + b)`` for
  disjoint sets of events in any order (each event is folded once: the writer folds only
  events new to the history).

A read merges one profile document with the documents of the profile's customer ids
(``ProfileView``) and computes what depends on the day: metrics over sliding windows,
lifetime value, first and last activity.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from profile360.events.definitions import MetricDefined
from profile360.events.model import Interaction
from profile360.jsonfmt import timestamp
from profile360.projections import buckets, metrics, profile, support_desk
from profile360.projections.buckets import Bucket
from profile360.projections.identity import CUSTOMER_PREFIX
from profile360.projections.traits import Fact

RECENT = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
#: the fact kinds of the seed 000 profile object, and of the seed 004 resource's times
OBJECT_KINDS = ("trait", "tag", "consent")
DESK_KINDS = ("trait", "tag", "consent", "experiment", "journey")


def _us(t: datetime) -> int:
    return (t - _EPOCH) // _US


def _time(us: int) -> datetime:
    return _EPOCH + us * _US


# --- the profile document -------------------------------------------------------------------

def _kinds(facts: Iterable[Fact], *kinds: str) -> list[Fact]:
    return [f for f in facts if f.kind in kinds]


def _span(times: Iterable[datetime]) -> list[str | None]:
    found = [t for t in times if t]
    return [timestamp(min(found)), timestamp(max(found))] if found else [None, None]


def profile_doc(profile_id: str, nodes: Sequence[Mapping[str, Any]], edges: Sequence[Mapping[str, Any]],
                facts: Sequence[Fact], threshold: float) -> dict[str, Any]:
    """The profile document (JSON-ready; times stay ``datetime`` until stored): nodes ordered by
    key, ``edges`` every edge with an end among them."""
    keys = [n["key"] for n in nodes]
    return _doc(profile_id, keys, nodes, edges, facts, threshold)


def lone_customer_doc(customer_id: str) -> dict[str, Any]:
    """The profile document of a customer id that no identity event names (a profile alone)."""
    doc = _doc(customer_id, [CUSTOMER_PREFIX + customer_id], [], [], [], 1.0)
    doc["identities"] = [{"type": "customer_id", "value": customer_id, "confidence": 1.0, "merged": True}]
    return doc


def _doc(profile_id: str, keys: list[str], nodes: Sequence[Mapping[str, Any]], edges: Sequence[Mapping[str, Any]],
         facts: Sequence[Fact], threshold: float) -> dict[str, Any]:
    customer_ids = sorted(k[len(CUSTOMER_PREFIX):] for k in keys if k.startswith(CUSTOMER_PREFIX))
    traits = _kinds(facts, "trait")
    node_times = [n["occurred_at"] for n in nodes]
    return {
        "keys": keys,
        "identities": profile.identities(nodes, edges, threshold),
        "consent": profile.consent_view(_kinds(facts, "consent")),
        "journeys": profile.journeys(_kinds(facts, "journey", "journey_enrolled")),
        "experiments": profile.experiments(_kinds(facts, "experiment")),
        "attributeMap": profile.attribute_map(nodes, traits),
        # interaction-dependent fields are filled in at read time (``ProfileView.profile_object``)
        "object": profile.profile_object(profile_id, nodes, _kinds(facts, *OBJECT_KINDS), [], (None, None)),
        "desk": support_desk.customer(profile_id, customer_ids, nodes, traits, []),
        "deskSpan": _span([*node_times, *(f.occurred_at for f in _kinds(facts, *DESK_KINDS))]),
    }


def customer_ids_of(doc: Mapping[str, Any]) -> list[str]:
    return sorted(k[len(CUSTOMER_PREFIX):] for k in doc["keys"] if k.startswith(CUSTOMER_PREFIX))


# --- the customer document ------------------------------------------------------------------

def _recent_item(e: Interaction) -> list:
    item = {"id": e.event_id, "customerId": e.customer_id, "offerId": e.offer_id, "creativeId": e.creative_id,
            "channelId": e.channel_id, "channel": e.channel, "interactionType": e.type,
            "timestamp": timestamp(e.occurred_at), "value": e.value}
    return [_us(e.occurred_at), e.event_id, item]


def _day_row(day: int, kind: str, b: Bucket) -> list:
    latest = [_us(b.latest[0]), b.latest[1], b.latest[2]] if b.latest else [None, None, None]
    return [day, kind, b.n, b.value_n, str(b.value_sum), b.value_min, b.value_max, *latest, sorted(b.offers)]


def _bucket(row: Sequence) -> Bucket:
    latest = (_time(row[7]), row[8], row[9]) if row[7] is not None else None
    return Bucket(row[2], row[3], Decimal(row[4]), row[5], row[6], latest, frozenset(row[10]))


def fold_customer(doc: Mapping[str, Any] | None, events: Sequence[Interaction]) -> dict[str, Any]:
    """``doc`` (None: no interactions yet) with ``events`` added; every event must be new to it."""
    days = {(r[0], r[1]): _bucket(r) for r in doc["days"]} if doc else {}
    for (_, _, day, kind), b in buckets.customer_buckets(events).items():
        key = (day.toordinal(), kind)
        days[key] = days[key].merge(b) if key in days else b
    recent = sorted([*(doc["recent"] if doc else []), *map(_recent_item, events)],
                    key=lambda r: (r[0], r[1]), reverse=True)[:RECENT]
    times = [_us(e.occurred_at) for e in events] + ([doc["first"], doc["last"]] if doc else [])
    return {"n": (doc["n"] if doc else 0) + len(events), "first": min(times), "last": max(times),
            "recent": recent, "days": [_day_row(d, k, days[(d, k)]) for d, k in sorted(days)]}


# --- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProfileView:
    """What one read of a profile holds: its document, its customer ids' documents, its
    segment memberships and the tenant's metric definitions."""

    profile_id: str
    doc: Mapping[str, Any]
    customers: Sequence[Mapping[str, Any]]
    segments: Sequence[Mapping[str, Any]]  # {segmentId, segmentName, memberSince}, by id
    definitions: Sequence[MetricDefined]

    @property
    def customer_ids(self) -> list[str]:
        return customer_ids_of(self.doc)

    def total(self) -> int:
        return sum(c["n"] for c in self.customers)

    def activity(self) -> tuple[str | None, str | None]:
        """(first, last) interaction time, rendered."""
        if not self.customers:
            return None, None
        return (timestamp(_time(min(c["first"] for c in self.customers))),
                timestamp(_time(max(c["last"] for c in self.customers))))

    @cached_property
    def rows(self) -> list[metrics.Row]:
        """The daily buckets of all the profile's customer ids, merged per (day, type); decoded
        once per view."""
        rows = [(date.fromordinal(r[0]), r[1], _bucket(r)) for c in self.customers for r in c["days"]]
        # one customer's days are stored sorted and distinct: nothing to merge
        return rows if len(self.customers) == 1 else metrics.merge_rows(rows)

    def recent(self) -> list[dict[str, Any]]:
        merged = sorted((r for c in self.customers for r in c["recent"]), key=lambda r: (r[0], r[1]), reverse=True)
        return [r[2] for r in merged[:RECENT]]

    def metrics(self, today: date) -> dict[str, Any]:
        return metrics.all_metrics(self.rows, self.definitions, today)

    def profile_object(self) -> dict[str, Any]:
        """Seed 000's profile object: the stored one with lifetime value and activity."""
        first, last = self.activity()
        out = dict(self.doc["object"])
        created = [t for t in (out["createdAt"], first) if t]
        out.update(lifetimeValue=metrics.lifetime_value(self.rows), lastActiveAt=last,
                   createdAt=min(created) if created else None)
        return out

    def desk(self) -> dict[str, Any]:
        """Seed 004's customer resource: the stored one with created and modified times."""
        times = [t for t in (*self.doc["deskSpan"], *self.activity()) if t]
        out = dict(self.doc["desk"])
        if times:
            out.update(createdAt=min(times), modifiedAt=max(times))
        return out
