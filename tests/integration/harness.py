"""Helpers the integration tests share: polling with a deadline, topic end offsets, running
the worker in-process or as a real process, and reading whole tables."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any, Awaitable, Callable

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from profile360.bootstrap import load_codec, open_pool
from profile360.settings import Settings
from profile360.topics import PROJECTED_FAMILIES
from profile360.worker.runner import Worker


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


async def end_offsets(settings: Settings, families: tuple[str, ...] = PROJECTED_FAMILIES) -> dict[tuple[str, int], int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.topic(f), p) for f in families for p in range(settings.topic_partitions)]
        ends = await consumer.end_offsets(tps)
        return {(tp.topic, tp.partition): o for tp, o in ends.items()}
    finally:
        await consumer.stop()


async def stored_positions(settings: Settings) -> dict[tuple[str, int], int]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = $1",
                                settings.consumer_group)
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
    finally:
        await conn.close()


async def wait_caught_up(settings: Settings, timeout: float = 60) -> None:
    """Until the stored positions reach the end of every projected topic partition."""
    ends = {tp: o for tp, o in (await end_offsets(settings)).items() if o > 0}

    async def check() -> bool:
        stored = await stored_positions(settings)
        return all(stored.get(tp, 0) >= o for tp, o in ends.items())
    await wait_until(check, timeout, f"worker to reach {ends}")


class InProcessWorker:
    def __init__(self, settings: Settings):
        self.settings = settings

    async def __aenter__(self) -> Worker:
        self.pool = await open_pool(self.settings)
        self.worker = Worker(self.settings, load_codec(), self.pool)
        self.task = asyncio.create_task(self.worker.run())
        return self.worker

    async def __aexit__(self, *exc: Any) -> None:
        self.worker.stop()
        await asyncio.wait_for(self.task, 30)
        await self.pool.close()


def env_for(settings: Settings) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap, "DATABASE_URL": settings.database_url,
            "P360_TOPIC_PREFIX": settings.topic_prefix, "P360_CONSUMER_GROUP": settings.consumer_group,
            "P360_BATCH_MAX_RECORDS": str(settings.batch_max_records),
            "P360_TOPIC_PARTITIONS": str(settings.topic_partitions)}


def start_worker_process(settings: Settings) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "profile360", "worker"], env=env_for(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def table(conn: asyncpg.Connection, name: str, order: str) -> list[dict]:
    return [dict(r) for r in await conn.fetch(f"SELECT * FROM {name} ORDER BY {order}")]


def as_dicts(items: list) -> list[dict]:
    return [asdict(i) for i in items]
