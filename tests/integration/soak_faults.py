"""`make soak`: the long version of the fault scenarios, in one run.

A million interactions (``P360_SOAK_EVENTS``) plus people and definition events are published
in chunks while worker processes ingest them; meanwhile the worker is SIGKILLed and restarted
``P360_SOAK_KILLS`` times at random moments, PostgreSQL and the Kafka broker are restarted, a
second worker joins and leaves the group, and a blue/green rebuild runs and switches. At the
end every projection table is compared with an independent fold of everything published, and a
summary table is printed (and written to ``P360_SOAK_REPORT`` when set). With
``P360_SOAK_PROCESSES=N`` the worker and the rebuild run N processes each
(``worker --processes N``), and a kill SIGKILLs the worker command and every process of it.

``test_fault_suite_for_longer`` then runs the fault suite (``fault_suite.py``) with longer faults
and more load, and appends its report.

Not part of ``make test`` (the file name does not match ``test_*.py``); run it with
``make soak`` or ``python -m pytest -s tests/integration/soak_faults.py``.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import replace

import asyncpg
import pytest
from aiokafka.errors import KafkaError

from profile360.devstack import kafka as dk
from profile360.devstack import postgres as dp
from profile360.worker.rebuild import rebuild

from . import workload
from .fault_suite import Lengths, Load, check_result, run_suite
from .full_check import check_all_tables
from .harness import children_of, end_offsets, group_members, start_worker_process, stop_process, stored_positions, wait_caught_up, worker_log
from .test_pipeline import CODEC, publish
from .test_profiles import publish_records
from .harness import wait_until

pytestmark = pytest.mark.integration


class Soak:
    """The worker processes and what happened to them, for the summary."""

    def __init__(self, settings, stack, processes: int):
        self.settings, self.stack, self.processes = settings, stack, processes
        self.worker = start_worker_process(settings, processes)
        self.log: list[tuple[float, str, int]] = []
        self.t0 = time.monotonic()

    async def note(self, what: str) -> None:
        applied = sum((await stored_positions(self.settings)).values())
        self.log.append((time.monotonic() - self.t0, what, applied))
        print(f"{time.monotonic() - self.t0:7.1f}s  {what:<34} applied so far: {applied:,}", flush=True)

    async def progressing(self) -> None:
        """Return once the worker applies records again (after a restart: once it is back)."""
        before = sum((await stored_positions(self.settings)).values())

        async def moved() -> bool:
            try:
                now = sum((await stored_positions(self.settings)).values())
            except OSError:
                return False
            return now > before or now >= sum((await end_offsets(self.settings)).values())
        await wait_until(moved, 300, "the worker to apply records again")

    async def kill(self) -> None:
        for pid in [*children_of(self.worker), self.worker.pid]:  # with processes, every one at once
            os.kill(pid, signal.SIGKILL)
        self.worker.wait()
        await self.note("worker SIGKILLed and restarted")
        self.worker = start_worker_process(self.settings, self.processes)

    async def restart_postgres(self) -> None:
        await asyncio.to_thread(dp.restart_postgres, self.stack.pg_dir)
        await self.note("PostgreSQL restarted")

    async def restart_kafka(self) -> None:
        await asyncio.to_thread(dk.stop_kafka, self.stack.kafka_dir)
        await asyncio.to_thread(dk.start_kafka, self.stack.kafka_dir, *self.stack.kafka_ports, self.stack.cache)
        await dk.wait_kafka_ready_async(self.stack.kafka, 120, data_dir=self.stack.kafka_dir)
        await self.note("Kafka broker restarted")

    async def scale_out_and_in(self) -> None:
        second = start_worker_process(self.settings, self.processes)
        await wait_until(lambda: group_members(self.settings, 2 * self.processes), 120, "two workers in the group")
        await self.note("1 -> 2 workers")
        await asyncio.sleep(5)
        assert stop_process(second, 60) == 0, worker_log(second)
        await self.note("2 -> 1 workers")

    async def rebuild(self) -> float:
        """A rebuild while the faults go on; one that a restart interrupts is run again (it
        resumes), as an operator would."""
        started = time.monotonic()
        await self.note("rebuild started")
        while True:
            try:
                result = await rebuild(replace(self.settings, worker_processes=self.processes), CODEC)
                break
            except (OSError, KafkaError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                await asyncio.sleep(1)
                await self.note(f"rebuild resumed after {type(exc).__name__}")
        await self.note(f"rebuild g{result.generation} switched")
        return time.monotonic() - started


async def _publish_in_chunks(settings, catalog, events, people, rate: float, chunks: int = 40) -> None:
    """Publish at about ``rate`` events/s, like a producer that outlives broker restarts: a
    chunk that fails is sent again (re-sent events carry the same ids: counted once)."""
    await _resending(lambda: publish(settings, catalog, []))
    step, pstep = -(-len(events) // chunks), -(-len(people) // chunks)
    for i in range(chunks):
        t0 = time.monotonic()
        await _resending(lambda: publish(settings, [], events[i * step:(i + 1) * step]))
        await _resending(lambda: publish_records(settings, people[i * pstep:(i + 1) * pstep]))
        await asyncio.sleep(max(0.0, step / rate - (time.monotonic() - t0)))


async def _resending(send) -> None:
    deadline = time.monotonic() + 300
    while True:
        try:
            return await send()
        except (KafkaError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def test_soak(settings, owned):  # noqa: F811
    n, kills = int(os.environ.get("P360_SOAK_EVENTS", "1000000")), int(os.environ.get("P360_SOAK_KILLS", "8"))
    rnd = random.Random(int(os.environ.get("P360_SOAK_SEED", "360")))
    settings = replace(settings, batch_max_records=2000)
    events = workload.interactions("acme", n, customers=max(200, n // 10))
    catalog, people = workload.catalog("acme", events[0]["occurredAt"]), workload.people("acme")
    started = time.monotonic()
    rate = float(os.environ.get("P360_SOAK_RATE", "4000"))  # events/s published: ingestion spans the faults
    publisher = asyncio.create_task(_publish_in_chunks(settings, catalog, events, people, rate))
    soak = Soak(settings, owned, int(os.environ.get("P360_SOAK_PROCESSES", "1")))
    rebuilding = None
    try:
        faults = [soak.kill] * kills + [soak.restart_postgres, soak.restart_kafka, soak.scale_out_and_in]
        rnd.shuffle(faults)
        pause = n / rate / (len(faults) + 2)  # spread the faults over the publishing time
        for i, fault in enumerate(faults):
            await soak.progressing()  # so that every fault lands while records are being applied
            await asyncio.sleep(rnd.uniform(0.5, 2 * pause))
            await fault()
            if i == len(faults) // 3:
                rebuilding = asyncio.create_task(soak.rebuild())  # goes on through the next faults
        await publisher
        rebuild_seconds = await rebuilding
        await wait_caught_up(settings, timeout=1800)
        await soak.note("caught up")
    finally:
        if rebuilding is not None and not rebuilding.done():
            rebuilding.cancel()
        code = stop_process(soak.worker, 60)
    assert code == 0, worker_log(soak.worker)
    seconds = time.monotonic() - started
    await check_all_tables(settings, catalog + events + people)
    _report(n + len(people) + len(catalog), kills, seconds, rebuild_seconds, soak.log, soak.processes)


def _report(records: int, kills: int, seconds: float, rebuild_seconds: float | None, log: list, processes: int) -> None:
    lines = ["| figure | value |", "|---|---|",
             f"| records published (interactions, people, catalog) | {records:,} |",
             f"| processes per worker command and per rebuild | {processes} |",
             f"| worker SIGKILLs / PostgreSQL restarts / Kafka restarts / 1→2→1 rebalances | {kills} / 1 / 1 / 1 |",
             f"| blue/green rebuild during ingestion (until switched) | {rebuild_seconds:.0f} s |",
             f"| wall time, first publish to caught up | {seconds:.0f} s |",
             f"| records/s overall (with the faults and the rebuild) | {records / seconds:,.0f} |",
             "| every projection table = independent fold of all records | yes |"]
    table = "\n".join(lines)
    print("\n" + table, flush=True)
    if os.environ.get("P360_SOAK_REPORT"):
        with open(os.environ["P360_SOAK_REPORT"], "w", encoding="utf-8") as f:
            f.write(table + "\n\ntimeline (seconds, event, records applied so far):\n")
            f.writelines(f"{t:7.1f}  {what}  {applied:,}\n" for t, what, applied in log)


async def test_fault_suite_for_longer(settings, owned):
    """The fault suite of ``test_fault_suite.py`` with longer faults (``P360_SOAK_FAULT_SECONDS``,
    default 300, for PostgreSQL stopped and the broker paused; a fifth of it for the crowd and the
    held lock) and more load: 100 readers, 4 writers and 500 records/s fed throughout. The same
    verdict; its report is appended to ``P360_SOAK_REPORT``."""
    long = float(os.environ.get("P360_SOAK_FAULT_SECONDS", "300"))
    rate, lengths = 500, Lengths(long=long, short=long / 5)
    # enough to feed every fault, the recoveries and checks (about 400 s at this rate) and the bursts
    load = Load(lengths, readers=100, writers=4, rate=rate,
                interactions=int(rate * (2 * lengths.long + 2 * lengths.short + 400)) + 20_000)
    result = await run_suite(settings, owned, load)
    text = f"## The fault suite, {long:.0f}-s faults\n\n{result.report()}\n"
    print("\n" + text, flush=True)
    if os.environ.get("P360_SOAK_REPORT"):
        with open(os.environ["P360_SOAK_REPORT"], "a", encoding="utf-8") as f:
            f.write("\n" + text)
    await check_result(settings, result)
