"""The faults of the fault suite (``fault_suite.py``), declared once in ``FAULTS``: each injects
its fault into a running ``Run`` and returns once the fault has ended (the dependency is back),
and names the error codes callers may be answered meanwhile."""
from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import urlparse

from profile360.devstack import kafka as dk
from profile360.devstack import postgres as dp

from .callers import Answer, Callers
from .feeder import Feeder
from .harness import children_of, table_locked


RATE_LIMITED, OVERLOADED = "rate_limited", "overloaded"


@dataclass(frozen=True)
class Lengths:
    long: float  # PostgreSQL stopped, the broker paused
    short: float  # a crowd, a held lock


@dataclass
class Run:
    """Everything a fault acts on; ``crowds`` collects the answers of extra callers a fault adds."""
    settings: object
    owned: object
    worker: object  # subprocess.Popen of ``profile360 worker --processes 2``
    api: object  # subprocess.Popen of ``profile360 api`` with 2 processes
    key: str
    paths: list[str]
    callers: Callers
    feeder: Feeder
    crowds: list[Answer] = field(default_factory=list)

    def pids(self) -> tuple:
        return self.worker.pid, tuple(children_of(self.worker)), self.api.pid, tuple(children_of(self.api))


# --- the faults -------------------------------------------------------------------------------

async def pool_exhaustion(run: Run, lengths: Lengths) -> None:
    """400 more clients than the API has connections, for ``short`` seconds."""
    async with Callers(run.api.base_url, run.key, run.paths, clients=400) as crowd:
        await asyncio.sleep(lengths.short)  # the fault's length
    run.crowds += crowd.log


async def slow_query(run: Run, lengths: Lengths) -> None:
    """Every query on ``interaction_history`` held behind a lock for ``short`` seconds: slower
    than the API's statement timeout."""
    async with table_locked(run.settings.database_url, "interaction_history"):
        await asyncio.sleep(lengths.short)  # the fault's length


async def postgres_restart(run: Run, lengths: Lengths) -> None:
    await asyncio.to_thread(dp.restart_postgres, run.owned.pg_dir)


async def postgres_stopped(run: Run, lengths: Lengths) -> None:
    await asyncio.to_thread(dp.stop_postgres, run.owned.pg_dir)
    try:
        await asyncio.sleep(lengths.long)  # the fault's length
    finally:
        port = urlparse(run.owned.database).port
        await asyncio.to_thread(dp.start_postgres, run.owned.pg_dir, port, fsync=False)


async def broker_restart(run: Run, lengths: Lengths) -> None:
    owned = run.owned
    await asyncio.to_thread(dk.stop_kafka, owned.kafka_dir)
    try:
        await asyncio.to_thread(dk.start_kafka, owned.kafka_dir, *owned.kafka_ports, owned.cache)
    finally:
        await dk.wait_kafka_ready_async(owned.kafka, 120, data_dir=owned.kafka_dir)


async def broker_paused(run: Run, lengths: Lengths) -> None:
    pid = dk.kafka_running(run.owned.kafka_dir)
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(lengths.long)  # the fault's length
    finally:
        os.kill(pid, signal.SIGCONT)


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[Run, Lengths], Awaitable[None]]  # returns once the fault has ended
    codes: frozenset[str]  # the codes of the 503s (and 429s) callers may see meanwhile
    backlog: int = 0  # records published at once just before: the fault lands mid-ingestion


def _codes(*codes: str) -> frozenset[str]:
    """The fault's own codes, and the refusals a process at its limits may answer at any time."""
    return frozenset({RATE_LIMITED, OVERLOADED, *codes})


FAULTS = (
    Fault("pool exhaustion (400 more clients)", pool_exhaustion, _codes()),
    Fault("slow query (table locked)", slow_query, _codes("query_timeout")),
    Fault("PostgreSQL restarted", postgres_restart, _codes("database_unavailable"), backlog=3000),
    Fault("PostgreSQL stopped", postgres_stopped, _codes("database_unavailable")),
    Fault("broker restarted", broker_restart, _codes("kafka_unavailable"), backlog=3000),
    Fault("broker paused (SIGSTOP)", broker_paused, _codes("kafka_unavailable")),
)
