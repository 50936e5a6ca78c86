"""Domain events as frozen dataclasses, and the validation that turns a decoded Avro record
into one. Pure: no I/O, no framework imports.

``from_record`` raises ``InvalidEvent`` naming the field; the worker sends such events to the
dead-letter topic. That includes an event about people naming an identifier that fails its
normalization rule (``projections.identifiers.check``). The rules are deterministic (no wall
clock, no stored settings), so a replay accepts and rejects exactly what the first run did.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Union

from profile360.events import definitions, erasure, organizations, people
from profile360.events.rules import MAX_ID_LEN, InvalidEvent, envelope, text
from profile360.projections import identifiers

__all__ = ["InvalidEvent", "MAX_ID_LEN", "from_record"]

OFFER_TYPES = ("impression", "click", "dismiss", "convert")
MEDIUMS = ("EMAIL", "SMS", "PUSH", "WEB")
_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class Interaction:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    customer_id: str
    type: str
    channel: str | None = None
    channel_id: str | None = None
    offer_id: str | None = None
    creative_id: str | None = None
    campaign_id: str | None = None
    workflow_id: str | None = None
    value: float | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Offer:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    offer_id: str
    name: str
    issue: str | None = None
    group: str | None = None
    status: str = "active"
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Creative:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    creative_id: str
    name: str
    offer_id: str | None = None
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class Channel:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    channel_id: str
    name: str
    medium: str | None = None


CatalogEvent = Union[Offer, Creative, Channel]
Event = Union[Interaction, Offer, Creative, Channel, people.PersonEvent, definitions.MetricDefined,
              definitions.SegmentDefined, definitions.TenantConfigured, erasure.ErasureRequested,
              organizations.OrgCustomerUpserted, organizations.FeedbackRecorded, organizations.FeedbackHighlighted,
              organizations.Linked]


def _interaction(rec: Mapping[str, Any]) -> Interaction:
    n = "InteractionEvent"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    kind = text(n, rec, "type", limit=64)
    if not _TYPE_RE.fullmatch(kind):
        raise InvalidEvent(n, "type", "must be an interaction type such as impression, click or purchase ([a-z][a-z0-9_]*)")
    channel = text(n, rec, "channel", required=False)
    if channel is not None and channel not in MEDIUMS:
        raise InvalidEvent(n, "channel", f"must be one of {', '.join(MEDIUMS)}")
    value = rec.get("value")
    if value is not None and (value != value or value in (float("inf"), float("-inf"))):
        raise InvalidEvent(n, "value", "must be a finite number")
    metadata = rec.get("metadata") or {}
    for k, v in metadata.items():
        if "\x00" in k or "\x00" in v:
            raise InvalidEvent(n, f"metadata.{k}", "contains a NUL character")
    customer = text(n, rec, "customerId")
    if not customer.strip():
        raise InvalidEvent(n, "customerId", "is blank")
    if ":" in customer:
        raise InvalidEvent(n, "customerId", "must not contain ':' (type:value names other identifiers)")
    return Interaction(
        event_id, tenant_id, occurred_at, customer, kind, channel,
        text(n, rec, "channelId", required=False), text(n, rec, "offerId", required=False),
        text(n, rec, "creativeId", required=False), text(n, rec, "campaignId", required=False),
        text(n, rec, "workflowId", required=False), value, metadata,
    )


def _offer(rec: Mapping[str, Any]) -> Offer:
    event_id, tenant_id, occurred_at = envelope("Offer", rec)
    return Offer(event_id, tenant_id, occurred_at, text("Offer", rec, "offerId"), text("Offer", rec, "name", limit=1000),
                 text("Offer", rec, "issue", required=False, limit=1000), text("Offer", rec, "group", required=False, limit=1000),
                 text("Offer", rec, "status", limit=64), int(rec.get("priority") or 0))


def _creative(rec: Mapping[str, Any]) -> Creative:
    event_id, tenant_id, occurred_at = envelope("Creative", rec)
    return Creative(event_id, tenant_id, occurred_at, text("Creative", rec, "creativeId"),
                    text("Creative", rec, "name", limit=1000), text("Creative", rec, "offerId", required=False),
                    text("Creative", rec, "channelId", required=False))


def _channel(rec: Mapping[str, Any]) -> Channel:
    event_id, tenant_id, occurred_at = envelope("Channel", rec)
    medium = text("Channel", rec, "medium", required=False)
    if medium is not None and medium not in MEDIUMS:
        raise InvalidEvent("Channel", "medium", f"must be one of {', '.join(MEDIUMS)}")
    return Channel(event_id, tenant_id, occurred_at, text("Channel", rec, "channelId"),
                   text("Channel", rec, "name", limit=1000), medium)


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "InteractionEvent": _interaction,
    "ErasureRequested": erasure.erasure_from_record,
    **organizations.BUILDERS,
    "Offer": _offer,
    "Creative": _creative,
    "Channel": _channel,
    **people.BUILDERS,
    **definitions.BUILDERS,
}


def from_record(name: str, record: Mapping[str, Any], *, check_identifiers: bool = True) -> Event:
    """Build the domain event for a decoded record of schema ``name``; ``check_identifiers=False``
    skips the normalization check (``purge`` reads whom a dead-lettered event names)."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise InvalidEvent(name, "$schema", f"no projection consumes {name} events yet") from None
    event = builder(record)
    if check_identifiers and isinstance(event, people.PERSON_EVENTS):
        identifiers.check(event)  # an identifier that cannot be normalized refuses its whole event
    return event
