"""Traits, tags, consent, experiments and journeys: registers kept per arrival identifier.

Each fact is stored under the identifier its event was about (an Identify's primary
identifier, the identifier of a consent, experiment or journey event). A register keeps its
last writer by ``(occurred_at, event_id)``; kinds in ``FIRST_WINS`` keep their first writer
(a journey's enrolment). A profile's value of a register is the winner among all of its
identifiers' facts, so merging or splitting profiles only changes which facts are read.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, TypeVar

from profile360.events.people import ConsentChanged, ExperimentAssigned, Identify, JourneyUpdated, PersonEvent
from profile360.projections import identity
from profile360.projections.identifiers import of_event

#: traits with a place of their own in the profile; every other trait is a custom attribute
STANDARD_TRAITS = ("email", "phone", "firstName", "lastName", "country", "city", "language", "timezone", "address")
#: consent (channel, purpose) behind the profile's subscription flags
SUBSCRIPTION_FLAGS = {"isSubscribed": ("email", "marketing"), "isSmsSubscribed": ("sms", "marketing"),
                      "isPushSubscribed": ("push", "marketing")}
FIRST_WINS = frozenset({"journey_enrolled"})


@dataclass(frozen=True, slots=True)
class Fact:
    """One write to register (``kind``, ``name``) of identifier ``key``."""

    tenant_id: str
    key: str
    kind: str  # trait, tag, consent, experiment, journey, journey_enrolled
    name: str  # trait name; tag; "channel/purpose"; experiment id; journey id
    value: Any  # trait value; True/False (tag present, consent granted); {variant, ...}; {status, step, ...}
    occurred_at: datetime
    event_id: str
    source: str | None = None

    @property
    def register(self) -> tuple[str, str, str, str]:
        return self.tenant_id, self.key, self.kind, self.name

    @property
    def version(self) -> tuple[datetime, str]:
        return self.occurred_at, self.event_id


def trait_facts(event: Identify) -> list[Fact]:
    key = identity.primary(of_event(event)).key
    return [Fact(event.tenant_id, key, "trait", name, value, event.occurred_at, event.event_id)
            for name, value in event.traits.items()]


def tag_facts(event: Identify) -> list[Fact]:
    """Adds then removes: a tag both added and removed by one event ends removed."""
    key = identity.primary(of_event(event)).key
    ops = {tag: True for tag in event.tags_added} | {tag: False for tag in event.tags_removed}
    return [Fact(event.tenant_id, key, "tag", tag, present, event.occurred_at, event.event_id)
            for tag, present in ops.items()]


def _about_one(event: ConsentChanged | ExperimentAssigned | JourneyUpdated) -> list[Fact]:
    (ident,) = of_event(event)
    key = ident.key

    def fact(kind: str, name: str, value: Any, source: str | None = None) -> Fact:
        return Fact(event.tenant_id, key, kind, name, value, event.occurred_at, event.event_id, source)

    if isinstance(event, ConsentChanged):
        return [fact("consent", f"{event.channel}/{event.purpose}", event.granted, event.source)]
    if isinstance(event, ExperimentAssigned):
        return [fact("experiment", event.experiment_id, {"variant": event.variant, "name": event.experiment_name})]
    state = {"status": event.status, "step": event.step, "name": event.journey_name}
    return [fact("journey", event.journey_id, state), fact("journey_enrolled", event.journey_id, True)]


def facts_of(event: PersonEvent) -> list[Fact]:
    """Every fact an event writes (identity links write none)."""
    if isinstance(event, Identify):
        return trait_facts(event) + tag_facts(event)
    if isinstance(event, (ConsentChanged, ExperimentAssigned, JourneyUpdated)):
        return _about_one(event)
    return []


F = TypeVar("F", bound=Fact)


def winners(facts: Iterable[F], by_name: bool = False) -> dict[Any, F]:
    """The winning fact per register (identifier, kind, name), or per (kind, name) alone when
    ``by_name`` (the profile's view across all of its identifiers): the last writer, or the
    first for ``FIRST_WINS`` kinds."""
    out: dict[Any, F] = {}
    for f in facts:
        k = (f.kind, f.name) if by_name else f.register
        if k not in out or (f.version < out[k].version if f.kind in FIRST_WINS else out[k].version < f.version):
            out[k] = f
    return out


def latest(facts: Iterable[F]) -> dict[str, F]:
    """The profile's winner per name, for facts of one kind."""
    return {name: f for (_, name), f in winners(facts, by_name=True).items()}
