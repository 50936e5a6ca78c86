"""``replay --from``: re-apply every record published at or after a time.

Moves the stored positions of the live consumer group in the current generation back to the
first offset at or after that time (never forward). The running worker notices within about
a second, or on its next batch (which no longer continues from the stored position, see
``store.writer``), re-seeks, and applies the window again. Applying is idempotent (the folds ignore events they
already hold), so a replay changes the projections only where they had missed or mis-applied
something, e.g. after a fix to a fold or a restore of the database from a backup.
"""
from __future__ import annotations

from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from profile360.settings import Settings
from profile360.store import generations
from profile360.worker import progress

TP = tuple[str, int]


async def offsets_at(settings: Settings, since: datetime) -> dict[TP, int]:
    """Per partition: the first offset whose record timestamp is at or after ``since`` (the
    end offset where there is none)."""
    ends = await progress.end_offsets(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        found = await consumer.offsets_for_times({TopicPartition(t, p): int(since.timestamp() * 1000) for t, p in ends})
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): (o.offset if o is not None else ends[(tp.topic, tp.partition)])
            for tp, o in found.items()}


async def replay_from(settings: Settings, since: datetime) -> dict[TP, tuple[int, int]]:
    """Move positions back to ``since``; returns ``{partition: (old, new)}`` of those moved."""
    targets = await offsets_at(settings, since)
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await generations.enter_current(conn)
            rows = await conn.fetch(
                """UPDATE consumer_positions c SET next_offset = u.o, updated_at = now()
                   FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, o),
                        LATERAL (SELECT next_offset AS old FROM consumer_positions
                                 WHERE consumer = $1 AND topic = u.t AND partition = u.p) AS before
                   WHERE c.consumer = $1 AND c.topic = u.t AND c.partition = u.p AND c.next_offset > u.o
                   RETURNING c.topic, c.partition, before.old, c.next_offset""",
                settings.consumer_group, [t for t, _ in targets], [p for _, p in targets], list(targets.values()))
    finally:
        await conn.close()
    return {(r["topic"], r["partition"]): (r["old"], r["next_offset"]) for r in rows}
