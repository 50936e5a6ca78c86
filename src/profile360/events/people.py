"""Identity and consent events as frozen dataclasses, validated from decoded Avro records.

Identifiers stay as given here; normalizing them (email case, E.164 phones) is a projection
rule (``projections.identifiers``), so a changed rule is rolled out by a replay. Every event
that names an identifier carries its own ``default_region`` (the only region its phones are
read with), and ``named`` lists the identifiers it names with the field each came from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from profile360.events.rules import MAX_ID_LEN, InvalidEvent, envelope, text

MAX_IDENTIFIERS = 50
MAX_TRAITS = 200
MAX_TAGS = 100
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TRAIT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
_REGION_RE = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class RawIdentifier:
    type: str
    value: str


@dataclass(frozen=True, slots=True)
class Identify:
    """The identifiers belong to one person; optional traits and tag changes about them."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    identifiers: tuple[RawIdentifier, ...]
    traits: Mapping[str, Any] = field(default_factory=dict)
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """Two identifiers are linked with ``confidence`` (0..1); ``Unlink`` takes it back."""

    event_id: str
    tenant_id: str
    occurred_at: datetime
    identifier: RawIdentifier
    linked_identifier: RawIdentifier
    confidence: float = 1.0
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class Unlink:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    identifier: RawIdentifier
    linked_identifier: RawIdentifier
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentChanged:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    identifier: RawIdentifier
    channel: str
    purpose: str
    granted: bool
    source: str | None = None
    default_region: str | None = None


@dataclass(frozen=True, slots=True)
class ExperimentAssigned:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    identifier: RawIdentifier
    experiment_id: str
    variant: str
    experiment_name: str | None = None
    default_region: str | None = None


JOURNEY_STATUSES = ("enrolled", "active", "completed", "exited")


@dataclass(frozen=True, slots=True)
class JourneyUpdated:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    identifier: RawIdentifier
    journey_id: str
    status: str
    step: str | None = None
    journey_name: str | None = None
    default_region: str | None = None


def experiment_assigned(rec: Mapping[str, Any]) -> ExperimentAssigned:
    n = "ExperimentAssigned"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    return ExperimentAssigned(event_id, tenant_id, occurred_at, _identifier(n, "identifier", rec.get("identifier")),
                              text(n, rec, "experimentId"), text(n, rec, "variant"),
                              text(n, rec, "experimentName", required=False, limit=1000), _region(n, rec))


def journey_updated(rec: Mapping[str, Any]) -> JourneyUpdated:
    n = "JourneyUpdated"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    status = text(n, rec, "status", limit=64)
    if status not in JOURNEY_STATUSES:
        raise InvalidEvent(n, "status", f"must be one of {', '.join(JOURNEY_STATUSES)}")
    return JourneyUpdated(event_id, tenant_id, occurred_at, _identifier(n, "identifier", rec.get("identifier")),
                          text(n, rec, "journeyId"), status, text(n, rec, "step", required=False),
                          text(n, rec, "journeyName", required=False, limit=1000), _region(n, rec))


PersonEvent = Identify | Link | Unlink | ConsentChanged | ExperimentAssigned | JourneyUpdated
#: events about one identifier (not linking two), and all of them as isinstance tuples
AboutOne = (ConsentChanged, ExperimentAssigned, JourneyUpdated)
PERSON_EVENTS = (Identify, Link, Unlink, *AboutOne)


def named(event: PersonEvent) -> list[tuple[str, RawIdentifier]]:
    """The identifiers ``event`` names, in order, each with the field it came from."""
    if isinstance(event, Identify):
        return [(f"identifiers[{i}]", r) for i, r in enumerate(event.identifiers)]
    if isinstance(event, (Link, Unlink)):
        return [("identifier", event.identifier), ("linkedIdentifier", event.linked_identifier)]
    return [("identifier", event.identifier)]


def _region(name: str, rec: Mapping[str, Any]) -> str | None:
    region = rec.get("defaultRegion")
    if region is not None and not _REGION_RE.fullmatch(region):
        raise InvalidEvent(name, "defaultRegion", "must be an ISO 3166-1 alpha-2 code such as AE or US")
    return region


