"""``GET /api/v1/customers/{id}``: the customer in seed 004's support-desk shape, from the
materialized profile (one statement; a matching ``If-None-Match`` answers 304)."""
from __future__ import annotations

from aiohttp import web

from profile360.api import etags, params
from profile360.api.errors import json_response
from profile360.api.keys import POOL
from profile360.api.profiles import load


async def get_customer(request: web.Request) -> web.StreamResponse:
    tenant, ident = params.tenant(request), params.path_id(request)
    async with request.app[POOL].acquire() as conn:
        loaded = await load(conn, tenant, ident)
    tag = etags.make(loaded.tag, "desk")  # no part of it depends on the day
    if etags.matches(request, tag):
        return etags.not_modified(tag)
    return etags.tagged(json_response(loaded.view.desk()), tag)
