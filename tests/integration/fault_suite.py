"""The fault suite, shared by ``test_fault_suite.py`` (one minute per long fault) and
``make soak`` (longer, heavier): the real worker (``--processes 2``) and API (2 processes) under
concurrent reads, segment writes and ingestion while each fault of ``FAULTS`` happens in turn,
with nobody restarting anything.

After each fault the run records what callers were answered from the fault's start until
everything recovered, whether the worker and API processes are the same, how long reads,
writes and ingestion took to recover once the fault ended, and whether every projection table
equals the independent fold of everything in the topics (with every acknowledged record
among them). ``sigterm_under_load`` ends the run: both processes are stopped under load and must
finish what they were doing and exit 0. ``check_result`` is the verdict both runs assert.
"""
from __future__ import annotations

import asyncio
import itertools
import signal
import time
from dataclasses import dataclass, replace


from profile360.settings import Settings

from . import workload
from .api_auth import make_key
from .callers import DROPPED, REFUSED, Answer, Callers, errors, tally
from .fault_injections import FAULTS, Fault, Lengths, Run
from .feeder import Feeder
from .full_check import check_all_tables
from .harness import (end_offsets, serving, start_api_process, start_worker_process, stop_process, stored_positions,
                      topic_records, wait_caught_up, wait_until, worker_log)
from .test_pipeline import publish
from .test_profiles import publish_records

__all__ = ["FAULTS", "Lengths", "Load", "Result", "check_result", "read_paths", "run_suite"]


# --- one fault, measured ----------------------------------------------------------------------

@dataclass
class Outcome:
    fault: str
    seconds: float  # how long the fault lasted
    answers: list[Answer]  # from its start until everything recovered
    unexpected: dict  # answers that are neither 2xx nor a 429/503 with one of the fault's codes
    lag: int  # records published and not yet applied when the fault began
    same_processes: bool
    reads_back: float | None  # seconds from the fault's end to the first 200 of a read
    writes_back: float | None  # ... to the first 2xx of a write
    ingest_back: float  # ... until everything published before the end was applied
    tables: str = "equal to the fold"

    @property
    def ok(self) -> bool:
        return not self.unexpected and self.same_processes and self.tables == "equal to the fold"


async def measure(run: Run, fault: Fault, lengths: Lengths, recovery_timeout: float = 180) -> Outcome:
    """Inject ``fault`` under load, then wait (polling, with a deadline) until reads, writes and
    ingestion are back, and check the processes and every table."""
    if fault.backlog:
        await run.feeder.burst(fault.backlog)
    lag = await _lag(run.settings)
    pids, start = run.pids(), time.monotonic()
    await fault.inject(run, lengths)
    end = time.monotonic()
    reads, writes, ingested = await asyncio.gather(  # each: when it was back
        wait_until(lambda: _ok_after(run.callers, end, "GET"), recovery_timeout, f"reads after {fault.name}"),
        wait_until(lambda: _ok_after(run.callers, end, "PUT"), recovery_timeout, f"writes after {fault.name}"),
        _caught_up(run.settings, recovery_timeout))
    ingest = ingested - end
    answers = run.callers.since(start) + [a for a in run.crowds if a.at >= start]
    outcome = Outcome(fault.name, end - start, answers, errors(answers, fault.codes), lag, run.pids() == pids,
                      reads - end, writes - end, ingest)
    outcome.tables = await check_tables(run)
    return outcome


async def check_tables(run: Run) -> str:
    """Hold the feeder and the writers, let the worker catch up, compare every table with the
    fold of the topics (and check that every acknowledged record is there); both resume after."""
    await run.feeder.pause()
    await run.callers.hold_writes()
    try:
        await wait_caught_up(run.settings, timeout=180)
        records = await topic_records(run.settings)
        missing = {r["eventId"] for _, r in run.feeder.acked} - {r["eventId"] for _, r in records}
        if missing:
            return f"{len(missing)} acknowledged records missing from the topics"
        try:
            await check_all_tables(run.settings, records)
        except AssertionError as exc:
            return str(exc)
        return "equal to the fold"
    finally:
        run.feeder.resume()
        run.callers.resume_writes()


