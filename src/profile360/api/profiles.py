"""Handler of the unified profile (seed 002's sections shape; seed 001's keyed shape on request).

Built-in sections come from the materialized profile: one statement, then rendering, which a
matching ``If-None-Match`` skips (304). An answer with plugin sections is read in one snapshot
and tagged from its body.
"""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from profile360 import jsonfmt
from profile360.api import etags, params, sections
from profile360.api.errors import ApiError, json_response
from profile360.api.keys import POOL
from profile360.store import profiles
from profile360.store.profiles import ProfileRef

SHAPES = ("sections", "keyed")


def _keyed(profile_id: str, data: dict[str, Any], total: int | None) -> dict[str, Any]:
    """Seed 001: one key per section; interactions as ``totalCount`` + ``recentInteractions``;
    ``attributes`` and ``segments`` in the seed's forms (``sections.KEYED``)."""
    out: dict[str, Any] = {"customerId": profile_id}
    for name, value in data.items():
        out[name] = {"totalCount": total, "recentInteractions": value} if name == "interactions" else value
    return out


async def load(conn: Any, tenant: str, ident: str) -> profiles.Loaded:
    loaded = await profiles.load(conn, tenant, ident)
    if loaded is None:
        raise ApiError(404, "not_found", f"no customer {ident!r} in tenant {tenant!r}", "id")
    return loaded


async def unified_profile(request: web.Request) -> web.StreamResponse:
    tenant, ident = params.tenant(request), params.path_id(request)
    shape = params.choice(request, "shape", SHAPES, "sections")
    available = sections.keyed_sections() if shape == "keyed" else sections.sections()
    wanted = params.names(request, "sections", tuple(available))
    plugins = [n for n in wanted if not sections.is_materialized(available[n])]
    day = sections.today()
    async with request.app[POOL].acquire() as conn:
        snapshot = conn.transaction(isolation="repeatable_read", readonly=True) if plugins else contextlib.nullcontext()
        async with snapshot:
            loaded = await load(conn, tenant, ident)
            tag = etags.make(loaded.tag, shape, *wanted, day.isoformat())
            if not plugins and etags.matches(request, tag):
                return etags.not_modified(tag)
            view = loaded.view
            ref = ProfileRef(tenant, view.profile_id, tuple(view.doc["keys"]))
            data = {name: available[name].render(view, day) if name not in plugins else await available[name](conn, ref)
                    for name in wanted}
    if shape == "keyed":
        body = _keyed(view.profile_id, data, view.total() if "interactions" in data else None)
    else:
        body = {"customerId": view.profile_id, "tenantId": tenant,
                "sections": [{"name": n, "data": d} for n, d in data.items()], "computedAt": datetime.now(timezone.utc)}
    if plugins:  # tagged from what the plugins answered too
        tag = etags.make(tag, jsonfmt.dumps(data))
        if etags.matches(request, tag):
            return etags.not_modified(tag)
    return etags.tagged(json_response(body), tag)
