"""``DELETE /api/v1/customers/{id}``: GDPR erasure as a command (seed 001's response shape).

The handler resolves the profile, publishes an ``ErasureRequested`` naming each of its
identifiers only by hash, and waits (``command_wait_ms``) until the worker has applied it.
Answers 200 with the per-table counts the worker deleted, or 202 with where to look when the
wait ran out (the erasure still happens: it is in the topic).
"""
from __future__ import annotations

from typing import Any, Iterable

import orjson
from aiohttp import web

from profile360.api import commands, params
from profile360.api.errors import ApiError, json_response
from profile360.api.keys import POOL, PRIMARY
from profile360.api.auth import PRINCIPAL
from profile360.events.erasure import erasure_from_record
from profile360.events.rules import InvalidEvent, new_envelope
from profile360.projections.erasure import subject_of
from profile360.store import profiles

_LOG = "SELECT deleted FROM erasure_log WHERE tenant_id = $1 AND erasure_id = $2"


async def erase_customer(request: web.Request) -> web.Response:
    tenant, ident = params.tenant(request), params.path_id(request)
    async with request.app[PRIMARY].acquire() as conn:
        ref = await profiles.resolve(conn, tenant, ident)
    if ref is None:
        raise ApiError(404, "not_found", f"no customer {ident!r} in tenant {tenant!r}", "id")
    return await erase(request, tenant, ref.keys, "id")


async def erase(request: web.Request, tenant: str, keys: Iterable[str], field: str) -> web.Response:
    """Publish the erasure of the identifier ``keys`` (as hashes), wait for the worker, answer
    with what it deleted (or 202). Shared by every erasure route."""
    keys = sorted(keys)
    event = {**new_envelope(tenant, "erasure"), "subjects": [subject_of(tenant, k) for k in keys],
             "customerId": None, "requestedBy": f"key:{request[PRINCIPAL].key_id}"}
    try:
        erasure_from_record(event)  # what the worker will check: never publish what it would dead-letter
    except InvalidEvent as exc:
        raise ApiError(422, "cannot_erase", f"this customer cannot be erased by one request: {exc.problem}", field) from None
    pos = await commands.publish(request.app, "erasure", "ErasureRequested", event)
    found: dict[str, Any] = {}

    async def check(conn: Any) -> bool:
        found["deleted"] = await conn.fetchval(_LOG, tenant, event["eventId"])
        return found["deleted"] is not None

    body = {"success": True, "erasureId": event["eventId"], "identifiers": len(keys)}
    if await commands.wait_applied(request.app, request.app[POOL], check):
        response = json_response({**body, "deleted": orjson.loads(found["deleted"])})
    else:
        response = json_response({**body, "status": "accepted"}, 202)
    response.headers["X-P360-Position"] = str(pos)
    return response