async def _ok_after(callers: Callers, t: float, method: str) -> float | None:
    return callers.first_ok_after(t, method)


async def _caught_up(settings, timeout: float) -> float:
    """When everything published until now was applied (``wait_caught_up`` rides out outages)."""
    await wait_caught_up(settings, timeout=timeout)
    return time.monotonic()


async def _lag(settings) -> int:
    ends, stored = await end_offsets(settings), await stored_positions(settings)
    return sum(end - stored.get(tp, 0) for tp, end in ends.items())


# --- the last fault: SIGTERM under load -------------------------------------------------------

@dataclass
class Stopped:
    worker_code: int
    api_code: int
    answers: list[Answer]  # from the signal on
    dropped: list[Answer]  # a request cut: no answer on an open connection
    refused_before_signal: int
    resent: int  # by the callers, in the whole run (``Callers._call``)


async def sigterm_under_load(run: Run, timeout: float = 60) -> Stopped:
    """SIGTERM to the worker and the API while callers read and write and records arrive. Once
    the API has closed its socket, connections are refused: that is a stopped API; a request
    on an open connection is never cut."""
    signalled = time.monotonic()
    run.worker.send_signal(signal.SIGTERM)
    run.api.send_signal(signal.SIGTERM)
    worker_code = await asyncio.to_thread(run.worker.wait, timeout)
    api_code = await asyncio.to_thread(run.api.wait, timeout)
    answers = run.callers.since(signalled)
    return Stopped(worker_code, api_code, answers, [a for a in answers if a.code and a.code.startswith(DROPPED)],
                   sum(1 for a in run.callers.since(0, signalled) if a.code == REFUSED), run.callers.resent)


# --- the whole suite ----------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    """How hard the suite pushes: readers, writers, records fed per second and in all."""
    lengths: Lengths
    readers: int = 20
    writers: int = 2
    rate: float = 50
    interactions: int = 40_000
    customers: int = 300


@dataclass
class Result:
    outcomes: list[Outcome]
    stopped: Stopped
    acked: list[tuple[str, dict]]  # every record the feeder had acknowledged

    def report(self) -> str:
        return report(self.outcomes, self.stopped)


def segment_write(client: int, n: int) -> tuple[str, str, dict]:
    """Each writer edits its own segment (so no write supersedes another's), a change every time."""
    tier = ("gold", "silver")[n % 2]
    return "PUT", f"/api/v1/segments/fault-{client}", {"name": f"Fault {client}", "rule": f'trait.tier = "{tier}"'}


def read_paths(customers: int) -> list[str]:
    reads = ["/api/v1/customers/cust_{}/unified-profile", "/api/v1/interaction-history?customerId=cust_{}&limit=5",
             "/api/v1/interaction-summary?groupBy=action&days=30", "/en/api/customer360"]
    return [p.format(i % customers) for i in range(24) for p in reads]


