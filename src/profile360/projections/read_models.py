"""The materialized profile: the documents the worker keeps per profile and per customer id, and
how a read turns them into every profile shape. Pure.

Two documents, each a function of rows the same transaction writes:

- **profile document** (``profile_doc``), one per profile that has identity nodes: a function
  of its nodes, the edges touching them, the facts under its identifiers and the tenant's link
  threshold. It holds every part of the profile shapes that does not depend on interactions
  or on the day, pre-rendered (times as the API writes them).
- **customer document** (``fold_customer``), one per customer id with interactions: count,
  first and last time, and the newest ``RECENT`` interactions, of constant size (a fold costs
  the same for a customer with 10 events and one with 100,000). Folding is order-free:
  ``fold_customer(fold_customer(None, a), b) == fold_customer(None, a + b)`` for disjoint
  sets of events in any order (each event is folded once: the writer folds only events new
  to the history).

A read merges one profile document with the documents of the profile's customer ids and
their daily buckets (``customer_daily``, read by the same statement: keeping them in the
document too would rewrite every busy customer's whole history of days on each batch), as a
``ProfileView``, and computes what depends on the day: metrics over sliding windows,
lifetime value, first and last activity.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from profile360.events.definitions import MetricDefined
from profile360.events.model import Interaction
from profile360.jsonfmt import timestamp
from profile360.projections import metrics, profile, support_desk
from profile360.projections.identity import CUSTOMER_PREFIX, customer_ids
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
        "desk": support_desk.customer(profile_id, customer_ids(keys), nodes, traits, []),
        "deskSpan": _span([*node_times, *(f.occurred_at for f in _kinds(facts, *DESK_KINDS))]),
    }


# --- the customer document ------------------------------------------------------------------

_US_PER_DAY = 86_400_000_000


def _recent_item(e: Interaction) -> list:
    """A newest-interaction entry: its sort key (time in µs, event id), then its fields."""
    return [_us(e.occurred_at), e.event_id, e.customer_id, e.offer_id, e.creative_id, e.channel_id, e.channel,
            e.type, e.value]


def _render_recent(r: Sequence) -> dict[str, Any]:
    return {"id": r[1], "customerId": r[2], "offerId": r[3], "creativeId": r[4], "channelId": r[5], "channel": r[6],
            "interactionType": r[7], "timestamp": timestamp(_time(r[0])), "value": r[8]}


def fold_customer(doc: Mapping[str, Any] | None, events: Sequence[Interaction]) -> dict[str, Any]:
    """``doc`` (None: no interactions yet) with ``events`` added; every event must be new to it."""
    recent = sorted([*(doc["recent"] if doc else []), *map(_recent_item, events)],
                    key=lambda r: (r[0], r[1]), reverse=True)[:RECENT]
    times = [_us(e.occurred_at) for e in events] + ([doc["first"], doc["last"]] if doc else [])
    return {"n": (doc["n"] if doc else 0) + len(events), "first": min(times), "last": max(times), "recent": recent}


def active_days(doc: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """The first and last UTC day (days since the epoch) of a customer document's interactions
    (None: no document). A profile's activity span is the union of its customers' spans: when
    no customer's days moved, neither did the profile's."""
    return None if doc is None else (doc["first"] // _US_PER_DAY, doc["last"] // _US_PER_DAY)


# --- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProfileView:
    """What one read of a profile holds: its document, its customer ids' documents, its
    segment memberships and the tenant's metric definitions."""

    profile_id: str
    doc: Mapping[str, Any]
    customers: Sequence[Mapping[str, Any]]
    days: Sequence[metrics.Row]  # the customers' daily buckets, by (day, type) within each customer
    segments: Sequence[Mapping[str, Any]]  # {segmentId, segmentName, memberSince}, by id
    definitions: Sequence[MetricDefined]

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
        """The daily buckets of all the profile's customer ids, merged per (day, type)."""
        # one customer's days come sorted and distinct: nothing to merge
        return list(self.days) if len(self.customers) <= 1 else metrics.merge_rows(self.days)

    def recent(self) -> list[dict[str, Any]]:
        merged = sorted((r for c in self.customers for r in c["recent"]), key=lambda r: (r[0], r[1]), reverse=True)
        return [_render_recent(r) for r in merged[:RECENT]]

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
