"""The real ``profile360 worker`` process: killed mid-ingestion, restarted, stopped with SIGTERM;
every projection table is then compared with an independent fold of the events (``full_check``)."""
from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from profile360.topics import ensure_topics

from . import workload
from .full_check import check_all_tables
from .harness import children_of, group_members, start_worker_process, stop_process, worker_log, stored_positions, wait_caught_up, wait_until
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


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_worker_processes_share_the_partitions_and_fold_like_one(settings):
    settings = replace(settings, batch_max_records=100)
    events = workload.interactions("acme", 4000, customers=300)
    catalog, people = workload.catalog("acme", events[0]["occurredAt"]), workload.people("acme")
    worker = start_worker_process(settings, processes=2)
    try:
        await wait_until(lambda: group_members(settings, 2), 60, "both processes in the group")
        pids = children_of(worker)
        await publish(settings, catalog, events)
        await publish_records(settings, people)
        await wait_caught_up(settings, timeout=120)
    finally:
        returncode = stop_process(worker)
    assert returncode == 0, worker_log(worker)
    assert len(pids) == 2 and not any(alive(p) for p in pids)
    await check_all_tables(settings, catalog + events + people)


async def test_killing_the_supervisor_stops_its_processes(settings):
    worker = start_worker_process(settings, processes=2)
    pids: list[int] = []
    try:
        pids = await wait_until(lambda: _two_children(worker), 60, "two worker processes")
        await wait_until(lambda: group_members(settings, 2), 60, "both processes running, in the group")
        worker.kill()  # SIGKILL: the supervisor cannot pass anything on
        worker.wait(10)
        await wait_until(lambda: _none_alive(pids), 30, "the orphaned processes to stop")
    finally:
        for pid in [p for p in pids if alive(p)]:  # orphans, if the test failed
            os.kill(pid, signal.SIGKILL)


async def test_a_process_that_dies_stops_the_group_with_its_exit_code(settings):
    worker = start_worker_process(settings, processes=2)
    try:
        first, second = await wait_until(lambda: _two_children(worker), 60, "two worker processes")
        os.kill(first, signal.SIGKILL)
        returncode = worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise
    assert returncode == 128 + signal.SIGKILL, worker_log(worker)
    assert not alive(second)
    assert "stopping them" in worker_log(worker)


async def _two_children(proc: subprocess.Popen) -> list[int] | None:
    pids = children_of(proc)
    return pids if len(pids) == 2 else None


async def _none_alive(pids: list[int]) -> bool:
    return not any(alive(p) for p in pids)


async def test_a_json_logging_worker_names_the_dead_lettered_records_position(settings):
    """``P360_LOG_FORMAT=json``: every line of the worker's log is a JSON object, and the one
    about a dead letter says where the record is."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(settings.topic("interactions"), b"a record of no schema", partition=1)
    finally:
        await producer.stop()
    worker = start_worker_process(replace(settings, log_format="json"))
    try:
        await wait_caught_up(settings, timeout=60)
    finally:
        returncode = stop_process(worker)
    with open(worker.log_path, encoding="utf-8") as f:
        lines = [orjson.loads(line) for line in f.read().splitlines()]
    assert returncode == 0, lines
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    dead, = [line for line in lines if line["message"].startswith("dead-lettered")]
    assert dead["level"] == "WARNING" and dead["logger"] == "profile360.worker.runner"
    assert (dead["topic"], dead["partition"], dead["offset"]) == (settings.topic("interactions"), 1, sent.offset)
    assert dead["records"] == 1 and dead["reason"]
