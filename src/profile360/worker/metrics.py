"""The worker's Prometheus metrics: the adapter between ``worker.runner`` and prometheus-client.

The worker calls an ``Observer`` at four points (a batch applied, dead letters sent, a
rebalance, and nothing else); ``Observer`` itself does nothing (rebuilds, tests), and
``WorkerMetrics`` records into a registry of its own, which ``serve`` exposes at
``GET /metrics`` on ``P360_METRICS_BIND`` (member i of ``worker --processes N``: port + i).
``refresh`` keeps the gauges read from outside the batches up to date every ``REFRESH_SECONDS``
in a task of its own, so a batch never waits for them:
- ``profile360_consumer_lag_records{topic,partition}`` of the partitions assigned to this
  process: Kafka's end offset (asked through the worker's consumer) minus the position stored
  with the data (``status.lag_of``: never before the log start); revoked partitions' series go;
- ``profile360_rebuild_progress_ratio{generation}`` while a ``rebuild`` builds a generation
  (``status.rebuild_progress``), no series otherwise.
The metric list, types and labels: docs/operations.md.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Iterable, Sequence

from aiohttp import web
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector,
                               ProcessCollector, generate_latest)

from profile360 import status
from profile360.outages import describe
from profile360.store.outcomes import OUTCOMES
from profile360.store.writer import ApplyStats, Entry, load_positions
from profile360.worker import progress

if TYPE_CHECKING:
    from profile360.worker.dead_letters import DeadLetter
    from profile360.worker.runner import Worker

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Observer:
    """What the worker reports; this one records nothing."""

    def applied(self, entries: Sequence[Entry], stats: ApplyStats, seconds: float) -> None:
        """A batch committed in ``seconds`` (one ``apply_batch`` transaction)."""

    def dead_lettered(self, letters: Sequence["DeadLetter"]) -> None:
        """Dead letters acknowledged by the dead-letter topic."""

    def rebalanced(self) -> None:
        """The group rebalanced: this member got its (possibly unchanged) assignment."""


class WorkerMetrics(Observer):
    def __init__(self, topics: Iterable[str]) -> None:
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.lag = Gauge("profile360_consumer_lag_records", "Records in the partition not applied yet: Kafka's end "
                         "offset minus the position stored with the data", ["topic", "partition"], registry=r)
        self.records = Counter("profile360_records_applied", "Records of committed batches by outcome (applied, "
                               "duplicate, dead_lettered, erased)", ["topic", "outcome"], registry=r)
        self.batch_seconds = Histogram("profile360_batch_apply_seconds", "Time of one batch's database transaction",
                                       buckets=BATCH_BUCKETS, registry=r)
        self.event_age = Gauge("profile360_last_applied_event_age_seconds", "Now minus the newest occurredAt this "
                               "process applied (NaN before its first)", registry=r)
        self.dead = Counter("profile360_dead_letters", "Records sent to the dead-letter topic", ["reason"], registry=r)
        self.rebuild = Gauge("profile360_rebuild_progress_ratio", "Share of the records a running rebuild has applied "
                             "into the generation it builds", ["generation"], registry=r)
        self.rebalances = Counter("profile360_rebalances", "Partition assignments this member received", registry=r)
        for topic in topics:  # every series from the start, so rates and increases see the first records
            for outcome in OUTCOMES:
                self.records.labels(topic, outcome)
        self.newest: float | None = None
        self.event_age.set_function(lambda: float("nan") if self.newest is None else time.time() - self.newest)
        self.lag_series: set[tuple[str, str]] = set()

    def applied(self, entries: Sequence[Entry], stats: ApplyStats, seconds: float) -> None:
        self.batch_seconds.observe(seconds)
        for (topic, outcome), n in stats.outcomes.items():
            self.records.labels(topic, outcome).inc(n)
        newest = max((e.event.occurred_at for e in entries if e.event is not None and (e.topic, e.partition) not in stats.gaps),
                     default=None)
        if newest is not None:
            self.newest = max(newest.timestamp(), self.newest or float("-inf"))

    def dead_lettered(self, letters: Sequence["DeadLetter"]) -> None:
        for letter in letters:
            self.dead.labels(letter.reason).inc()

    def rebalanced(self) -> None:
        self.rebalances.inc()

    def set_lags(self, lags: dict[tuple[str, int], int]) -> None:
        """The lag of exactly these partitions (series of others are removed)."""
        series = {(t, str(p)): n for (t, p), n in lags.items()}
        for gone in self.lag_series - series.keys():
            self.lag.remove(*gone)
        for labels, n in series.items():
            self.lag.labels(*labels).set(n)
        self.lag_series = set(series)

    def set_rebuild(self, found: tuple[int, float] | None) -> None:
        self.rebuild.clear()
        if found is not None:
            self.rebuild.labels(str(found[0])).set(found[1])


async def refresh(worker: "Worker", metrics: WorkerMetrics, every: float = REFRESH_SECONDS) -> None:
    """Until the worker stops: every ``every`` seconds, the lag and rebuild gauges. A round that
    meets an outage is skipped (logged); the next one tries again."""
    while not worker.stopping.is_set():
        try:
            metrics.set_lags(await _lags(worker))
            metrics.set_rebuild(await _rebuild(worker))
        except Exception as exc:  # an outage (or the consumer stopping): the batches report it
            log.info("metrics refresh skipped: %s", describe(exc))
        try:
            await asyncio.wait_for(worker.stopping.wait(), every)
        except asyncio.TimeoutError:
            pass


async def _lags(worker: "Worker") -> dict[tuple[str, int], int]:
    assigned = sorted(worker.stats.assigned)
    if not assigned:
        return {}
    ends = await worker.consumer.end_offsets(assigned)
    starts = await worker.consumer.beginning_offsets(assigned)
    async with worker.pool.acquire() as conn:
        stored = await load_positions(conn, worker.settings.consumer_group, [(tp.topic, tp.partition) for tp in assigned])
    return {(tp.topic, tp.partition): status.lag_of(stored.get((tp.topic, tp.partition), 0), starts[tp], ends[tp])
            for tp in assigned}


async def _rebuild(worker: "Worker") -> tuple[int, float] | None:
    async with worker.pool.acquire() as conn:
        if not await status.rebuilding(conn):
            return None
        starts, ends = await progress.log_bounds(worker.settings)
        return await status.rebuild_progress(conn, worker.settings, starts, ends)


async def serve(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    """``GET /metrics`` of ``registry`` on host:port (0: any free port); the caller cleans up
    the returned runner."""
    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ValueError(f"P360_METRICS_BIND: cannot listen on {host}:{port}: {exc.strerror}") from None
    log.info("worker metrics on http://%s:%d/metrics", host, runner.addresses[0][1])
    return runner
