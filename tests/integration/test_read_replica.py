"""Read scale-out on a real streaming replica (``DATABASE_READ_URL``): reads answer from the
replica, commands and ``X-P360-Min-Position`` wait for the replica, so callers read their own
writes there; a replica whose replay is paused keeps a read waiting, then 503
``not_yet_applied``, and 200 once replay resumes; a replica that is down is 503
``database_unavailable`` like the primary."""
from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

import asyncpg
import pytest

from .api_auth import make_key
from .harness import InProcessWorker, wait_until
from .test_pipeline import api_client

pytestmark = pytest.mark.integration
H = {"X-Tenant-Id": "acme"}
BASE = "/api/v1/organizations/acme/customers"


@contextlib.asynccontextmanager
async def replay_paused(replica_url: str) -> AsyncIterator[None]:
    """The replica keeps receiving the primary's WAL but replays none of it meanwhile."""
    conn = await asyncpg.connect(replica_url)
    try:
        await conn.execute("SELECT pg_wal_replay_pause()")
        await wait_until(lambda: conn.fetchval("SELECT pg_get_wal_replay_pause_state() = 'paused'"), 30, "replay paused")
        yield
    finally:
        await conn.execute("SELECT pg_wal_replay_resume()")
        await conn.close()


async def on_primary(settings, uuid: str) -> bool:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM org_customers WHERE customer_uuid = $1", uuid) == 1
    finally:
        await conn.close()


async def _write_then_read(client) -> None:
    """With replay running: a segment PUT and a customer POST, each read back with its position."""
    resp = await client.put("/api/v1/segments/vip", json={"name": "VIP", "rule": "count(purchase) >= 1"}, headers=H)
    assert resp.status == 201, await resp.text()
    resp = await client.get("/api/v1/segments/vip", headers={**H, "X-P360-Min-Position": resp.headers["X-P360-Position"]})
    assert (resp.status, (await resp.json())["name"]) == (200, "VIP")
    resp = await client.post(BASE, json={"full_name": "Ada Lovelace"}, headers=H)
    assert resp.status == 201, await resp.text()
    uuid = (await resp.json())["customers"][0]["uuid"]
    resp = await client.get(f"{BASE}/{uuid}", headers={**H, "X-P360-Min-Position": resp.headers["X-P360-Position"]})
    assert (resp.status, (await resp.json())["customers"][0]["full_name"]) == (200, "Ada Lovelace")


async def _while_replay_is_paused(client, settings) -> tuple[str, str]:
    """A customer POST while the replica replays nothing: the write reaches the primary, not the
    reads; returns its location and position."""
    async with replay_paused(settings.database_read_url):
        resp = await client.post(BASE, json={"full_name": "Grace Hopper"}, headers=H)
        assert resp.status == 202, "the command waits for the replica, where the caller reads next"
        body, position = await resp.json(), resp.headers["X-P360-Position"]
        await wait_until(lambda: on_primary(settings, body["uuid"]), 30, "the worker to apply the write")
        resp = await client.get(body["location"], headers=H)
        assert resp.status == 404, "on the primary, not yet on the replica the API reads from"
        resp = await client.get(body["location"], headers={**H, "X-P360-Min-Position": position})
        assert (resp.status, (await resp.json())["error"]["code"]) == (503, "not_yet_applied")
        assert resp.headers["Retry-After"] == "1"
        fresh = {"Authorization": f"Bearer {await make_key(settings.database_url, 'acme', 'viewer')}"}
        assert (await client.get(BASE, headers=fresh)).status == 200, "keys are looked up on the primary"
        ready = await (await client.get("/readyz")).json()
        assert ready["replica"]["replayPaused"] is True and ready["replica"]["replayLagBytes"] > 0, ready
    return body["location"], position


async def test_reads_come_from_the_replica_and_callers_read_their_own_writes_there(replicated):
    async with InProcessWorker(replicated):  # the default command wait: the first one waits for the group to form
        client = await api_client(replicated)
        try:
            await _write_then_read(client)
            location, position = await _while_replay_is_paused(client, replicated)

            async def served() -> bool:
                resp = await client.get(location, headers={**H, "X-P360-Min-Position": position})
                return resp.status == 200 and (await resp.json())["customers"][0]["full_name"] == "Grace Hopper"

            await wait_until(served, 30, "the read once replay resumed")
            ready = await (await client.get("/readyz")).json()
            assert ready["status"] == "ready" and ready["replica"]["replayPaused"] is False, ready
        finally:
            await client.close()


async def test_a_replica_that_is_down_answers_503_database_unavailable_until_it_is_back(replicated, replica):
    client = await api_client(replicated)
    try:
        assert (await client.get(BASE, headers=H)).status == 200
        await asyncio.to_thread(replica.stop)
        try:
            resp = await client.get(BASE, headers=H)
            assert (resp.status, (await resp.json())["error"]["code"]) == (503, "database_unavailable")
            assert resp.headers["Retry-After"] == "1"
            resp = await client.get("/readyz")
            assert resp.status == 503 and (await resp.json())["status"] == "unavailable"
        finally:
            await asyncio.to_thread(replica.start)

        async def served() -> bool:
            return (await client.get(BASE, headers=H)).status == 200

        await wait_until(served, 30, "reads once the replica is back")
    finally:
        await client.close()
