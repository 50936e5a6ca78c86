"""Unified-profile sections: the built-in ones and the extension point.

The built-in sections are rendered from the materialized profile (``Materialized``: no query
of their own). A plugin section is a name and an async loader ``loader(conn, ref) -> data``
(``ref`` is a ``store.profiles.ProfileRef``: tenant, profile id, identifier keys), run in the
read's snapshot; ``data`` must be JSON-serialisable (``datetime`` values are rendered as ISO
8601). Only the sections a request asks for are computed.

Plugins add sections with ``register_profile_section(name, loader)``, or without code in
profile360 by declaring an entry point in the group ``profile360.profile_sections`` (name = the
section name, object = the loader); ``discover()`` loads those when the API starts.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from importlib.metadata import entry_points
from typing import Any, Awaitable, Callable, Union

import asyncpg

from profile360.projections.read_models import ProfileView
from profile360.store.profiles import ProfileRef

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "profile360.profile_sections"
SectionLoader = Callable[[asyncpg.Connection, ProfileRef], Awaitable[Any]]
_NAME_RE = re.compile(r"[a-z][a-zA-Z0-9_]{0,63}")
_SECTIONS: dict[str, Union[SectionLoader, "Materialized"]] = {}


def register_profile_section(name: str, loader: Union[SectionLoader, "Materialized"], *, replace: bool = False) -> None:
    """Make ``name`` a profile section served by ``loader``; a name already taken is refused
    unless ``replace``."""
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"section name {name!r} must match {_NAME_RE.pattern}")
    if name in _SECTIONS and not replace:
        raise ValueError(f"profile section {name!r} is already registered")
    _SECTIONS[name] = loader


def sections() -> dict[str, Union[SectionLoader, "Materialized"]]:
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


class Materialized:
    """A built-in section: rendered from the materialized profile (``ProfileView``) and the UTC
    day, with no query of its own."""

    def __init__(self, render: Callable[[ProfileView, date], Any]):
        self.render = render


def is_materialized(loader: object) -> bool:
    return isinstance(loader, Materialized)


def today() -> date:
    return datetime.now(timezone.utc).date()


BUILT_IN: dict[str, Materialized] = {
    "identities": Materialized(lambda v, _: v.doc["identities"]),
    "attributes": Materialized(lambda v, _: v.profile_object()),
    "interactions": Materialized(lambda v, _: v.recent()),
    "metrics": Materialized(lambda v, day: v.metrics(day)),
    "segments": Materialized(lambda v, _: list(v.segments)),
    "journeys": Materialized(lambda v, _: v.doc["journeys"]),
    "experiments": Materialized(lambda v, _: v.doc["experiments"]),
    "consent": Materialized(lambda v, _: v.doc["consent"]),
}
#: seed 001's forms of the built-in sections whose keyed shape differs: a flat attribute map
#: and the list of segment ids
KEYED: dict[str, Materialized] = {
    "attributes": Materialized(lambda v, _: v.doc["attributeMap"]),
    "segments": Materialized(lambda v, _: [s["segmentId"] for s in v.segments]),
}
for _name, _loader in BUILT_IN.items():
    register_profile_section(_name, _loader)


def keyed_sections() -> dict[str, Union[SectionLoader, "Materialized"]]:
    """The loaders of the keyed shape: ``KEYED`` in place of the built-in sections it names
    (a plugin that replaced one of them keeps its own loader), the others as registered."""
    return {name: KEYED[name] if name in KEYED and loader is BUILT_IN[name] else loader
            for name, loader in _SECTIONS.items()}
