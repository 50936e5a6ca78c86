"""How the API holds under more load than it can serve: every wait is bounded, and the excess
is refused at once rather than queued.

- **In flight** (``P360_API_MAX_IN_FLIGHT``, per process): a request beyond the cap is answered
  503 ``overloaded`` before any work of its route (no parsing of its parameters, no database).
  It comes after authentication (a cached key lookup) and the rate limits, so a request beyond
  its key's or tenant's rate never takes a place and a flooding tenant cannot fill the cap for
  the others. The health probes are never refused.
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
from typing import Any, Generator

import asyncpg
from aiohttp import web

#: paths answered whatever the load (liveness and readiness probes, and the metrics scrape:
#: an overload is when they are needed most; none of them waits for the database's pool)
NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


class Overloaded(Exception):
    """No capacity for this request now: answered 503 ``overloaded``."""


class BoundedPool:
    """An asyncpg pool whose ``acquire`` waits at most ``timeout`` seconds by default, then
    raises ``Overloaded``; everything else is the pool's. ``acquire()`` is used as asyncpg's
    is: ``async with pool.acquire() as conn``, or ``conn = await pool.acquire()`` and
    ``pool.release(conn)``."""

    def __init__(self, pool: asyncpg.Pool, timeout: float):
        self._pool, self.timeout = pool, timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def acquire(self, timeout: float | None = None) -> "_Acquire":
        return _Acquire(self._pool, self.timeout if timeout is None else timeout)


class _Acquire:
    def __init__(self, pool: asyncpg.Pool, timeout: float):
        self.pool, self.timeout = pool, timeout
        self.conn: asyncpg.Connection | None = None

    async def _get(self) -> asyncpg.Connection:
        try:
            return await self.pool.acquire(timeout=self.timeout)
        except asyncio.TimeoutError:
            raise Overloaded(f"no database connection was free within {self.timeout * 1000:.0f} ms") from None

    def __await__(self) -> Generator[Any, None, asyncpg.Connection]:
        return self._get().__await__()

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await self._get()
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        await self.pool.release(self.conn)


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
