"""The mixed workload (identity, consent and interactions at once), the freshness of the API
under it, and the unified profile under concurrent load.

Workload (deterministic for a seed): one Identify per customer (customer id, an email in
mixed case, a UAE mobile for every third, traits, a gold tier for 10 %), a 0.9-confidence
Link joining every 20th customer to the next (5 % of profiles merge two customers), and an
email marketing consent for 60 % of customers; plus fresh interactions over the same customers.

Freshness: a burst measures throughput, not freshness (a marker waits for the whole backlog).
So after the burst, more of the same mix is published at a steady rate (half the burst's
throughput) while a probe publishes one marker interaction at a time and polls
``GET /api/v1/interaction-history?customerId=<probe>&limit=1`` until the API returns it:
publish-to-visible time, p50 and p99, at that sustained load.
"""
from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer

from bench import api_probe, e2e, workload
from profile360.events.codec import Codec
from profile360.settings import Settings
from profile360.topics import partition_key

TENANT = workload.TENANT
COUNTRIES = ("AE", "SA", "US", "GB", "IN")
PROBE_CUSTOMER = "probe-freshness"


def _who(kind: str, value: str) -> dict:
    return {"type": kind, "value": value}


def records(customers: int, seed: int) -> dict[str, list[tuple[str, dict]]]:
    """Identity and consent records per topic family."""
    rnd = random.Random(seed + 1)
    anchor = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    out: dict[str, list[tuple[str, dict]]] = {"identity": [], "consent": []}
    for r in range(customers):
        cid, email = workload.customer_id(r), f"User{r}@Example.com" if r % 2 else f"user{r}@example.com"
        at = anchor - timedelta(milliseconds=rnd.randrange(workload.WINDOW_MS))
        idents = [_who("customer_id", cid), _who("email", email)] + ([_who("phone", f"+97150{r:07d}")] if r % 3 == 0 else [])
        traits: dict[str, Any] = {"firstName": f"Name{r}", "country": COUNTRIES[r % len(COUNTRIES)]}
        if rnd.random() < 0.1:
            traits["tier"] = "gold"
        out["identity"].append(("Identify", {"eventId": f"id-{seed}-{r}", "tenantId": TENANT, "occurredAt": at,
                                             "identifiers": idents, "traits": traits, "tagsAdded": [],
                                             "tagsRemoved": [], "defaultRegion": None}))
        if r % 20 == 0 and r + 1 < customers:
            out["identity"].append(("Link", {"eventId": f"ln-{seed}-{r}", "tenantId": TENANT, "occurredAt": at,
                                             "identifier": _who("customer_id", cid),
                                             "linkedIdentifier": _who("customer_id", workload.customer_id(r + 1)),
                                             "confidence": 0.9}))
        if rnd.random() < 0.6:
            out["consent"].append(("ConsentChanged", {"eventId": f"cs-{seed}-{r}", "tenantId": TENANT, "occurredAt": at,
                                                      "identifier": _who("email", email), "channel": "email",
                                                      "purpose": "marketing", "granted": rnd.random() < 0.8,
                                                      "source": "bench"}))
    return out


def encode(codec: Codec, named: list[tuple[str, dict]]) -> list[tuple[bytes, bytes]]:
    return [(partition_key(name, rec), codec.encode(name, rec)) for name, rec in named]


