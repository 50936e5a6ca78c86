"""The collect figures (issue 14): events/s accepted through ``POST /api/v1/events`` by one API
process at a concurrency of 16 (batches of ``BATCH`` events, a ``producer`` key), beside
``profile360 produce``'s events/s (its JSON-lines path in-process: parse, validate, send with
``acks=all``) on the same events, in the same run.

Both publish the workload's interactions again (same event ids): the worker applies them once,
so the step changes no table. The HTTP loops re-send the batches in turn for ``seconds``.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from bench import api_probe, workload
from bench.api_probe import Load, percentile
from bench.report import Figure
from profile360.cli.produce import produce
from profile360.events.codec import Codec
from profile360.settings import Settings

BATCH = 500


def json_events(codec: Codec, messages: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """The encoded interactions as a producer writes them in JSON (``profile360 produce``'s shape)."""
    out = []
    for _, value in messages:
        decoded = codec.decode(value)
        out.append({"$schema": decoded.name, **orjson.loads(orjson.dumps(decoded.record))})
    return out


async def produce_cli(settings: Settings, codec: Codec, events: list[dict]) -> float:
    """Seconds ``profile360 produce --topic interactions`` takes over ``events`` (in-process)."""
    lines = [orjson.dumps(e) for e in events]
    t0 = time.perf_counter()
    code = await produce(settings, codec, "interactions", lines)
    if code != 0:
        raise RuntimeError(f"profile360 produce exited {code}")
    return time.perf_counter() - t0


async def producer_headers(settings: Settings, tenant: str) -> dict[str, str]:
    """Headers of a fresh ``producer`` key of ``tenant``."""
    import asyncpg

    from profile360.store import api_keys

    conn = await asyncpg.connect(settings.database_url)
    try:
        key = await api_keys.create(conn, tenant, "producer", "bench")
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


@dataclass
class Posted:
    load: Load
    accepted: int

    @property
    def rate(self) -> float:
        return self.accepted / self.load.seconds if self.load.seconds else 0.0


async def post_batches(url: str, headers: dict[str, str], events: list[dict], seconds: float,
                       concurrency: int = 16) -> Posted:
    """``concurrency`` loops POSTing the batches of ``events`` in turn for ``seconds``; an answer
    other than 200 with every event accepted is an error."""
    bodies = [orjson.dumps({"events": events[i:i + BATCH]}) for i in range(0, len(events), BATCH)]
    latencies: list[float] = []
    errors: list[str] = []
    counts = {"next": 0, "accepted": 0}

    async def loop(session: aiohttp.ClientSession, deadline: float) -> None:
        while time.perf_counter() < deadline:
            body, counts["next"] = bodies[counts["next"] % len(bodies)], counts["next"] + 1
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if resp.status != 200:
                errors.append(f"HTTP {resp.status}: {answer[:200]!r}")
                continue
            latencies.append(time.perf_counter() - t0)
            counts["accepted"] += orjson.loads(answer)["accepted"]

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(loop(session, t0 + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    load = Load(len(latencies), len(errors), elapsed, percentile(latencies, 0.50) * 1000,
                percentile(latencies, 0.99) * 1000, errors[0] if errors else "")
    return Posted(load, counts["accepted"])


async def figures(settings: Settings, codec: Codec, messages: list[tuple[bytes, bytes]], seconds: float,
                  concurrency: int) -> list[Figure]:
    """The two rows: ``profile360 produce`` over the events once, then the HTTP loops."""
    events = json_events(codec, messages)
    if not events:
        return []
    took = await produce_cli(settings, codec, events)
    produced = len(events) / took
    rows = [Figure("Collect: `profile360 produce` (JSON lines → checked → Kafka, acks=all; in-process)", produced,
                   "events/s", f"{len(events):,} events in {took:.1f} s", role="info", key="produce_cli")]
    async with api_probe.serving_app(settings, 1) as base:
        headers = await producer_headers(settings, workload.TENANT)
        posted = await post_batches(base + "/api/v1/events", headers, events, seconds, concurrency)
    load = posted.load
    errors = f", {load.errors} errors (first: {load.first_error})" if load.errors else ""
    rows.append(Figure(
        f"Collect: POST /api/v1/events, batches of {BATCH}, concurrency {concurrency} (1 API process, acks=all)",
        posted.rate or None, "events/s", f"{posted.rate / produced:.0%} of profile360 produce's; per request p50 "
        f"{load.p50_ms:.0f} ms, p99 {load.p99_ms:.0f} ms, {load.requests:,} requests{errors}", role="info",
        key="collect_http", measures={"p99_ms": load.p99_ms},
        failure=f"{load.errors} errors: {load.first_error}" if not load.requests else None))
    return rows
