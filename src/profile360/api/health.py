"""Liveness and readiness."""
from __future__ import annotations

from aiohttp import web

from profile360.api.errors import json_response
from profile360.api.keys import POOL, SCHEMA_VERSION
from profile360.store import reads


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when the database answers; reports the schema version and each consumer's stored progress."""
    try:
        async with request.app[POOL].acquire(timeout=2) as conn:
            consumers = await reads.readiness(conn)
    except Exception as exc:  # any failure to reach the database means not ready
        return json_response({"status": "unavailable", "database": f"{type(exc).__name__}: {exc}"}, 503)
    return json_response({"status": "ready", "database": "ok", "schemaVersion": request.app[SCHEMA_VERSION],
                          "consumers": consumers})
