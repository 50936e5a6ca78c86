"""Blue/green rebuild of every projection from the topics.

``rebuild`` fills a new *building* generation (see ``store.generations``) with a worker of
its own consumer group, reading every projected topic from its start, while the live worker
keeps writing the current generation and the API keeps reading it. Once the rebuild is within
one batch of the end of every partition, windowed segments are evaluated once, and the switch
begins: live writers are held (for about a batch's time), the rebuild goes on until it holds
at least everything the current generation holds, its worker drains, and one transaction
makes the new generation current. Readers never see the data go back in time; the live worker
continues from the new generation's positions, so no event is applied to one generation and
missed by the other.

A rebuild that stops half-way (a crash, Ctrl-C) resumes where it was: the building generation
and its positions are kept until the next ``rebuild`` finishes it.
"""
from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable

import asyncpg

from profile360.events.codec import Codec
from profile360.outages import riding_out
from profile360.resources import projections_dir
from profile360.settings import Settings
from profile360.store import generations, log_starts, migrations
from profile360.topics import PROJECTED_FAMILIES
from profile360.worker import progress, rebuild_member, schedule
from profile360.processes import spawn
from profile360.worker.rebuild_member import scope_of
from profile360.store.writer import Scope
from profile360.worker.runner import Worker

TP = tuple[str, int]
SWITCH_TIMEOUT = 60.0  # the longest live writers are held while the rebuild passes them


@dataclass(frozen=True)
class Progress:
    """One sample of a running rebuild."""

    generation: int
    applied: int  # records consumed into the new generation
    total: int  # records in the topics now
    lag: dict[str, int]  # per topic
    rate: float  # records per second, over the last samples

    @property
    def remaining(self) -> int:
        return sum(self.lag.values())

    @property
    def eta_seconds(self) -> float | None:
        return self.remaining / self.rate if self.rate > 0 else None


@dataclass(frozen=True)
class Result:
    generation: int
    replaced: int
    dropped: bool
    records: int
    seconds: float


async def rebuild(settings: Settings, codec: Codec, keep_old: bool = False,
                  on_progress: Callable[[Progress], None] = lambda p: None, poll: float = 0.5,
                  projection: str | None = None, allow_truncated: bool = False) -> Result:
    """Rebuild every projection (or only ``projection``) into a new generation and switch to
    it (see module doc). ``settings.worker_processes`` processes apply the records: this one
    and that many minus one ``rebuild_member`` processes."""
    started = time.monotonic()
    admin = await asyncpg.connect(settings.database_url)
    try:
        await generations.one_rebuild_at_a_time(admin)  # held until ``admin`` closes
        if not allow_truncated:
            await _full_history(settings, admin)
        gen, scope = await _building(admin, projection)
        pool = await rebuild_member.open_pool(settings, gen)
        try:
            rebuilder = replace(settings, consumer_group=rebuild_member.group_of(settings, gen))
            async with _running(Worker(rebuilder, codec, pool, live=False, families=("erasure",), scope=scope)) as erasures:
                await _run_until_caught_up(settings, admin, erasures, gen, on_progress, poll, ("erasure",), 0)
                await erasures.stop()
            members = [["profile360.worker.rebuild_member", str(gen.number)]] * (settings.worker_processes - 1)
            async with _running(Worker(rebuilder, codec, pool, live=False, scope=scope), members, settings) as job:
                await _run_until_caught_up(settings, admin, job, gen, on_progress, poll)
                old = await _switch(settings, admin, job, gen)
                records = sum((await _stored(job)).values())
        finally:
            await pool.close()
        if not keep_old:
            await generations.drop(admin, old)
        return Result(gen.number, old.number, not keep_old, records, time.monotonic() - started)
    finally:
        await admin.close()


class RebuildInterrupted(RuntimeError):
    """The rebuild lost its lock; it resumes when run again."""


class TruncatedLog(RuntimeError):
    """A topic no longer holds its first records: a rebuild would lose them."""


