"""The API answers concurrent readers correctly while the worker ingests."""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from . import workload
from .harness import start_worker_process, stop_process as stop, stored_positions, wait_caught_up, wait_until, worker_log
from .test_pipeline import all_history, api_client, check_tables_match_oracle, publish

pytestmark = pytest.mark.integration


async def test_concurrent_reads_during_ingestion_are_consistent(settings):
    settings = replace(settings, batch_max_records=50)
    events = workload.interactions("acme", 6000, customers=100)
    await publish(settings, workload.catalog("acme", events[0]["occurredAt"]), events)
    client = await api_client(settings)
    worker = start_worker_process(settings)
    failures: list[str] = []
    totals_seen: set[int] = set()

    async def reader(n: int) -> int:
        """Pages through the whole history again and again until ingestion ends."""
        rounds = 0
        while worker.poll() is None and not ingested.is_set():
            items, total = await all_history(client, "acme", **({"customerId": f"cust_{n}"} if n % 2 else {}))
            if n % 2 == 0:
                totals_seen.add(total)
            ids = [i["id"] for i in items]
            if len(ids) != len(set(ids)):
                failures.append(f"reader {n}: a row was served twice within one traversal")
            resp = await client.get("/api/v1/interaction-summary", params={"groupBy": "customer"},
                                    headers={"X-Tenant-Id": "acme"})
            if resp.status != 200:
                failures.append(f"reader {n}: summary answered {resp.status}")
            rounds += 1
        return rounds

    ingested = asyncio.Event()
    try:
        readers = [asyncio.create_task(reader(n)) for n in range(8)]
        await wait_until(lambda: _some(settings), 60, "ingestion to start")
        await wait_caught_up(settings, timeout=120)
        ingested.set()
        rounds = await asyncio.gather(*readers)
        # Check the readers really overlapped ingestion (they saw the history grow), and every
        # answer was consistent
        assert sum(rounds) >= 8 and len(totals_seen - {0, len(events)}) >= 1, totals_seen
        assert failures == []
        items, total = await all_history(client, "acme")
        assert total == len(items) == len(events)
    finally:
        ingested.set()
        await client.close()
        code = stop(worker)
    assert code == 0, worker_log(worker)
    await check_tables_match_oracle(settings, events)


async def _some(settings) -> bool:
    return sum((await stored_positions(settings)).values()) > 0
