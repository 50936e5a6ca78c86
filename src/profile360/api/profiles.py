"""Handler of the unified profile (seed 002's sections shape; seed 001's keyed shape on request)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from profile360.api import params, sections
from profile360.api.errors import ApiError, json_response
from profile360.api.keys import POOL
from profile360.store import profiles

SHAPES = ("sections", "keyed")


def _keyed(ref: profiles.ProfileRef, data: dict[str, Any], total: int | None) -> dict[str, Any]:
    """Seed 001: one key per section; interactions as ``totalCount`` + ``recentInteractions``;
    ``attributes`` and ``segments`` in the seed's forms (``sections.KEYED``)."""
    out: dict[str, Any] = {"customerId": ref.profile_id}
    for name, value in data.items():
        out[name] = {"totalCount": total, "recentInteractions": value} if name == "interactions" else value
    return out


async def unified_profile(request: web.Request) -> web.Response:
    tenant = params.tenant(request)
    ident = params.path_id(request)
    shape = params.choice(request, "shape", SHAPES, "sections")
    available = sections.keyed_sections() if shape == "keyed" else sections.sections()
    wanted = params.names(request, "sections", tuple(available))
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            ref = await profiles.resolve(conn, tenant, ident)
            if ref is None:
                raise ApiError(404, "not_found", f"no customer {ident!r} in tenant {tenant!r}", "id")
            data = {name: await available[name](conn, ref) for name in wanted}
            total = sum(b.n for _, _, b in await profiles.buckets(conn, ref)) if shape == "keyed" and "interactions" in data else None
    if shape == "keyed":
        return json_response(_keyed(ref, data, total))
    return json_response({"customerId": ref.profile_id, "tenantId": tenant,
                          "sections": [{"name": n, "data": d} for n, d in data.items()],
                          "computedAt": datetime.now(timezone.utc)})
