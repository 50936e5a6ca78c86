"""Time-driven work of the worker: re-evaluating segments whose rules read sliding windows, and
moving the maintained summary windows to a new day (``rebase_windows``, run by an idle worker).

A rule such as ``count(purchase, 30) >= 3`` can stop holding with no new event, only because
days pass. Every ``segment_refresh_seconds`` the worker re-evaluates such segments for every
profile of their tenant, a chunk of profiles per transaction (each under the tenant lock, so
batches of that tenant wait at most one chunk).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import asyncpg

from profile360.outages import riding_out
from profile360.store import counters, generations, segments, windows

log = logging.getLogger(__name__)


async def refresh_windowed_segments(pool: asyncpg.Pool, live: bool = True) -> int:
    """One pass over every tenant with windowed segments; returns the profiles evaluated.
    ``live``: in the current generation, else in the one ``pool``'s search_path names."""
    async with pool.acquire() as conn:
        tenants = [r["tenant_id"] for r in await conn.fetch(
            "SELECT DISTINCT tenant_id FROM segment_definitions WHERE windowed AND NOT deleted ORDER BY tenant_id")]
    done = 0
    for tenant_id in tenants:
        async with pool.acquire() as conn:
            pids = await segments.all_profiles(conn, tenant_id)
        for i in range(0, len(pids), segments.CHUNK):
            async with pool.acquire() as conn, conn.transaction():
                if live:
                    await generations.enter_current(conn)
                await segments.refresh(conn, tenant_id, pids[i:i + segments.CHUNK], windowed_only=True)
        done += len(pids)
    return done


async def refresh_derived(pool: asyncpg.Pool) -> None:
    """Recompute the derived read tables (``generations.PROJECTIONS["overview"]``) of every
    tenant from the base tables of the generation ``pool``'s search_path names, one tenant per
    transaction (the end of a rebuild, whole or of some projections: copied or partly replayed
    rows are replaced)."""
    async with pool.acquire() as conn:
        tenants = [r[0] for r in await conn.fetch("SELECT tenant_id FROM identity_nodes UNION SELECT tenant_id FROM "
                                                  "customer_daily UNION SELECT tenant_id FROM profile_activity ORDER BY 1")]
    for tenant_id in tenants:
        async with pool.acquire() as conn, conn.transaction():
            await counters.refresh_all(conn, tenant_id)


async def rebase_windows(pool: asyncpg.Pool, live: bool = True) -> int:
    """Move the maintained windows of every tenant whose windows end before today (UTC) to
    today, one transaction per tenant (see ``store.windows``); returns how many."""
    today = datetime.now(timezone.utc).date()
    async with pool.acquire() as conn:
        async with conn.transaction():
            if live:
                await generations.enter_current(conn)
            tenants = await windows.stale(conn, today)
        for tenant_id in tenants:
            async with conn.transaction():
                if live:
                    await generations.enter_current(conn)
                await windows.rebase(conn, tenant_id, today)
    return len(tenants)


async def every(seconds: float, stopping: asyncio.Event, pool: asyncpg.Pool) -> None:
    """Run ``refresh_windowed_segments`` every ``seconds`` until ``stopping``. A pass that meets
    an outage is repeated with backoff until the database is back (a pass is idempotent); a pass
    that fails otherwise is logged and tried again at the next tick."""
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), seconds)
            return
        except asyncio.TimeoutError:
            pass
        try:
            n = await riding_out(refresh_windowed_segments, pool, what="windowed segment refresh", stopping=stopping)
            log.info("windowed segments re-evaluated for %d profiles", n)
        except Exception:
            log.exception("windowed segment refresh failed; retrying in %.1fs", seconds)
