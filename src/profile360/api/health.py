"""Liveness and readiness.

``/readyz`` answers 200 ``ready`` when the database answers, with each consumer's stored
progress and the live worker's lag; 200 ``busy`` when every pooled connection stayed in use for
2 s (the process is serving at capacity: taking it out of a load balancer would only move its
load onto the others); 503 ``unavailable`` when the database does not answer;
503 ``stalled`` when the worker has applied nothing to a partition for ``P360_STALL_SECONDS``
while a record there has waited longer than that (a worker that is down, hung or failing on
every batch). The lag is looked up at most once a second per process; when Kafka does not
answer within 2 s the answer stays 200 and says so (reads do not need Kafka). When reads go to
a replica (``DATABASE_READ_URL``), ``replica`` says how far its replay is behind the primary
(``replayLagBytes`` of WAL) and whether replay is paused; a replica that does not answer makes
the API unavailable as the primary does.
"""
from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from aiohttp import web

from profile360 import status
from profile360.api.errors import json_response
from profile360.api.keys import POOL, PRIMARY, SCHEMA_VERSION, SETTINGS
from profile360.api.limits import Overloaded
from profile360.outages import describe
from profile360.settings import Settings
from profile360.store import reads
from profile360.worker import progress

KAFKA_TIMEOUT = 2.0


class LagProbe:
    """The live worker's lag and stalled partitions, computed at most once a second."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.at = float("-inf")
        self.last: dict[str, Any] = {}

    async def check(self, settings: Settings, stored: dict) -> dict[str, Any]:
        async with self.lock:
            if time.monotonic() - self.at >= 1.0:
                try:
                    self.last = await asyncio.wait_for(_lag(settings, stored), KAFKA_TIMEOUT)
                except Exception as exc:  # Kafka away: no verdict on the worker
                    self.last = {"kafka": f"unavailable ({describe(exc)})"}
                self.at = time.monotonic()
            return self.last


async def _lag(settings: Settings, stored: dict) -> dict[str, Any]:
    starts, ends = await progress.log_bounds(settings)
    now = time.time()
    suspects = progress.suspects(now, settings.stall_seconds, stored, starts, ends)
    stalled = progress.stalled(now, settings.stall_seconds, await progress.record_times(settings, suspects))
    lag = sum(status.lag_of(stored.get(tp, (0, None))[0], starts.get(tp, 0), end) for tp, end in ends.items())
    return {"kafka": "ok", "lag": lag,
            "stalled": [{"topic": t, "partition": p, "waitingSeconds": s} for (t, p), s in sorted(stalled.items())]}


PROBE = web.AppKey("lag_probe", LagProbe)


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving; ``pid`` tells the processes of ``api --processes N`` apart."""
    return json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    """Ready, unavailable or stalled (see the module's docstring)."""
    settings = request.app[SETTINGS]
    try:
        async with request.app[PRIMARY].acquire(timeout=2) as conn:
            consumers = await reads.readiness(conn)
            stored = await progress.positions_with_times(conn, settings.consumer_group)
    except Overloaded:  # every connection busy serving: ready, and saying so
        return json_response({"status": "busy", "database": "every pooled connection is in use"})
    except Exception as exc:  # any failure to reach the database means not ready
        return _not_ready({"status": "unavailable", "database": describe(exc)})
    try:
        replica = await _replica(request.app)
    except Overloaded:
        return json_response({"status": "busy", "database": "ok", "replica": {"database": "every pooled connection is in use"}})
    except Exception as exc:
        return _not_ready({"status": "unavailable", "database": "ok", "replica": {"database": describe(exc)}})
    worker = await request.app[PROBE].check(settings, stored)
    body = {"status": "stalled" if worker.get("stalled") else "ready", "database": "ok",
            "schemaVersion": request.app[SCHEMA_VERSION], "consumers": consumers, "worker": worker,
            **({"replica": replica} if replica else {})}
    return _not_ready(body) if worker.get("stalled") else json_response(body)


async def _replica(app: web.Application) -> dict[str, Any] | None:
    """The read replica's replay state, or None when reads go to the primary."""
    if app[POOL] is app[PRIMARY]:
        return None
    async with app[POOL].acquire(timeout=2) as conn:
        replayed, paused = await conn.fetchrow(
            "SELECT pg_last_wal_replay_lsn()::text, CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END")
    if replayed is None:  # promoted, or a primary named as the replica
        return {"database": "ok", "inRecovery": False}
    async with app[PRIMARY].acquire(timeout=2) as conn:
        behind = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint", replayed)
    return {"database": "ok", "inRecovery": True, "replayLagBytes": max(0, behind), "replayPaused": paused}


def _not_ready(body: dict) -> web.Response:
    response = json_response(body, 503)
    response.headers["Retry-After"] = "5"
    return response