async def _full_history(settings: Settings, conn: asyncpg.Connection) -> None:
    cut = await log_starts.truncated(conn, await progress.start_offsets(settings))
    if cut:
        raise TruncatedLog(f"these partitions no longer start at their first record (retention or the broker removed "
                           f"records; partition: log start): {cut}. A rebuild would lose those records. Keep the topics "
                           "at retention.ms=-1 (profile360 creates them so); rebuild --allow-truncated rebuilds from what is left")


async def _building(conn: asyncpg.Connection, projection: str | None) -> tuple[generations.Generation, Scope | None]:
    """The generation a previous rebuild of the same scope left unfinished (migrated to this
    build), else a new one; for a partial rebuild, with the other projections' tables copied."""
    if projection is not None and projection not in generations.PROJECTIONS:
        raise ValueError(f"--projection: expected one of {sorted(generations.PROJECTIONS)}, got {projection!r}")
    found = migrations.load_migrations(projections_dir())
    await migrations.locked(conn)
    try:
        await generations.ensure_layout(conn)
        unfinished = await generations.building(conn)
        if unfinished is not None:
            gen, saved = unfinished
            if (saved or {}).get("only") == ([projection] if projection else None):
                await generations.migrate_generation(conn, gen, found)
                return gen, scope_of(saved)
            await generations.drop(conn, gen)  # another scope: start afresh
        gen = await generations.create_building(conn, found)
        if projection is None:
            return gen, None
        full_from = await generations.copy_others(conn, gen, frozenset({projection}))
        saved = {"only": [projection], "full_from": [[t, p, o] for (t, p), o in sorted(full_from.items())]}
        await generations.set_scope(conn, gen, saved)
        return gen, scope_of(saved)
    finally:
        await migrations.unlock(conn)


