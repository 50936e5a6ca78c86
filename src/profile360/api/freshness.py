"""Read-your-writes: a read that sends ``X-P360-Min-Position`` (the ``X-P360-Position`` a write
answered with) is served once the worker has applied that position, waiting at most
``P360_COMMAND_WAIT_MS``; if it has not by then, the answer is 503 ``not_yet_applied`` with
``Retry-After``, never a view older than the caller's own write."""
from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

from profile360.api import commands
from profile360.api.errors import ApiError
from profile360.api.keys import POOL, SETTINGS
from profile360.topics import RECORDS_BY_FAMILY

HEADER = "X-P360-Min-Position"


@web.middleware
async def at_least(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    raw = request.headers.get(HEADER)
    if raw is None or request.method not in ("GET", "HEAD"):
        return await handler(request)
    pos = commands.Position.parse(raw)
    settings = request.app[SETTINGS]
    if pos is None or pos.topic not in {settings.topic(f) for f in RECORDS_BY_FAMILY}:
        raise ApiError(400, "invalid_parameter", f"{HEADER}: expected topic/partition/offset of one of this service's "
                       "topics, as a write returned it", HEADER)

    async def check(conn) -> bool:
        return await commands.applied(request.app, conn, pos)

    if not await commands.wait_applied(request.app, request.app[POOL], check):
        raise ApiError(503, "not_yet_applied", f"{HEADER}: {pos} is not applied yet; retry shortly", HEADER)
    return await handler(request)