def _identifier(name: str, key: str, rec: Any) -> RawIdentifier:
    if not isinstance(rec, Mapping):
        raise InvalidEvent(name, key, "is required")
    kind = text(name, rec, "type", limit=64)
    if not _NAME_RE.fullmatch(kind):
        raise InvalidEvent(name, f"{key}.type", "must match [a-z][a-z0-9_]* (customer_id, email, phone, ...)")
    value = text(name, rec, "value", limit=MAX_ID_LEN)
    if not value.strip():
        raise InvalidEvent(name, f"{key}.value", "is blank")
    if kind == "customer_id" and ":" in value:
        raise InvalidEvent(name, f"{key}.value", "a customer id must not contain ':' (type:value names other identifiers)")
    return RawIdentifier(kind, value)


def _names(name: str, key: str, values: Any, pattern: re.Pattern[str], limit: int) -> tuple[str, ...]:
    values = list(values or ())
    if len(values) > limit:
        raise InvalidEvent(name, key, f"has more than {limit} entries")
    for v in values:
        if not pattern.fullmatch(v):
            raise InvalidEvent(name, key, f"{v[:80]!r} must match {pattern.pattern}")
    return tuple(values)


def identify(rec: Mapping[str, Any]) -> Identify:
    n = "Identify"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    raw = rec.get("identifiers") or []
    if not raw:
        raise InvalidEvent(n, "identifiers", "needs at least one identifier")
    if len(raw) > MAX_IDENTIFIERS:
        raise InvalidEvent(n, "identifiers", f"has more than {MAX_IDENTIFIERS} entries")
    identifiers = tuple(_identifier(n, f"identifiers[{i}]", r) for i, r in enumerate(raw))
    traits = dict(rec.get("traits") or {})
    _names(n, "traits", traits, _TRAIT_RE, MAX_TRAITS)
    for k, v in traits.items():
        if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
            raise InvalidEvent(n, f"traits.{k}", "must be a finite number")
        if isinstance(v, str) and (len(v) > 4096 or "\x00" in v):
            raise InvalidEvent(n, f"traits.{k}", "longer than 4096 characters or contains NUL")
    tag_re = re.compile(r"[^\x00]{1,100}")
    return Identify(event_id, tenant_id, occurred_at, identifiers, traits,
                    _names(n, "tagsAdded", rec.get("tagsAdded"), tag_re, MAX_TAGS),
                    _names(n, "tagsRemoved", rec.get("tagsRemoved"), tag_re, MAX_TAGS), _region(n, rec))


def link(rec: Mapping[str, Any]) -> Link:
    event_id, tenant_id, occurred_at = envelope("Link", rec)
    confidence = rec.get("confidence")
    if not isinstance(confidence, (int, float)) or not 0.0 <= confidence <= 1.0:
        raise InvalidEvent("Link", "confidence", "must be a number from 0 to 1")
    return Link(event_id, tenant_id, occurred_at, _identifier("Link", "identifier", rec.get("identifier")),
                _identifier("Link", "linkedIdentifier", rec.get("linkedIdentifier")), float(confidence),
                _region("Link", rec))


def unlink(rec: Mapping[str, Any]) -> Unlink:
    event_id, tenant_id, occurred_at = envelope("Unlink", rec)
    return Unlink(event_id, tenant_id, occurred_at, _identifier("Unlink", "identifier", rec.get("identifier")),
                  _identifier("Unlink", "linkedIdentifier", rec.get("linkedIdentifier")), _region("Unlink", rec))


def consent_changed(rec: Mapping[str, Any]) -> ConsentChanged:
    n = "ConsentChanged"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    channel = text(n, rec, "channel", limit=64).lower()
    purpose = text(n, rec, "purpose", limit=64).lower()
    for key, value in (("channel", channel), ("purpose", purpose)):
        if not _NAME_RE.fullmatch(value):
            raise InvalidEvent(n, key, "must match [a-z][a-z0-9_]* (for example email, sms, push / marketing)")
    granted = rec.get("granted")
    if not isinstance(granted, bool):
        raise InvalidEvent(n, "granted", "must be true or false")
    return ConsentChanged(event_id, tenant_id, occurred_at, _identifier(n, "identifier", rec.get("identifier")),
                          channel, purpose, granted, text(n, rec, "source", required=False, limit=256), _region(n, rec))


BUILDERS = {"Identify": identify, "Link": link, "Unlink": unlink, "ConsentChanged": consent_changed,
            "ExperimentAssigned": experiment_assigned, "JourneyUpdated": journey_updated}
