"""Identifier normalization: the rule that decides when two spellings are one identifier.

- ``email``: trimmed, checked by ``email-validator`` (syntax only, no DNS), lower-cased whole.
- ``phone``: parsed by ``phonenumbers`` with the event's own ``defaultRegion`` (numbers
  written with ``+`` need none), kept only if it is a valid number, written E.164.
- every other type (``customer_id``, ``device_id``, ``anonymous_id``, custom): trimmed.

One region rule for every record that names an identifier: the event's own region, nothing
else. A tenant setting is never used, because one that arrived after the event would make the
tables depend on the order the events were applied in.

An event naming an identifier that fails its rule is refused whole (``check``: the worker
dead-letters it with the reason), so such an identifier never becomes a node, a profile or a
contact, and no record is applied in half. The rule is deterministic for a given library
version; upgrading ``phonenumbers`` can change what is valid, which a rebuild then applies
everywhere.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from profile360.events.people import PersonEvent, RawIdentifier, named
from profile360.events.rules import InvalidEvent


@dataclass(frozen=True, slots=True)
class Identifier:
    type: str
    value: str  # normalized, or as given (trimmed) when not valid
    original: str
    valid: bool = True
    problem: str | None = None
    region: str | None = None  # phones: the number's region

    @property
    def key(self) -> str:
        """``type:value``, the form the API accepts and the tables store."""
        return f"{self.type}:{self.value}"


@functools.lru_cache(maxsize=1 << 16)
def normalize(raw: RawIdentifier, default_region: str | None = None) -> Identifier:
    """Cached: the rule is pure, and email and phone parsing cost tens of microseconds each
    (an identifier is normalized by every fold that reads its event, and recurs across events)."""
    value = raw.value.strip()
    if raw.type == "email":
        return _email(value, raw.value)
    if raw.type == "phone":
        return _phone(value, raw.value, default_region)
    return Identifier(raw.type, value, raw.value)


def _email(value: str, original: str) -> Identifier:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return Identifier("email", value, original, valid=False, problem=str(exc))
    return Identifier("email", checked.normalized.lower(), original)


def _phone(value: str, original: str, region: str | None) -> Identifier:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        problem = str(exc) if region or value.startswith("+") else \
            "no country code, and the event has no defaultRegion to read it with (write it as +<country code>…)"
        return Identifier("phone", value, original, valid=False, problem=problem)
    if not phonenumbers.is_valid_number(number):
        return Identifier("phone", value, original, valid=False, problem="not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identifier("phone", e164, original, region=phonenumbers.region_code_for_number(number))


def of_event(event: PersonEvent) -> list[Identifier]:
    """The identifiers ``event`` names (in ``people.named``'s order), normalized with the
    event's own region."""
    return [normalize(raw, event.default_region) for _, raw in named(event)]


def check(event: PersonEvent) -> None:
    """Raise ``InvalidEvent`` naming the first identifier of ``event`` that fails its rule."""
    for (path, raw), ident in zip(named(event), of_event(event)):
        if not ident.valid:
            raise InvalidEvent(type(event).__name__, f"{path}.value",
                               f"{raw.type} {raw.value[:80]!r} cannot be normalized: {ident.problem}")


def parse_key(text: str) -> tuple[str, str] | None:
    """``"type:value"`` split at the first colon, or ``None`` when there is no type."""
    kind, sep, value = text.partition(":")
    return (kind, value) if sep and kind and value else None
