"""Identifier normalization: the rule that decides when two spellings are one identifier.

- ``email``: trimmed, checked by ``email-validator`` (syntax only, no DNS), lower-cased whole.
- ``phone``: parsed by ``phonenumbers`` with the event's default region (numbers written with
  ``+`` need none), kept only if it is a valid number, written E.164.
- every other type (``customer_id``, ``device_id``, ``anonymous_id``, custom): trimmed.

An identifier that fails its rule stays as given (trimmed), is flagged ``valid=False`` with the
reason, and never joins two profiles. The rule is deterministic for a given library version;
upgrading ``phonenumbers`` can change what is valid, which a rebuild then applies everywhere.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from profile360.events.people import RawIdentifier


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
        problem = str(exc) if region or value.startswith("+") else f"{exc} (no default region to read it with)"
        return Identifier("phone", value, original, valid=False, problem=problem)
    if not phonenumbers.is_valid_number(number):
        return Identifier("phone", value, original, valid=False, problem="not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identifier("phone", e164, original, region=phonenumbers.region_code_for_number(number))


def parse_key(text: str) -> tuple[str, str] | None:
    """``"type:value"`` split at the first colon, or ``None`` when there is no type."""
    kind, sep, value = text.partition(":")
    return (kind, value) if sep and kind and value else None
