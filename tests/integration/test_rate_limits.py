"""Fair sharing between tenants (``api/rates.py``) on a real ``profile360 api`` process: one
tenant floods with a key of its own rate (``keys create --rate``), gets ``429 rate_limited``
with ``Retry-After`` and the ``RateLimit-*`` headers beyond it, and another tenant's p99 stays
within 5 times the p99 it measured alone just before, in the same run."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import aiohttp
import asyncpg
import orjson
import pytest

from profile360.store import api_keys
from profile360.topics import ensure_topics

from . import workload
from .api_auth import make_key
from .harness import InProcessWorker, serving, start_api_process, stop_process, wait_caught_up, worker_log
from .test_profiles import publish_records

pytestmark = pytest.mark.integration
FLOODER, QUIET = "flood", "quiet"
RATE = 50  # requests per second of the flooding key, and its burst
FLOODERS = 4  # connections flooding at full speed: far beyond RATE (thousands of requests per second)
SAMPLES = 300  # the quiet tenant's requests per measurement (no limit of its own)
HISTORY = "/api/v1/interaction-history?limit=5"


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def quiet_latencies(session: aiohttp.ClientSession, url: str, key: str, n: int) -> list[float]:
    """``n`` requests of the quiet tenant one after another; each must succeed."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.get(url, headers={"Authorization": f"Bearer {key}"}) as resp:
            assert resp.status == 200, await resp.text()
            await resp.read()
        out.append(time.perf_counter() - t0)
    return out


async def flood(session: aiohttp.ClientSession, url: str, key: str, until: asyncio.Event) -> list[tuple[int, dict, bytes]]:
    answers = []
    while not until.is_set():
        async with session.get(url, headers={"Authorization": f"Bearer {key}"}) as resp:
            answers.append((resp.status, resp.headers, await resp.read()))
    return answers


async def test_a_flooding_tenant_is_limited_and_the_other_keeps_its_latency(settings):
    limited = replace(settings, rate_limit_per_tenant=0, rate_limit_per_key=0)
    await ensure_topics(settings)
    await publish_records(settings, [("InteractionEvent", e) for t in (FLOODER, QUIET)
                                     for e in workload.interactions(t, 50, prefix=f"{t}-ev")])
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=60)
    keys = {QUIET: await make_key(settings.database_url, QUIET, "viewer")}
    conn = await asyncpg.connect(settings.database_url)
    try:
        keys[FLOODER] = await api_keys.create(conn, FLOODER, "viewer", "flood", rate=RATE)
    finally:
        await conn.close()
    api = start_api_process(limited, P360_API_PROCESSES="1")
    try:
        await serving(api, 1)
        url = api.base_url + HISTORY
        async with aiohttp.ClientSession() as session:
            await quiet_latencies(session, url, keys[QUIET], 20)  # warm: connections, key cache
            alone = p99(await quiet_latencies(session, url, keys[QUIET], SAMPLES))
            stop = asyncio.Event()
            flooders = [asyncio.create_task(flood(session, url, keys[FLOODER], stop)) for _ in range(FLOODERS)]
            started = time.perf_counter()
            crowded = p99(await quiet_latencies(session, url, keys[QUIET], SAMPLES))
            stop.set()
            answers = [a for f in flooders for a in await f]
            elapsed = time.perf_counter() - started
    finally:
        assert stop_process(api) == 0, worker_log(api)
    ok = [a for a in answers if a[0] == 200]
    refused = [a for a in answers if a[0] == 429]
    assert len(ok) + len(refused) == len(answers), {a[0] for a in answers}
    assert refused and len(ok) <= RATE * (1 + elapsed) + 1, (len(ok), len(refused), elapsed)
    for _, headers, body in refused[:50]:
        assert orjson.loads(body)["error"]["code"] == "rate_limited" and int(headers["Retry-After"]) >= 1
        assert headers["RateLimit-Limit"] == str(RATE) and headers["RateLimit-Remaining"] == "0"
    assert all(int(h["RateLimit-Remaining"]) < RATE for _, h, _ in ok)
    assert crowded <= 5 * alone, f"quiet tenant's p99 {crowded * 1000:.1f} ms crowded, {alone * 1000:.1f} ms alone"
