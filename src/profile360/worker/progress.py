"""How far the projections are behind the topics: Kafka end offsets vs stored positions."""
from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from profile360.settings import Settings
from profile360.store.writer import TopicPartition as TP
from profile360.topics import PROJECTED_FAMILIES


async def partitions(settings: Settings, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` that exist (missing topics have none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return [TopicPartition(d["topic"], p["partition"]) for d in described if d["error_code"] == 0
            for p in sorted(d["partitions"], key=lambda p: p["partition"])]


async def end_offsets(settings: Settings, families: tuple[str, ...] = PROJECTED_FAMILIES) -> dict[TP, int]:
    """The next offset to be written in every partition of the given topic families."""
    return await _offsets(settings, families, "end_offsets")


async def start_offsets(settings: Settings, families: tuple[str, ...] = PROJECTED_FAMILIES) -> dict[TP, int]:
    """The first offset still in the log of every partition of the given topic families."""
    return await _offsets(settings, families, "beginning_offsets")


async def _offsets(settings: Settings, families: tuple[str, ...], which: str) -> dict[TP, int]:
    tps = await partitions(settings, [settings.topic(f) for f in families])
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        found = await getattr(consumer, which)(tps)
        return {(tp.topic, tp.partition): o for tp, o in found.items()}
    finally:
        await consumer.stop()


async def stored_positions(conn: asyncpg.Connection, consumer: str) -> dict[TP, int]:
    rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = $1", consumer)
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def wait_caught_up(settings: Settings, timeout: float = 60, poll: float = 0.1) -> None:
    """Return once everything published *before this call* has been applied; raise
    ``TimeoutError`` after ``timeout`` seconds."""
    starts = await start_offsets(settings)
    # a partition whose records are all gone (retention, purge) has nothing left to apply
    ends = {tp: o for tp, o in (await end_offsets(settings)).items() if o > starts.get(tp, 0)}
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(settings.database_url)
    try:
        while True:
            stored = await stored_positions(conn, settings.consumer_group)
            behind = {tp: o - max(stored.get(tp, 0), starts.get(tp, 0)) for tp, o in ends.items()
                      if max(stored.get(tp, 0), starts.get(tp, 0)) < o}
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"projections still behind after {timeout}s: {behind}")
            await asyncio.sleep(poll)
    finally:
        await conn.close()