class _Job:
    """The rebuild's worker, the task running it, and its extra processes (members of the same
    consumer group, see ``rebuild_member``)."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.task = asyncio.create_task(worker.run())
        self.processes: list[subprocess.Popen] = []
        self.stopped = False

    def ended(self) -> str | None:
        """Why the job can no longer finish, if it can't: its worker or a process ended."""
        if self.task.done():
            self.task.result()
            return "the rebuild worker stopped before the switch"
        codes = [p.returncode for p in self.processes if p.poll() is not None]
        return f"a rebuild process exited with code {codes[0]} before the switch" if codes else None

    async def ready(self, settings: Settings) -> bool:
        """Whether every process of the job is a member of the stable group."""
        if not self.processes:
            return bool(self.worker.stats.assigned)
        return await progress.stable_members(settings, self.worker.settings.consumer_group) >= 1 + len(self.processes)

    async def stop(self) -> None:
        """Stop everything; returns once no process of the job writes any more."""
        if self.stopped:
            return
        self.stopped = True
        self._terminate()
        self.worker.stop()
        try:
            await self.task
        finally:
            await asyncio.to_thread(_wait_or_kill, self.processes)

    async def abandon(self) -> None:
        """After a failure: stop the processes and the worker, whatever became of them."""
        self.stopped = True
        self._terminate()
        self.worker.stop()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await asyncio.to_thread(_wait_or_kill, self.processes)

    def _terminate(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.terminate()


@contextlib.asynccontextmanager
async def _running(worker: Worker, members: list[list[str]] = (), settings: Settings | None = None) -> AsyncIterator[_Job]:
    """A job (this process's worker plus a process per entry of ``members``) that is abandoned
    if the block fails, so that no process of a failed rebuild goes on writing (the next
    ``rebuild`` resumes the generation)."""
    job = _Job(worker)
    try:
        for args in members:
            job.processes.append(spawn(args, settings.to_env()))
        yield job
    except BaseException:
        await job.abandon()
        raise


def _wait_or_kill(processes: list[subprocess.Popen], timeout: float = 60) -> None:
    """Wait for ``processes`` to exit, together at most ``timeout`` seconds; then kill them."""
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _run_until_caught_up(settings: Settings, lock: asyncpg.Connection, job: _Job, gen: generations.Generation,
                               on_progress: Callable[[Progress], None], poll: float,
                               families: tuple[str, ...] = PROJECTED_FAMILIES, slack: int | None = None) -> None:
    """Return once the rebuild is within ``slack`` records (default: one batch) of the end of
    every partition of ``families``. The polls ride out outages of Kafka and PostgreSQL (so does
    the rebuild's worker); losing ``lock``, the session that holds the rebuild lock (a
    PostgreSQL restart ends it), ends the rebuild with ``RebuildInterrupted``."""
    samples: list[tuple[float, int]] = []
    slack = settings.batch_max_records if slack is None else slack
    while True:
        await _alive(job, poll)
        if lock.is_closed():
            raise RebuildInterrupted("the database session holding the rebuild lock ended (PostgreSQL restarted?); "
                                     "run rebuild again to resume where it stopped")
        starts, ends = await riding_out(progress.log_bounds, settings, families, what="rebuild progress (Kafka)")
        sample = _sample(gen.number, ends, await riding_out(_stored, job, starts, what="rebuild progress"), samples)
        on_progress(sample)
        if sample.remaining <= slack and (not any(ends.values()) or await job.ready(settings)):
            return


async def _switch(settings: Settings, admin: asyncpg.Connection, job: _Job,
                  gen: generations.Generation) -> generations.Generation:
    """Evaluate windowed segments, recompute the derived read tables, hold live writers, let
    the rebuild pass the current generation everywhere, stop it and switch; returns the
    replaced generation."""
    try:
        await schedule.refresh_windowed_segments(job.worker.pool, live=False)
        await schedule.refresh_derived(job.worker.pool)
        starts = await progress.start_offsets(settings)
        async with admin.transaction():
            # only partitions the rebuild reads: rows of other topics (a probe's) are not waited for
            reached = {tp: o for tp, o in (await generations.hold_writers(admin)).items() if tp in starts}
            deadline = time.monotonic() + SWITCH_TIMEOUT
            while behind := _behind(reached, await _stored(job, starts)):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the rebuild did not reach the live generation within {SWITCH_TIMEOUT}s "
                                       f"(partition: (rebuild, live) {behind}); live writers were released; "
                                       "run rebuild again to resume")
                await _alive(job, 0.05)
            await job.stop()
            return await generations.switch_to(admin, gen, job.worker.settings.consumer_group, starts)
    finally:
        await job.stop()


def _behind(reached: dict[TP, int], stored: dict[TP, int]) -> dict[TP, tuple[int, int]]:
    return {tp: (stored.get(tp, 0), o) for tp, o in reached.items() if o > stored.get(tp, 0)}


async def _alive(job: _Job, seconds: float) -> None:
    """Wait ``seconds``; raise if the rebuild worker or one of its processes ended meanwhile."""
    await asyncio.wait({job.task}, timeout=seconds)
    if (why := job.ended()) is not None:
        raise RuntimeError(why)


async def _stored(job: _Job, starts: dict[TP, int] | None = None) -> dict[TP, int]:
    """The rebuild's positions; with ``starts``, a partition is never before its log start
    (records removed by retention or ``purge`` are not waited for)."""
    async with job.worker.pool.acquire() as conn:
        stored = await progress.stored_positions(conn, job.worker.settings.consumer_group)
    return progress.reached(stored, starts or {})


def _sample(generation: int, ends: dict[TP, int], stored: dict[TP, int], samples: list[tuple[float, int]]) -> Progress:
    applied = sum(stored.values())
    lag: dict[str, int] = {}
    for (topic, partition), end in ends.items():
        lag[topic] = lag.get(topic, 0) + max(0, end - stored.get((topic, partition), 0))
    samples.append((time.monotonic(), applied))
    del samples[:-10]
    (t0, a0), (t1, a1) = samples[0], samples[-1]
    rate = (a1 - a0) / (t1 - t0) if t1 > t0 else 0.0
    return Progress(generation, applied, sum(ends.values()), lag, rate)
