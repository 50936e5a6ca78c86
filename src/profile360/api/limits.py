"""How the API holds under more load than it can serve: every wait is bounded, and the excess
is refused at once rather than queued.

- **In flight** (``P360_API_MAX_IN_FLIGHT``, per process): a request beyond the cap is answered
  503 ``overloaded`` before any work (no parsing, no authentication, no database); the health
  probes are never refused.
- **A pooled connection** (``P360_DB_ACQUIRE_TIMEOUT_MS``): a request waits at most this long
  for one of the pool's connections, then is answered 503 ``overloaded``.
- **A query** (``P360_STATEMENT_TIMEOUT_MS``, PostgreSQL's ``statement_timeout`` on every API
  connection): a query running longer is cancelled by the server, which frees its connection,
  and the request is answered 503 ``query_timeout``.

Every 503 carries ``Retry-After`` (``errors.error_response``). The worker's connections have
no statement timeout: a batch may legitimately run long.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import asyncpg
from aiohttp import web

#: paths answered whatever the load (liveness and readiness probes)
NEVER_SHED = frozenset({"/healthz", "/readyz"})


class Overloaded(Exception):
    """No capacity for this request now: answered 503 ``overloaded``."""


class BoundedPool:
    """An asyncpg pool whose ``acquire`` waits at most ``timeout`` seconds by default, then
    raises ``Overloaded``; everything else is the pool's."""

    def __init__(self, pool: asyncpg.Pool, timeout: float):
        self._pool, self.timeout = pool, timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    @asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        wait = self.timeout if timeout is None else timeout
        try:
            conn = await self._pool.acquire(timeout=wait)
        except asyncio.TimeoutError:
            raise Overloaded(f"no database connection was free within {wait * 1000:.0f} ms") from None
        try:
            yield conn
        finally:
            await self._pool.release(conn)


def in_flight_cap(limit: int, shed: Any) -> Any:
    """A middleware admitting at most ``limit`` requests at a time; ``shed(request)`` answers
    the others (a 503 ``overloaded``)."""
    admitted = 0

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        nonlocal admitted
        if admitted >= limit and request.path not in NEVER_SHED:
            return shed(request)
        admitted += 1
        try:
            return await handler(request)
        finally:
            admitted -= 1

    return middleware
