"""The unified profile, assembled from what a profile's identifiers hold. Pure.

Inputs are plain rows (mappings) and facts; outputs are the seeds' JSON-ready dicts (times
stay ``datetime``: the API renders them).

Rules, documented in docs/profiles.md:
- standard traits (``STANDARD_TRAITS``) and custom attributes: the latest fact per name;
- ``email`` / ``phone``: the trait, else the profile's valid identifier of that type seen
  first (phones E.164);
- ``tags``: the tags whose latest fact is an add; subscription flags: the latest consent of
  (email|sms|push, marketing), false when none;
- ``lifetimeValue``: the sum of purchase and convert values (null when there are none);
  ``lastActiveAt``: the latest interaction; ``createdAt``: the earliest event of the profile.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from profile360.projections.metrics import Row, lifetime_value
from profile360.projections.traits import STANDARD_TRAITS, SUBSCRIPTION_FLAGS, Fact, latest, winners


def _identifier_value(nodes: Iterable[Mapping[str, Any]], kind: str) -> str | None:
    valid = sorted((n for n in nodes if n["id_type"] == kind and n["valid"]), key=lambda n: (n["occurred_at"], n["key"]))
    return valid[0]["id_value"] if valid else None


def _contact(traits: Mapping[str, Any], nodes: Iterable[Mapping[str, Any]], kind: str) -> Any:
    """``email`` / ``phone``: the trait, else the profile's earliest valid identifier of that type."""
    return traits.get(kind) or _identifier_value(nodes, kind)


def consent_view(consent: Iterable[Fact]) -> list[dict[str, Any]]:
    """Latest consent per (channel, purpose), in name order."""
    out = []
    for name, f in sorted(latest(consent).items()):
        channel, _, purpose = name.partition("/")
        out.append({"channel": channel, "purpose": purpose, "granted": bool(f.value), "source": f.source,
                    "updatedAt": f.occurred_at})
    return out


def subscription_flags(consent: Iterable[Fact]) -> dict[str, bool]:
    last = latest(consent)
    return {flag: bool(last[f"{ch}/{purpose}"].value) if f"{ch}/{purpose}" in last else False
            for flag, (ch, purpose) in SUBSCRIPTION_FLAGS.items()}


def _of_kind(facts: list[Fact], kind: str) -> list[Fact]:
    return [f for f in facts if f.kind == kind]


def profile_object(profile_id: str, nodes: list[Mapping[str, Any]], facts: list[Fact], rows: list[Row],
                   activity: tuple[datetime | None, datetime | None]) -> dict[str, Any]:
    """Seed 000's customer profile object, from the profile's identifiers, trait, tag and
    consent facts, daily buckets and (first, last) interaction times."""
    t = {name: f.value for name, f in latest(_of_kind(facts, "trait")).items()}
    tags = sorted(name for name, f in latest(_of_kind(facts, "tag")).items() if f.value)
    consent = _of_kind(facts, "consent")
    first_interaction, last_interaction = activity
    times = [t for t in [first_interaction, *(n["occurred_at"] for n in nodes), *(f.occurred_at for f in facts)] if t]
    return {
        "id": profile_id,
        "email": _contact(t, nodes, "email"),
        "phone": _contact(t, nodes, "phone"),
        **{name: t.get(name) for name in STANDARD_TRAITS if name not in ("email", "phone")},
        "tags": tags,
        "attributes": {k: v for k, v in sorted(t.items()) if k not in STANDARD_TRAITS},
        **subscription_flags(consent),
        "lifetimeValue": lifetime_value(rows),
        "lastActiveAt": last_interaction,
        "createdAt": min(times) if times else None,
    }


def attribute_map(nodes: list[Mapping[str, Any]], traits: list[Fact]) -> dict[str, Any]:
    """Seed 001's ``attributes``: one flat map of the profile's traits (standard and custom, the
    latest value of each, in name order), ``email`` and ``phone`` as in the profile object;
    names without a value are left out."""
    t = {name: f.value for name, f in latest(_of_kind(traits, "trait")).items()}
    flat = {**t, "email": _contact(t, nodes, "email"), "phone": _contact(t, nodes, "phone")}
    return {k: v for k, v in sorted(flat.items()) if v is not None}


def experiments(facts: Iterable[Fact]) -> list[dict[str, Any]]:
    """Seed 002's experiments: the latest assignment per experiment."""
    return [{"experimentId": name, "experimentName": f.value.get("name"), "variant": f.value["variant"],
             "assignedAt": f.occurred_at} for name, f in sorted(latest(facts).items())]


def journeys(facts: Iterable[Fact]) -> list[dict[str, Any]]:
    """Seed 002's journeys: per journey the latest status and step, the first event's time as
    ``enrolledAt``, and ``completedAt`` / ``exitedAt`` when the latest status says so."""
    won = winners(facts, by_name=True)
    out = []
    for (kind, journey_id), f in sorted(won.items()):
        if kind != "journey":
            continue
        enrolled = won.get(("journey_enrolled", journey_id))
        out.append({"journeyId": journey_id, "journeyName": f.value.get("name"), "status": f.value["status"],
                    "step": f.value.get("step"), "enrolledAt": enrolled.occurred_at if enrolled else f.occurred_at,
                    "updatedAt": f.occurred_at,
                    "completedAt": f.occurred_at if f.value["status"] == "completed" else None,
                    "exitedAt": f.occurred_at if f.value["status"] == "exited" else None})
    return out


def identities(nodes: list[Mapping[str, Any]], edges: list[Mapping[str, Any]], threshold: float) -> list[dict[str, Any]]:
    """Seed 002's identities: every identifier of the profile with the strongest merging link
    it has (1.0 alone), then identifiers only weakly linked to it (``merged: false``)."""
    members = {n["key"] for n in nodes}
    best: dict[str, float] = {}
    weak: dict[str, float] = {}
    for e in edges:
        merging = e["linked"] and e["eligible"] and e["confidence"] >= threshold
        for here, there in ((e["a"], e["b"]), (e["b"], e["a"])):
            if here in members and merging:
                best[here] = max(best.get(here, 0.0), e["confidence"])
            elif here in members and there not in members and e["linked"]:
                weak[there] = max(weak.get(there, 0.0), e["confidence"])
    out = [{"type": n["id_type"], "value": n["id_value"], "original": n["original"], "valid": n["valid"],
            "confidence": best.get(n["key"], 1.0), "merged": True, "firstSeenAt": n["occurred_at"]} for n in nodes]
    for key, confidence in sorted(weak.items()):
        kind, _, value = key.partition(":")
        out.append({"type": kind, "value": value, "confidence": confidence, "merged": False})
    return out
