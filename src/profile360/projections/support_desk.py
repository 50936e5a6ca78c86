"""Seed 004: the customer in a support desk's shape (Gladly-like). Pure.

- ``id``: the profile id; ``externalCustomerId``: the smallest customer id of the profile;
- ``name``: the ``name`` trait, else ``firstName lastName``;
- ``emails`` / ``phones``: the profile's valid identifiers of that type (earliest first;
  ``primary``: the one the ``email`` / ``phone`` trait names, else for phones the earliest
  mobile (it takes texts and calls) and then the earliest phone, for emails the earliest);
  phones carry their E.164 form, and the region and line type ``phonenumbers`` gives for it;
- ``address``: the ``address`` trait as one string; ``customAttributes``: every other trait;
- ``channels``: EMAIL for each email; SMS and VOICE for each mobile, VOICE for other phones;
- ``createdAt``: the earliest event of the profile; ``modifiedAt``: the latest.
"""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Iterable, Mapping

import phonenumbers
from phonenumbers import PhoneNumberType

from profile360.projections.traits import Fact, latest

_MAPPED = frozenset({"name", "firstName", "lastName", "email", "phone", "address"})
_LINE = {PhoneNumberType.MOBILE: "MOBILE", PhoneNumberType.FIXED_LINE_OR_MOBILE: "MOBILE",
         PhoneNumberType.FIXED_LINE: "HOME", PhoneNumberType.VOIP: "OTHER"}


@functools.lru_cache(maxsize=100_000)
def phone_facts(e164: str) -> tuple[str, str | None]:
    """(line type, ISO region) of an E.164 number (cached: the worker asks again for every
    event of a profile with a phone)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "OTHER", None
    return _LINE.get(phonenumbers.number_type(number), "OTHER"), phonenumbers.region_code_for_number(number)


def _valid(nodes: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return sorted((n for n in nodes if n["id_type"] == kind and n["valid"]), key=lambda n: (n["occurred_at"], n["key"]))


def _primary(found: list[Mapping[str, Any]], preferred: Any, first_choice: Iterable[str] = ()) -> str | None:
    """``preferred`` (the trait) if it is one of ``found``, else the first of ``first_choice``
    (values in ``found``'s order), else the first found."""
    values = [n["id_value"] for n in found]
    if preferred in values:
        return preferred
    return next(iter(first_choice), values[0] if values else None)


def customer(profile_id: str, customer_ids: list[str], nodes: list[Mapping[str, Any]], traits: list[Fact],
             times: list[datetime]) -> dict[str, Any]:
    """The seed 004 resource of one profile; ``times``: every event time the profile has."""
    t = {name: f.value for name, f in latest(traits).items()}
    emails, phones = _valid(nodes, "email"), _valid(nodes, "phone")
    lines = {n["id_value"]: phone_facts(n["id_value"]) for n in phones}
    first_email = _primary(emails, t.get("email"))
    first_phone = _primary(phones, t.get("phone"), (v for v, (kind, _) in lines.items() if kind == "MOBILE"))
    name = t.get("name") or " ".join(str(t[k]) for k in ("firstName", "lastName") if t.get(k)) or None
    phone_rows = [{"original": n["original"], "normalized": n["id_value"], "type": lines[n["id_value"]][0],
                   "regionCode": lines[n["id_value"]][1], "primary": n["id_value"] == first_phone} for n in phones]
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
