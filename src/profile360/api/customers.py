"""``GET /api/v1/customers/{id}``: the customer in seed 004's support-desk shape."""
from __future__ import annotations

from aiohttp import web

from profile360.api import params
from profile360.api.errors import ApiError, json_response
from profile360.api.keys import POOL
from profile360.projections.support_desk import customer
from profile360.store import profiles


async def get_customer(request: web.Request) -> web.Response:
    tenant, ident = params.tenant(request), params.path_id(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            ref = await profiles.resolve(conn, tenant, ident)
            if ref is None:
                raise ApiError(404, "not_found", f"no customer {ident!r} in tenant {tenant!r}", "id")
            nodes, _ = await profiles.identity_rows(conn, ref)
            facts = await profiles.facts(conn, ref, "trait", "tag", "consent", "experiment", "journey")
            first, last = await profiles.activity(conn, ref)
    times = [t for t in (first, last, *(n["occurred_at"] for n in nodes), *(f.occurred_at for f in facts)) if t]
    return json_response(customer(ref.profile_id, ref.customer_ids, list(nodes),
                                  [f for f in facts if f.kind == "trait"], times))
