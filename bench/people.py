"""The mixed workload (identity, consent and interactions at once), and the floor under a
profile lookup (one indexed asyncpg query).

Workload (deterministic for a seed): one Identify per customer (customer id, an email in
mixed case, a UAE mobile for every third, traits, a gold tier for 10 %), a 0.9-confidence
Link joining every 20th customer to the next (5 % of profiles merge two customers), and an
email marketing consent for 60 % of customers; plus fresh interactions over the same customers.

The freshness of the API under this mix is ``bench.freshness``.
"""
from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg

from bench import api_probe, e2e, workload
from profile360.events.codec import Codec
from profile360.settings import Settings
from profile360.topics import partition_key

TENANT = workload.TENANT
COUNTRIES = ("AE", "SA", "US", "GB", "IN")


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
