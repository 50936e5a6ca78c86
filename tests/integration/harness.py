"""Helpers the integration tests share: polling with a deadline, topic end offsets, running
the worker in-process or as a real process, and reading whole tables."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from profile360.bootstrap import load_codec, open_pool
from profile360.settings import Settings
from profile360.topics import ensure_topics
from profile360.worker import progress
from profile360.worker.runner import Worker

CODEC = load_codec()


async def wait_until(check: Callable[[], Awaitable[Any]], timeout: float = 60, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")


@contextlib.asynccontextmanager
async def table_locked(database_url: str, table: str) -> AsyncIterator[None]:
    """``table`` locked (ACCESS EXCLUSIVE) by a connection of its own for the block: every query
    on it waits."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def lock_waiters(conn: asyncpg.Connection) -> int:
    """How many sessions of ``conn``'s database wait on a lock now (ask from a connection outside
    the lock's transaction: a transaction's view of ``pg_stat_activity`` stays what it first read)."""
    return await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()")


async def stored_positions(settings: Settings) -> dict[tuple[str, int], int]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await progress.stored_positions(conn, settings.consumer_group)
    finally:
        await conn.close()


end_offsets = progress.end_offsets
wait_caught_up = progress.wait_caught_up


async def topic_records(settings: Settings, skip: tuple[str, ...] = ()) -> list[tuple[str, dict]]:
    """Every record in the projected topics (not the dead letters), from the log start to the
    end offsets of the moment, decoded: (record name, record); families in ``skip`` left out."""
    skipped = {settings.topic(f) for f in skip}
    ends = {tp: o for tp, o in (await end_offsets(settings)).items() if o > 0 and tp[0] not in skipped}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[str, dict]] = []
    try:
        for (topic, partition), end in ends.items():
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while await consumer.position(tp) < end:
                for r in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if r.offset < end:
                        decoded = CODEC.decode(r.value)
                        out.append((decoded.name, decoded.record))
    finally:
        await consumer.stop()
    return out


class InProcessWorker:
    def __init__(self, settings: Settings):
        self.settings = settings

    async def __aenter__(self) -> Worker:
        await ensure_topics(self.settings)  # as `profile360 worker` does before it subscribes
        self.pool = await open_pool(self.settings)
        self.worker = Worker(self.settings, load_codec(), self.pool)
        self.task = asyncio.create_task(self.worker.run())
        return self.worker

    async def __aexit__(self, *exc: Any) -> None:
        self.worker.stop()
        await asyncio.wait_for(self.task, 30)
        await self.pool.close()


def env_for(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings.to_env()}


#: the command that runs profile360 from the source under test
PROFILE360 = (sys.executable, "-m", "profile360")


def start_process(name: str, argv: list[str], env: dict[str, str], cwd: str | None = None) -> subprocess.Popen:
    """``argv`` as a real process; its stderr goes to a temporary file (``name-….log``) whose
    tail ``worker_log`` returns."""
    log = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc


def start_worker_process(settings: Settings, processes: int = 1, command=PROFILE360, env: dict[str, str] | None = None,
                         cwd: str | None = None) -> subprocess.Popen:
    """``profile360 worker --processes N`` as a real process (``start_process``); ``env``
    replaces ``env_for(settings)``."""
    return start_process("worker", [*command, "worker", "--processes", str(processes)], env or env_for(settings), cwd)


def start_api_process(settings: Settings, command=PROFILE360, base_env: dict[str, str] | None = None,
                      cwd: str | None = None, **env: str) -> subprocess.Popen:
    """``profile360 api`` as a real process (``start_process``) on a free port
    (``proc.base_url``); ``env`` adds variables to ``base_env`` (default ``env_for(settings)``)."""
    from profile360.devstack import free_port

    port = free_port()
    proc = start_process("api", [*command, "api"], {**(base_env or env_for(settings)), "API_BIND": f"127.0.0.1:{port}", **env}, cwd)
    proc.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return proc


async def pids_answering(base_url: str, requests: int = 20) -> set[int]:
    """The pids that answer ``/healthz``, each request on a new connection."""
    import aiohttp

    pids = set()
    for _ in range(requests):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            async with session.get(base_url + "/healthz") as resp:
                pids.add((await resp.json())["pid"])
    return pids


async def serving(api: subprocess.Popen, processes: int) -> list[int]:
    """Wait until ``profile360 api`` serves from all of its ``processes`` (each starts on its own
    time); returns their pids."""
    import aiohttp

    async def up():
        pids = children_of(api) if processes > 1 else [api.pid]
        try:
            return pids if len(pids) == processes and await pids_answering(api.base_url) == set(pids) else None
        except aiohttp.ClientError:
            return None
    return await wait_until(up, 60, f"{processes} API process(es) answering")


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM, then the exit code; a process that does not exit within ``timeout`` is
    killed and the test fails."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def worker_log(proc: subprocess.Popen, chars: int = 4000) -> str:
    with open(proc.log_path, encoding="utf-8", errors="replace") as f:  # type: ignore[attr-defined]
        return f.read()[-chars:]


async def table(conn: asyncpg.Connection, name: str, order: str) -> list[dict]:
    return [dict(r) for r in await conn.fetch(f"SELECT * FROM {name} ORDER BY {order}")]


async def group_members(settings, count: int) -> bool:
    """Whether the worker group is stable with ``count`` members."""
    return await progress.stable_members(settings, settings.consumer_group) == count


def children_of(proc: subprocess.Popen) -> list[int]:
    return children_of_pid(proc.pid)


def children_of_pid(pid: int) -> list[int]:
    """Live child processes of ``pid`` (of any of its threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found
