"""Faults during ingestion, each ending with every projection table compared to an independent
fold of the events published (``full_check``): no event lost, none counted twice. (PostgreSQL
and broker restarts in the middle of a backlog are in the fault suite, ``test_fault_suite.py``.) The events
are interactions and catalog entries, and people and definition events (identity, links,
consent, experiments, journeys, tenant settings, metrics, segments), so identity, facts and
segment membership are checked under the same faults. The worker runs as real processes."""
from __future__ import annotations

from dataclasses import replace

import pytest

from . import workload
from .full_check import check_all_tables
from .harness import group_members, start_worker_process, stop_process as stop, worker_log, stored_positions, wait_caught_up, wait_until
from .test_pipeline import publish
from .test_profiles import publish_records

pytestmark = pytest.mark.integration


async def some_applied(settings, at_least: int = 1) -> None:
    async def check():
        try:
            return sum((await stored_positions(settings)).values()) >= at_least
        except OSError:
            return False
    await wait_until(check, 60, f"{at_least} applied records")


async def test_rebalance_one_two_one_workers(settings):
    settings = replace(settings, batch_max_records=50)
    events = workload.interactions("acme", 6000, customers=300)
    people = workload.people("acme")
    waves = events[:2000], events[2000:4000], events[4000:]
    third = len(people) // 3
    crowds = people[:third], people[third:2 * third], people[2 * third:]
    await publish(settings, [], waves[0])
    await publish_records(settings, crowds[0])
    first = start_worker_process(settings)
    second = None
    try:
        await some_applied(settings)
        second = start_worker_process(settings)  # 1 → 2: the group rebalances
        await wait_until(lambda: group_members(settings, 2), 60, "both workers in the group")
        await publish(settings, [], waves[1])  # ingested by two workers
        await publish_records(settings, crowds[1])
        assert stop(first) == 0  # 2 → 1 while the second wave is being applied
        await publish(settings, [], waves[2])
        await publish_records(settings, crowds[2])
        await wait_caught_up(settings, timeout=120)
    finally:
        for w in (first, second):
            if w is not None and w.poll() is None:
                stop(w)
    await check_all_tables(settings, events + people)


async def test_sigterm_drains_the_batch_in_flight_and_exits_promptly(settings):
    settings = replace(settings, batch_max_records=50)
    events = workload.interactions("acme", 5000, customers=200)
    people = workload.people("acme")
    await publish(settings, [], events)
    await publish_records(settings, people)
    worker = start_worker_process(settings)
    await some_applied(settings)
    code = stop(worker, timeout=20)  # bounded: a worker that does not drain fails here
    assert code == 0, worker_log(worker)
    applied = sum((await stored_positions(settings)).values())
    # Check the stop landed mid-ingestion (what was polled was drained, the rest left)
    assert applied < len(events) + len(people)
    # A second worker finishes the job; nothing of the first one's last batch is lost or doubled
    worker = start_worker_process(settings)
    try:
        await wait_caught_up(settings, timeout=120)
    finally:
        assert stop(worker) == 0
    assert applied > 0
    await check_all_tables(settings, events + people)
