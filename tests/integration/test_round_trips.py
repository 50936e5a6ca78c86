"""Statements sent to PostgreSQL per request on the cheap read routes (issue 12).

Each statement is a round trip: a socket write, a wake-up of the server and of the API, the
largest single cost of these routes in the API process's profile (BENCHMARKS.md, "API
per-request costs"). A route reading one table answers with one statement (its own
snapshot); a route reading several does so in one read-only transaction (BEGIN, its reads,
COMMIT); no route adds a reset query when it gives its connection back.
"""
from __future__ import annotations

from datetime import datetime, timezone

import asyncpg
import pytest

from profile360.api.keys import POOL
from profile360.events.definitions import TenantConfigured
from profile360.events.model import Interaction
from profile360.store import profiles
from profile360.store.writer import Entry, apply_batch

from .test_pipeline import api_client

pytestmark = pytest.mark.integration

H = {"X-Tenant-Id": "acme"}


async def _log_statements(client) -> list[str]:
    """Every statement any of the app's pooled connections sends from now on."""
    pool = client.app[POOL]
    conns = [await pool.acquire() for _ in range(pool.get_max_size())]
    sent: list[str] = []
    for conn in conns:
        # asyncpg looks up the profile statement's record types once per connection (two more
        # statements, on its first use only): done here, as a connection's first request would
        await profiles.load(conn, "acme", "c1")
        conn.add_query_logger(lambda q: sent.append(" ".join(q.query.split())[:60]))
        await pool.release(conn)
    sent.clear()
    return sent


async def _module_on(settings) -> None:
    """The Customer 360 module on for acme, and one interaction of customer c1."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        gate = TenantConfigured("gate-1", "acme", datetime.now(timezone.utc), is_customer360=True)
        await apply_batch(conn, "tests", [Entry(settings.topic("definitions"), 0, 0, gate)])
        seen = Interaction("i-1", "acme", datetime.now(timezone.utc), "c1", "click", value=2.5)
        await apply_batch(conn, "tests", [Entry(settings.topic("interactions"), 0, 0, seen)])
    finally:
        await conn.close()


@pytest.mark.parametrize(("path", "statements"), [
    ("/api/v1/interaction-history?limit=20", 1),  # total and page in one statement
    ("/api/v1/interaction-history?limit=20&type=click", 1),
    ("/api/v1/interaction-summary?groupBy=action", 1),
    ("/api/v1/interaction-summary?groupBy=channel", 1),
    ("/api/v1/interaction-history?customerId=c1", 4),  # BEGIN, the customer's ids, total and page, COMMIT
    ("/en/api/customer360", 5),  # BEGIN, the module gate, the counters, the top segments, COMMIT
    ("/api/v1/customers/c1/unified-profile", 1),  # the materialized profile, every section
    ("/api/v1/customers/c1/unified-profile?shape=keyed", 1),
    ("/api/v1/customers/c1", 1),
    ("/en/api/customer360/customers/c1", 2),  # the module gate, the materialized profile
])
async def test_cheap_reads_send_only_their_own_statements(settings, path, statements):
    await _module_on(settings)
    client = await api_client(settings)
    try:
        assert (await client.get(path, headers=H)).status == 200  # the key is verified (and cached) here
        sent = await _log_statements(client)
        resp = await client.get(path, headers=H)
        assert resp.status == 200, await resp.text()
        assert len(sent) == statements, sent
    finally:
        await client.close()
