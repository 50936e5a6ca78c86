"""Traits, tags and consent: last-writer-wins registers, kept per arrival identifier.

Each fact is stored under the identifier its event was about (an Identify's primary
identifier, a consent event's identifier). A profile's value of a register is the latest fact
(by ``(occurred_at, event_id)``) among all of its identifiers' facts, so merging or splitting
profiles only changes which facts are read, never the facts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, TypeVar

from profile360.events.people import ConsentChanged, Identify
from profile360.projections import identity
from profile360.projections.identifiers import normalize

#: traits with a place of their own in the profile; every other trait is a custom attribute
STANDARD_TRAITS = ("email", "phone", "firstName", "lastName", "country", "city", "language", "timezone", "address")
#: consent (channel, purpose) behind the profile's subscription flags
SUBSCRIPTION_FLAGS = {"isSubscribed": ("email", "marketing"), "isSmsSubscribed": ("sms", "marketing"),
                      "isPushSubscribed": ("push", "marketing")}


@dataclass(frozen=True, slots=True)
class Fact:
    """One write to register ``name`` of identifier ``key``: a trait, a tag or a consent."""

    tenant_id: str
    key: str
    name: str  # trait name; tag; "channel/purpose"
    value: Any  # trait value; True/False (tag present, consent granted)
    occurred_at: datetime
    event_id: str
    source: str | None = None

    @property
    def register(self) -> tuple[str, str, str]:
        return self.tenant_id, self.key, self.name

    @property
    def version(self) -> tuple[datetime, str]:
        return self.occurred_at, self.event_id


def trait_facts(event: Identify) -> list[Fact]:
    key = identity.primary(identity.identifiers_of(event)).key
    return [Fact(event.tenant_id, key, name, value, event.occurred_at, event.event_id)
            for name, value in event.traits.items()]


def tag_facts(event: Identify) -> list[Fact]:
    """Adds then removes: a tag both added and removed by one event ends removed."""
    key = identity.primary(identity.identifiers_of(event)).key
    ops = {tag: True for tag in event.tags_added} | {tag: False for tag in event.tags_removed}
    return [Fact(event.tenant_id, key, tag, present, event.occurred_at, event.event_id) for tag, present in ops.items()]


def consent_fact(event: ConsentChanged) -> Fact:
    return Fact(event.tenant_id, normalize(event.identifier).key, f"{event.channel}/{event.purpose}", event.granted,
                event.occurred_at, event.event_id, event.source)


F = TypeVar("F", bound=Fact)


def latest(facts: Iterable[F], by_name: bool = False) -> dict[Any, F]:
    """The last writer per register (per identifier and name), or per name alone when
    ``by_name`` (the profile's view across all of its identifiers)."""
    out: dict[Any, F] = {}
    for f in facts:
        k = f.name if by_name else f.register
        if k not in out or out[k].version < f.version:
            out[k] = f
    return out
