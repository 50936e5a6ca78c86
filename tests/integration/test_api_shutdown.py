"""Graceful shutdown of ``profile360 api`` (``bootstrap.run_api``): on SIGTERM a real API
process stops accepting connections at once, finishes every request in flight (here held
behind a table lock until after the signal) with its full answer, and exits 0."""
from __future__ import annotations

import asyncio
import signal

import aiohttp
import asyncpg
import pytest

from profile360.topics import ensure_topics

from . import workload
from .api_auth import make_key
from .harness import InProcessWorker, lock_waiters, serving, start_api_process, wait_caught_up, wait_until, worker_log
from .test_profiles import publish_records

pytestmark = pytest.mark.integration
TENANT = "drain"
IN_FLIGHT = 6


async def test_sigterm_finishes_the_requests_in_flight_and_refuses_new_ones(settings):
    await ensure_topics(settings)
    await publish_records(settings, [("InteractionEvent", e) for e in workload.interactions(TENANT, 30)])
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=60)
    key = await make_key(settings.database_url, TENANT, "viewer")
    # the requests wait on the lock for as long as the test needs, however slow the machine
    api = start_api_process(settings, P360_API_PROCESSES="1", P360_STATEMENT_TIMEOUT_MS="120000")
    blocker = await asyncpg.connect(settings.database_url)
    watcher = await asyncpg.connect(settings.database_url)  # outside the lock's transaction, whose view of
    try:                                                    # pg_stat_activity stays what it first read
        await serving(api, 1)
        url = api.base_url + "/api/v1/interaction-history?limit=100"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
            async with session.get(url) as resp:  # the key is looked up before the lock
                expected = await resp.json()
            tx = blocker.transaction()
            await tx.start()
            await blocker.execute("LOCK TABLE interaction_history IN ACCESS EXCLUSIVE MODE")
            requests = [asyncio.create_task(session.get(url)) for _ in range(IN_FLIGHT)]
            await wait_until(lambda: _at_least(watcher, IN_FLIGHT), 30, "the requests waiting on the lock")
            api.send_signal(signal.SIGTERM)
            await wait_until(lambda: _refused(api.base_url), 30, "new connections refused")
            assert api.poll() is None and not any(r.done() for r in requests)  # still finishing them
            await tx.rollback()  # the lock goes: the requests in flight complete
            for resp in await asyncio.gather(*requests):
                assert resp.status == 200 and await resp.json() == expected
        assert await asyncio.to_thread(api.wait, 30) == 0, worker_log(api)
        assert "API stopped" in worker_log(api)
    finally:
        if api.poll() is None:
            api.kill()
        await blocker.close()
        await watcher.close()


async def _at_least(conn: asyncpg.Connection, n: int) -> bool:
    return await lock_waiters(conn) >= n


async def _refused(base_url: str) -> bool:
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
            async with fresh.get(base_url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)):
                return False
    except aiohttp.ClientConnectorError:
        return True
