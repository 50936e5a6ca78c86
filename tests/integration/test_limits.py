"""The API's bounds under load (``api/limits.py``) on the real PostgreSQL: with every query
stuck behind a lock, requests beyond the in-flight cap are refused at once, requests that find
no free connection give up after the acquire timeout, and queries are cancelled by the
statement timeout; each answer is a 503 with its code and ``Retry-After``, the probes still
answer, and the same process serves normally once the lock goes."""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

import asyncpg
import pytest

from profile360.topics import ensure_topics

from . import workload
from .harness import InProcessWorker, lock_waiters, table_locked, wait_caught_up, wait_until
from .test_pipeline import api_client
from .test_profiles import publish_records

pytestmark = pytest.mark.integration
TENANT = "limits"
HISTORY = "/api/v1/interaction-history"


async def _answer(client) -> tuple[int, str, str, str | None]:
    resp = await client.get(HISTORY, params={"limit": "5"}, headers={"X-Tenant-Id": TENANT})
    body = await resp.json()
    error = body.get("error", {})
    return resp.status, error.get("code", ""), error.get("message", ""), resp.headers.get("Retry-After")


async def test_a_stuck_database_gets_503s_with_their_codes_and_the_process_recovers(settings):
    bounded = replace(settings, db_pool_size=2, db_acquire_timeout_ms=300, statement_timeout_ms=1500, api_max_in_flight=6)
    await ensure_topics(settings)
    await publish_records(settings, [("InteractionEvent", e) for e in workload.interactions(TENANT, 20)])
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=60)
    client = await api_client(bounded)
    try:
        assert (await _answer(client))[0] == 200  # also caches the caller's key
        async with table_locked(settings.database_url, "interaction_history"):
            answers = await asyncio.gather(*(_answer(client) for _ in range(10)))
            assert (await client.get("/healthz")).status == 200  # the probes are never refused
        kinds = Counter(("in flight" in message) if code == "overloaded" else code for _, code, message, _ in answers)
        assert all(status == 503 and retry == "1" for status, _, _, retry in answers), answers
        assert set(kinds) == {True, False, "query_timeout"}, answers  # shed, no connection in time, cancelled
        assert kinds["query_timeout"] <= bounded.db_pool_size and kinds[True] <= 10 - bounded.api_max_in_flight
        # the same process answers normally again: no connection was lost or left busy
        again = [await _answer(client) for _ in range(2 * bounded.db_pool_size)]
        assert [a[0] for a in again] == [200] * len(again), again
    finally:
        await client.close()


async def test_readyz_says_busy_not_unavailable_while_every_connection_serves(settings):
    """A process whose connections are all in use is serving at capacity, not down: ``/readyz``
    answers 200 ``busy`` (a load balancer that took it out would move its load onto the others)."""
    bounded = replace(settings, db_pool_size=1, statement_timeout_ms=60_000)
    await ensure_topics(settings)
    client = await api_client(bounded)
    watcher = await asyncpg.connect(settings.database_url)
    try:
        assert (await _answer(client))[0] == 200  # also caches the caller's key
        async with table_locked(settings.database_url, "interaction_history"):
            held = asyncio.create_task(_answer(client))  # holds the only connection, waiting on the lock
            await wait_until(lambda: lock_waiters(watcher), 30, "the request waiting on the lock")
            resp = await client.get("/readyz")
            body = await resp.json()
            assert (resp.status, body["status"]) == (200, "busy"), body
        assert (await held)[0] == 200
        resp = await client.get("/readyz")
        assert (resp.status, (await resp.json())["status"]) == (200, "ready")
    finally:
        await watcher.close()
        await client.close()

