"""Seed 004: the customer in a support desk's shape (Gladly-like). Pure.

- ``id``: the profile id; ``externalCustomerId``: the smallest customer id of the profile;
- ``name``: the ``name`` trait, else ``firstName lastName``;
- ``emails`` / ``phones``: the profile's valid identifiers of that type (earliest first;
  ``primary``: the one the ``email`` / ``phone`` trait names, else the earliest); phones carry
  their E.164 form, and the region and line type ``phonenumbers`` gives for it;
- ``address``: the ``address`` trait as one string; ``customAttributes``: every other trait;
- ``channels``: EMAIL for each email; SMS and VOICE for each mobile, VOICE for other phones;
- ``createdAt``: the earliest event of the profile; ``modifiedAt``: the latest.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

import phonenumbers
from phonenumbers import PhoneNumberType

from profile360.projections.traits import Fact, latest

_MAPPED = frozenset({"name", "firstName", "lastName", "email", "phone", "address"})
_LINE = {PhoneNumberType.MOBILE: "MOBILE", PhoneNumberType.FIXED_LINE_OR_MOBILE: "MOBILE",
         PhoneNumberType.FIXED_LINE: "HOME", PhoneNumberType.VOIP: "OTHER"}


def phone_facts(e164: str) -> tuple[str, str | None]:
    """(line type, ISO region) of an E.164 number."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "OTHER", None
    return _LINE.get(phonenumbers.number_type(number), "OTHER"), phonenumbers.region_code_for_number(number)


def _valid(nodes: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return sorted((n for n in nodes if n["id_type"] == kind and n["valid"]), key=lambda n: (n["occurred_at"], n["key"]))


def _primary(found: list[Mapping[str, Any]], preferred: Any) -> str | None:
    values = [n["id_value"] for n in found]
    return preferred if preferred in values else (values[0] if values else None)


def customer(profile_id: str, customer_ids: list[str], nodes: list[Mapping[str, Any]], traits: list[Fact],
             times: list[datetime]) -> dict[str, Any]:
    """The seed 004 resource of one profile; ``times``: every event time the profile has."""
    t = {name: f.value for name, f in latest(traits).items()}
    emails, phones = _valid(nodes, "email"), _valid(nodes, "phone")
    first_email, first_phone = _primary(emails, t.get("email")), _primary(phones, t.get("phone"))
    name = t.get("name") or " ".join(str(t[k]) for k in ("firstName", "lastName") if t.get(k)) or None
    phone_rows = [{"original": n["original"], "normalized": n["id_value"], "type": kind, "regionCode": region,
                   "primary": n["id_value"] == first_phone}
                  for n in phones for kind, region in [phone_facts(n["id_value"])]]
    out: dict[str, Any] = {
        "id": profile_id,
        "name": name,
        "emails": [{"original": n["original"], "normalized": n["id_value"], "primary": n["id_value"] == first_email}
                   for n in emails],
        "phones": phone_rows,
        "address": str(t["address"]) if t.get("address") is not None else None,
        "externalCustomerId": customer_ids[0] if customer_ids else None,
        "customAttributes": {k: v for k, v in sorted(t.items()) if k not in _MAPPED},
        "channels": [{"type": "EMAIL", "address": n["id_value"]} for n in emails]
        + [{"type": kind, "address": p["normalized"]} for p in phone_rows
           for kind in (("SMS", "VOICE") if p["type"] == "MOBILE" else ("VOICE",))],
        "createdAt": min(times) if times else None,
        "modifiedAt": max(times) if times else None,
    }
    return {k: v for k, v in out.items() if v is not None}  # the schema's strings are not nullable
