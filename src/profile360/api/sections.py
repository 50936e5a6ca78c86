"""Unified-profile sections: the built-in ones and the extension point.

A section is a name and an async loader ``loader(conn, ref) -> data`` (``ref`` is a
``store.profiles.ProfileRef``: tenant, profile id, identifier keys). ``data`` must be
JSON-serialisable (``datetime`` values are rendered as ISO 8601). Only the sections a request
asks for are loaded.

Plugins add sections with ``register_profile_section(name, loader)``, or without code in
profile360 by declaring an entry point in the group ``profile360.profile_sections`` (name = the
section name, object = the loader); ``discover()`` loads those when the API starts.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from importlib.metadata import entry_points
from typing import Any, Awaitable, Callable

import asyncpg

from profile360.projections import metrics, profile
from profile360.store import definitions, profiles, segment_reads, tenants
from profile360.store.profiles import ProfileRef

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "profile360.profile_sections"
SectionLoader = Callable[[asyncpg.Connection, ProfileRef], Awaitable[Any]]
_NAME_RE = re.compile(r"[a-z][a-zA-Z0-9_]{0,63}")
_SECTIONS: dict[str, SectionLoader] = {}


def register_profile_section(name: str, loader: SectionLoader, *, replace: bool = False) -> None:
    """Make ``name`` a profile section served by ``loader``; a name already taken is refused
    unless ``replace``."""
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"section name {name!r} must match {_NAME_RE.pattern}")
    if name in _SECTIONS and not replace:
        raise ValueError(f"profile section {name!r} is already registered")
    _SECTIONS[name] = loader


def sections() -> dict[str, SectionLoader]:
    return dict(_SECTIONS)


def discover() -> list[str]:
    """Register the sections installed packages declare; returns their names. A plugin that
    fails to load is logged and skipped (the API still starts)."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loader = ep.load()
            if _SECTIONS.get(ep.name) is not loader:  # discovering twice is harmless
                register_profile_section(ep.name, loader)
            found.append(ep.name)
        except Exception:
            log.exception("profile section plugin %s (%s) could not be registered", ep.name, ep.value)
    return found


async def _identities(conn: asyncpg.Connection, ref: ProfileRef) -> list[dict[str, Any]]:
    nodes, edges = await profiles.identity_rows(conn, ref)
    if not nodes:  # a customer id seen only in interactions
        return [{"type": "customer_id", "value": cid, "confidence": 1.0, "merged": True} for cid in ref.customer_ids]
    threshold = (await tenants.settings_of(conn, [ref.tenant_id]))[ref.tenant_id].link_threshold
    return profile.identities(nodes, edges, threshold)


def _today() -> date:
    return datetime.now(timezone.utc).date()


async def _attributes(conn: asyncpg.Connection, ref: ProfileRef) -> dict[str, Any]:
    nodes, _ = await profiles.identity_rows(conn, ref)
    return profile.profile_object(ref.profile_id, nodes, await profiles.facts(conn, ref, "trait", "tag", "consent"),
                                  await profiles.buckets(conn, ref), await profiles.activity(conn, ref))


async def _interactions(conn: asyncpg.Connection, ref: ProfileRef) -> list[dict[str, Any]]:
    rows = await profiles.recent_interactions(conn, ref)
    return [{"id": r["event_id"], "customerId": r["customer_id"], "offerId": r["offer_id"],
             "creativeId": r["creative_id"], "channelId": r["channel_id"], "channel": r["channel"],
             "interactionType": r["interaction_type"], "timestamp": r["occurred_at"], "value": r["value"]}
            for r in rows]


async def _metrics(conn: asyncpg.Connection, ref: ProfileRef) -> dict[str, Any]:
    return metrics.all_metrics(await profiles.buckets(conn, ref), await definitions.metrics_of(conn, ref.tenant_id),
                               _today())


async def _consent(conn: asyncpg.Connection, ref: ProfileRef) -> list[dict[str, Any]]:
    return profile.consent_view(await profiles.facts(conn, ref, "consent"))


async def _journeys(conn: asyncpg.Connection, ref: ProfileRef) -> list[dict[str, Any]]:
    return profile.journeys(await profiles.facts(conn, ref, "journey", "journey_enrolled"))


async def _experiments(conn: asyncpg.Connection, ref: ProfileRef) -> list[dict[str, Any]]:
    return profile.experiments(await profiles.facts(conn, ref, "experiment"))


async def _segments(conn: asyncpg.Connection, ref: ProfileRef) -> list[dict[str, Any]]:
    rows = await segment_reads.of_profile(conn, ref.tenant_id, ref.profile_id)
    return [{"segmentId": r["segment_id"], "segmentName": r["name"], "memberSince": r["member_since"]} for r in rows]


async def _attribute_map(conn: asyncpg.Connection, ref: ProfileRef) -> dict[str, Any]:
    nodes, _ = await profiles.identity_rows(conn, ref)
    return profile.attribute_map(nodes, await profiles.facts(conn, ref, "trait"))


async def _segment_ids(conn: asyncpg.Connection, ref: ProfileRef) -> list[str]:
    return [r["segment_id"] for r in await segment_reads.of_profile(conn, ref.tenant_id, ref.profile_id)]


BUILT_IN: dict[str, SectionLoader] = {"identities": _identities, "attributes": _attributes,
                                      "interactions": _interactions, "metrics": _metrics, "segments": _segments,
                                      "journeys": _journeys,
                                      "experiments": _experiments, "consent": _consent}
#: seed 001's forms of the built-in sections whose keyed shape differs: a flat attribute map
#: and the list of segment ids
KEYED: dict[str, SectionLoader] = {"attributes": _attribute_map, "segments": _segment_ids}
for _name, _loader in BUILT_IN.items():
    register_profile_section(_name, _loader)


def keyed_sections() -> dict[str, SectionLoader]:
    """The loaders of the keyed shape: ``KEYED`` in place of the built-in sections it names
    (a plugin that replaced one of them keeps its own loader), the others as registered."""
    return {name: KEYED[name] if name in KEYED and loader is BUILT_IN[name] else loader
            for name, loader in _SECTIONS.items()}
