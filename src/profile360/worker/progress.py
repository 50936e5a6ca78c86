"""How far the projections are behind the topics: Kafka end offsets vs stored positions."""
from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from profile360.outages import riding_out
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
    state, members = await group_state(settings, group)
    return members if state == "Stable" else 0


async def group_state(settings: Settings, group: str) -> tuple[str, int]:
    """(state, members) of consumer group ``group``: the state as Kafka names it (``Stable``,
    ``PreparingRebalance``, ``CompletingRebalance``, ``Empty``, ``Dead``), or ``Unknown``
    while its coordinator is not ready."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    except KafkaError as exc:
        if not exc.retriable:
            raise
        return "Unknown", 0
    finally:
        await admin.close()
    _error, _group, state, _protocol_type, _protocol, members, *_ = response.groups[0]
    return state, len(members)


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
    ``TimeoutError`` after ``timeout`` seconds. Outages meanwhile are waited out (the one
    pooled connection is replaced when one breaks it)."""
    deadline = time.monotonic() + timeout
    starts, ends = await asyncio.wait_for(riding_out(log_bounds, settings, what="reading log ends"), timeout)
    async with asyncpg.create_pool(settings.database_url, min_size=0, max_size=1) as pool:
        while True:
            left = max(0.1, deadline - time.monotonic())
            stored = await asyncio.wait_for(riding_out(_stored_in, pool, settings.consumer_group,
                                                       what="reading stored positions"), left)
            applied = reached(stored, starts)
            behind = {tp: o - applied[tp] for tp, o in ends.items() if applied[tp] < o}
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"projections still behind after {timeout}s: {behind}")
            await asyncio.sleep(poll)


async def _stored_in(pool: asyncpg.Pool, consumer: str) -> dict[TP, int]:
    async with pool.acquire() as conn:
        return await stored_positions(conn, consumer)


async def record_times(settings: Settings, offsets: dict[TP, int], timeout: float = 2.0) -> dict[TP, float]:
    """The timestamp (seconds since the epoch) of the record at each given offset, for the
    partitions where one is there to read within ``timeout``."""
    tps = {TopicPartition(t, p): o for (t, p), o in offsets.items()}
    if not tps:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(tps))
        for tp, offset in tps.items():
            consumer.seek(tp, offset)
        found: dict[TP, float] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(tps) and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                if records and (tp.topic, tp.partition) not in found:
                    found[(tp.topic, tp.partition)] = records[0].timestamp / 1000
                    consumer.pause(tp)
        return found
    finally:
        await consumer.stop()


async def positions_with_times(conn: asyncpg.Connection, consumer: str) -> dict[TP, tuple[int, float]]:
    """Each stored position of ``consumer`` with when it was last written (seconds since the epoch)."""
    rows = await conn.fetch("SELECT topic, partition, next_offset, extract(epoch FROM updated_at)::float8 AS at "
                            "FROM consumer_positions WHERE consumer = $1", consumer)
    return {(r["topic"], r["partition"]): (r["next_offset"], r["at"]) for r in rows}


def suspects(now: float, stall_seconds: float, stored: dict[TP, tuple[int, float]], starts: dict[TP, int],
             ends: dict[TP, int]) -> dict[TP, int]:
    """Partitions with records to apply where nothing was applied for ``stall_seconds``, each
    with the offset of its first record not applied (never before the log start)."""
    found = {}
    for tp, end in ends.items():
        offset, at = stored.get(tp, (0, float("-inf")))
        first = max(offset, starts.get(tp, 0))
        if first < end and now - at > stall_seconds:
            found[tp] = first
    return found


def stalled(now: float, stall_seconds: float, waiting_since: dict[TP, float]) -> dict[TP, float]:
    """Of the suspects, those whose first record not applied was published more than
    ``stall_seconds`` ago, with how long it has waited: the worker is not keeping up with them
    (a record that just arrived on a quiet partition is not a stall)."""
    return {tp: round(now - at, 1) for tp, at in waiting_since.items() if now - at > stall_seconds}