def interleaved(interactions: list[dict], people: list) -> list:
    """Interactions with the people records spread evenly among them, as they would arrive."""
    step = max(1, len(interactions) // max(1, len(people)))
    chunks = ([("InteractionEvent", e) for e in interactions[i:i + step]] + people[i // step:i // step + 1]
              for i in range(0, len(interactions), step))
    return list(itertools.chain.from_iterable(chunks))


async def run_suite(settings, owned, load: Load) -> Result:
    """Publish a first part, start the worker (2 processes) and the API (2 processes, a 2-s
    statement timeout so that a held lock shows within a short fault), then feed the rest while
    callers read and write and each fault of ``FAULTS`` happens, and end with SIGTERM."""
    settings = replace(settings, batch_max_records=50,  # a backlog is many transactions: a fault lands in one
                       rate_limit_per_key=Settings.rate_limit_per_key,  # the API's default limits, all of them
                       rate_limit_per_tenant=Settings.rate_limit_per_tenant)
    events = workload.interactions("acme", load.interactions, customers=load.customers)
    catalog, people = workload.catalog("acme", events[0]["occurredAt"]), workload.people("acme")
    await publish(settings, catalog, events[:2000])
    await publish_records(settings, people[:len(people) // 2])
    worker = start_worker_process(settings, 2)
    api = start_api_process(settings, P360_API_PROCESSES="2", P360_STATEMENT_TIMEOUT_MS="2000")
    key = await make_key(settings.database_url, "acme", "admin")
    paths = read_paths(load.customers)
    try:
        await wait_caught_up(settings, timeout=180)
        await serving(api, 2)
        async with Feeder(settings, interleaved(events[2000:], people[len(people) // 2:]), rate=load.rate) as feeder, \
                Callers(api.base_url, key, paths, load.readers, segment_write, load.writers) as callers:
            run = Run(settings, owned, worker, api, key, paths, callers, feeder)
            outcomes = [await measure(run, fault, load.lengths) for fault in FAULTS]
            stopped = await sigterm_under_load(run)
    finally:
        for proc in (worker, api):
            if proc.poll() is None:
                stop_process(proc, timeout=60)
    return Result(outcomes, stopped, feeder.acked)


# --- the report -------------------------------------------------------------------------------

def report(outcomes: list[Outcome], stopped: Stopped | None = None) -> str:
    lines = ["| fault | lasted s | unapplied at start | reads: answers | writes: answers | unexpected | same pids "
             "| reads back s | writes back s | ingest back s | tables |", "|---|---:|---:|---|---|---|---|---:|---:|---:|---|"]
    for o in outcomes:
        lines.append(f"| {o.fault} | {o.seconds:.1f} | {o.lag:,} | {_statuses(o.answers, 'GET')} | {_statuses(o.answers, 'PUT')} "
                     f"| {sum(o.unexpected.values()) or 0} | {'yes' if o.same_processes else 'NO'} | {o.reads_back:.1f} "
                     f"| {o.writes_back:.1f} | {o.ingest_back:.1f} | {o.tables.splitlines()[0]} |")
    if stopped is not None:
        lines.append(f"| SIGTERM under load | | | {_statuses(stopped.answers, 'GET')} | {_statuses(stopped.answers, 'PUT')} "
                     f"| {len(stopped.dropped)} cut | exit {stopped.worker_code}/{stopped.api_code} | | | | |")
        lines.append(f"\nRequests sent again on a new connection after the server closed a reused keep-alive "
                     f"connection before answering (RFC 9112 §9.3.1), in the whole run: {stopped.resent}")
    return "\n".join(lines)


def _statuses(answers: list[Answer], method: str) -> str:
    counts = tally([a for a in answers if a.method == method])
    return ", ".join(f"{s or ''}{' ' + c if c else ''}: {n}" for (_, s, c), n in sorted(counts.items(), key=str)) or "-"


# --- the verdict ------------------------------------------------------------------------------

async def check_result(settings, result: Result) -> None:
    """Every fault as issue 13 asks (only 2xx, 429 and 503 with the fault's codes, the same
    processes, every table equal to the fold; restarts landed mid-backlog), a clean stop, and
    afterwards (once a new worker applied what arrived during the stop) every table equal to
    the fold of the topics, every acknowledged record among them."""
    text = result.report()
    for o, fault in zip(result.outcomes, FAULTS):
        assert o.lag > 0 or not fault.backlog, f"{o.fault} began after the backlog was applied\n{text}"
        assert o.ok, f"{o.fault}: {o.unexpected}, same processes: {o.same_processes}, tables: {o.tables}\n{text}"
    stopped = result.stopped
    assert (stopped.worker_code, stopped.api_code) == (0, 0), text
    assert stopped.dropped == [] and stopped.refused_before_signal == 0, (stopped.dropped[:5], text)
    worker = start_worker_process(settings)
    try:
        await wait_caught_up(settings, timeout=600)
    finally:
        assert stop_process(worker, timeout=60) == 0, worker_log(worker)
    records = await topic_records(settings)
    assert {r["eventId"] for _, r in result.acked} <= {r["eventId"] for _, r in records}
    await check_all_tables(settings, records)
