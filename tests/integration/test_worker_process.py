"""The real ``profile360 worker`` process: killed mid-ingestion, restarted, stopped with SIGTERM;
every projection table is then compared with an independent fold of the events (``full_check``)."""
from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from . import workload
from .full_check import check_all_tables
from .harness import start_worker_process, stop_process, worker_log, stored_positions, wait_caught_up, wait_until
from .test_pipeline import publish
from .test_profiles import publish_records

pytestmark = pytest.mark.integration


async def test_sigkill_mid_ingestion_then_restart_loses_nothing_and_counts_nothing_twice(settings):
    settings = replace(settings, batch_max_records=100)
    events = workload.interactions("acme", 4000, customers=300)
    catalog, people = workload.catalog("acme", events[0]["occurredAt"]), workload.people("acme")
    await publish(settings, catalog, events)
    await publish_records(settings, people)
    worker = start_worker_process(settings)
    try:
        async def partly_applied():
            return sum((await stored_positions(settings)).values()) > 0
        await wait_until(partly_applied, 60, "the first committed batch")
        worker.kill()  # SIGKILL: no chance to finish the batch in flight
        worker.wait(10)
        # Check the kill really landed mid-ingestion
        assert sum((await stored_positions(settings)).values()) < len(catalog) + len(events) + len(people)
        worker = start_worker_process(settings)
        await wait_caught_up(settings, timeout=120)
    finally:
        returncode = stop_process(worker)
    assert returncode == 0, worker_log(worker)
    await check_all_tables(settings, catalog + events + people)


async def test_a_stored_position_beyond_the_log_stops_the_worker_loudly(settings):
    """A re-created topic must not be silently skipped up to the old position."""
    import asyncpg

    await publish(settings, [], workload.interactions("acme", 20))
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("INSERT INTO consumer_positions (consumer, topic, partition, next_offset) VALUES ($1, $2, 0, 1000000)",
                           settings.consumer_group, settings.topic("interactions"))
    finally:
        await conn.close()
    worker = start_worker_process(settings)
    try:
        returncode = worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise
    assert returncode != 0
    assert "beyond the end of the log" in worker_log(worker)
