"""How far the projections are behind the topics: Kafka end offsets vs stored positions."""
from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

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


async def stable_members(settings: Settings, group: str) -> int:
    """How many members consumer group ``group`` has once it is stable (0 while it rebalances,
    is empty, or its coordinator is not ready yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    except KafkaError as exc:
        if not exc.retriable:
            raise
        return 0
    finally:
        await admin.close()
    _error, _group, state, _protocol_type, _protocol, members, *_ = response.groups[0]
    return len(members) if state == "Stable" else 0


async def end_offsets(settings: Settings, families: tuple[str, ...] = PROJECTED_FAMILIES) -> dict[TP, int]:
    """The next offset to be written in every partition of the given topic families."""
    return (await log_bounds(settings, families))[1]


async def start_offsets(settings: Settings, families: tuple[str, ...] = PROJECTED_FAMILIES) -> dict[TP, int]:
    """The first offset still in the log of every partition of the given topic families."""
    return (await log_bounds(settings, families))[0]


async def log_bounds(settings: Settings, families: tuple[str, ...] = PROJECTED_FAMILIES) -> tuple[dict[TP, int], dict[TP, int]]:
    """(first offset still in the log, next offset to be written) of every partition of the
    given topic families, from one metadata request and one consumer."""
    tps = await partitions(settings, [settings.topic(f) for f in families])
    if not tps:
        return {}, {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        return ({(tp.topic, tp.partition): o for tp, o in starts.items()},
                {(tp.topic, tp.partition): o for tp, o in ends.items()})
    finally:
        await consumer.stop()


def reached(stored: dict[TP, int], starts: dict[TP, int]) -> dict[TP, int]:
    """How far each partition is applied: its stored position, but never before its log start
    (records removed by retention or ``purge`` are not waited for)."""
    return {tp: max(stored.get(tp, 0), starts.get(tp, 0)) for tp in stored.keys() | starts.keys()}


async def stored_positions(conn: asyncpg.Connection, consumer: str) -> dict[TP, int]:
    rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = $1", consumer)
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def wait_caught_up(settings: Settings, timeout: float = 60, poll: float = 0.1) -> None:
    """Return once everything published *before this call* has been applied; raise
    ``TimeoutError`` after ``timeout`` seconds."""
    starts, ends = await log_bounds(settings)
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(settings.database_url)
    try:
        while True:
            applied = reached(await stored_positions(conn, settings.consumer_group), starts)
            behind = {tp: o - applied[tp] for tp, o in ends.items() if applied[tp] < o}
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"projections still behind after {timeout}s: {behind}")
            await asyncio.sleep(poll)
    finally:
        await conn.close()