class Freshness:
    """Publish a marker, poll the API until it shows it; one marker at a time until stopped."""

    def __init__(self, settings: Settings, codec: Codec, api: str):
        self.settings, self.codec, self.api = settings, codec, api
        self.latencies: list[float] = []
        self.stop = asyncio.Event()

    def _marker(self, i: int) -> tuple[bytes, bytes, str]:
        rec = {"eventId": f"probe-{time.time_ns()}-{i}", "tenantId": TENANT, "customerId": PROBE_CUSTOMER,
               "occurredAt": datetime.now(timezone.utc), "type": "impression", "metadata": {}}
        return partition_key("InteractionEvent", rec), self.codec.encode("InteractionEvent", rec), rec["eventId"]

    async def run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=0)
        await producer.start()
        url = f"{self.api}/api/v1/interaction-history?customerId={PROBE_CUSTOMER}&limit=1"
        try:
            async with aiohttp.ClientSession(headers=await api_probe.auth_headers(self.settings, TENANT)) as http:
                i = 0
                while not self.stop.is_set():
                    key, value, event_id = self._marker(i)
                    t0 = time.perf_counter()
                    await producer.send_and_wait(self.settings.topic("interactions"), value, key=key)
                    while not await self._visible(http, url, event_id):
                        await asyncio.sleep(0.02)
                    self.latencies.append(time.perf_counter() - t0)
                    i += 1
                    await asyncio.sleep(0.2)
        finally:
            await producer.stop()

    async def _visible(self, http: aiohttp.ClientSession, url: str, event_id: str) -> bool:
        async with http.get(url) as resp:
            body = await resp.json()
        return bool(body.get("data")) and body["data"][0]["id"] == event_id


async def burst(settings: Settings, people: dict[str, list], interactions: list, proc: Any,
                log_path: Any) -> tuple[int, float]:
    """Publish identity, consent and interactions at once; returns (events, seconds from the
    first publish until the worker's stored positions cover them all)."""
    first = time.perf_counter()
    published = await asyncio.gather(*(e2e.publish(settings, settings.topic(family), messages)
                                       for family, messages in [*people.items(), ("interactions", interactions)]))
    ends = {tp: o for p in published for tp, o in p.ends.items()}
    n = sum(len(m) for m in people.values()) + len(interactions)
    return n, await e2e.wait_positions(settings, ends, proc, 120 + n / 300, log_path) - first


async def _steady(settings: Settings, mix: list[tuple[str, bytes, bytes]], rate: float, stop: asyncio.Event) -> int:
    """Publish ``mix`` (family, key, value) at ``rate`` per second, in 100 ms ticks, until ``stop``."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent, t0 = 0, time.perf_counter()
    try:
        while not stop.is_set() and sent < len(mix):
            due = min(len(mix), int((time.perf_counter() - t0) * rate))
            for family, key, value in mix[sent:due]:
                await producer.send(settings.topic(family), value, key=key)
            sent = due
            await asyncio.sleep(0.1)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def freshness(settings: Settings, codec: Codec, mix: list[tuple[str, bytes, bytes]], rate: float,
                    seconds: float, api: str) -> tuple[float, list[float]]:
    """Markers' publish-to-visible seconds while ``mix`` is published at ``rate``; returns the
    rate actually sent and the sorted latencies."""
    probe, stop = Freshness(settings, codec, api), asyncio.Event()
    probe_task = asyncio.create_task(probe.run())
    load = asyncio.create_task(_steady(settings, mix, rate, stop))
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    probe.stop.set()
    sent = await load
    await asyncio.wait_for(probe_task, 60)
    return sent / (time.perf_counter() - t0), sorted(probe.latencies)


async def raw_lookup(settings: Settings, customers: int, seconds: float, concurrency: int) -> api_probe.Load:
    """The floor under a profile lookup: one indexed asyncpg query per request, same concurrency."""
    pool = await asyncpg.create_pool(settings.database_url, min_size=concurrency, max_size=concurrency)
    rnd, latencies = random.Random(7), []

    async def loop(deadline: float) -> None:
        while time.perf_counter() < deadline:
            key = "customer_id:" + workload.customer_id(rnd.randrange(customers))
            t0 = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = $2", TENANT, key)
            latencies.append(time.perf_counter() - t0)

    try:
        t0 = time.perf_counter()
        await asyncio.gather(*(loop(t0 + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    finally:
        await pool.close()
    latencies.sort()
    return api_probe.Load(len(latencies), 0, elapsed, api_probe.percentile(latencies, 0.5) * 1000,
                          api_probe.percentile(latencies, 0.99) * 1000)
