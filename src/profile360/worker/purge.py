"""``profile360 purge``: remove erased people's records from the Kafka topics themselves.

Erasure removes a person from every projection at once and keeps them out of every replay,
but their original events stay in the topics until this runs. For each partition of the
projected topics (except ``erasure``, which holds only hashes) that holds a record an erasure
covers, ``purge``:

1. notes the partition's end offset ``X``;
2. reads ``[log start, X)`` and appends every record an erasure does *not* cover to the end
   of the same partition, unchanged (key, value, headers, timestamp);
3. once all of them are acknowledged, deletes the records below ``X`` (Kafka DeleteRecords).

So the producers, the topics and the workers stay as they are. The re-appended records are
events the projections already hold: the folds ignore them (each event id is applied once; the
registers keep their latest version), and a rebuild reads them with everything that came
later. A worker that was behind ``X`` loses nothing either: what it had not read was either
erased or appended again. A purge that stops half-way leaves at worst duplicates in the log,
which are harmless for the same reason; run it again.

Records that do not decode are kept as they are (they went to the dead-letter topic). The
dead-letter topic itself is not a source of truth: it is created with a bounded retention.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from profile360.events.codec import Codec, DecodeError
from profile360.events.model import from_record
from profile360.events.rules import InvalidEvent
from profile360.settings import Settings
from profile360.store import log_starts
from profile360.store.erasure import without_erased
from profile360.topics import DLQ_MAX_MESSAGE_BYTES, PROJECTED_FAMILIES
from profile360.worker import progress

CHUNK = 5000


@dataclass
class PurgeReport:
    scanned: int = 0
    removed: int = 0
    kept: int = 0
    partitions: list[str] = field(default_factory=list)  # the partitions rewritten


async def purge(settings: Settings, codec: Codec, dry_run: bool = False) -> PurgeReport:
    report = PurgeReport()
    families = tuple(f for f in PROJECTED_FAMILIES if f != "erasure")
    ends = {tp: o for tp, o in (await progress.end_offsets(settings, families)).items() if o > 0}
    conn = await asyncpg.connect(settings.database_url)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=DLQ_MAX_MESSAGE_BYTES)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
                                max_request_size=DLQ_MAX_MESSAGE_BYTES)
    await consumer.start()
    await producer.start()
    try:
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM erasures)"):
            return report
        for (topic, partition), end in sorted(ends.items()):
            tp = TopicPartition(topic, partition)
            keep, scanned = await _kept(conn, codec, consumer, tp, end)
            report.scanned += scanned
            report.kept += len(keep)
            if len(keep) < scanned:
                report.removed += scanned - len(keep)
                report.partitions.append(f"{topic}[{partition}]")
                if not dry_run:
                    await _rewrite(settings, conn, producer, tp, end, keep)
    finally:
        await producer.stop()
        await consumer.stop()
        await conn.close()
    return report


async def _rewrite(settings: Settings, conn: asyncpg.Connection, producer: AIOKafkaProducer, tp: TopicPartition,
                   end: int, keep: list) -> None:
    """Append ``keep`` to ``tp`` unchanged, then delete everything below ``end``."""
    for r in keep:
        await producer.send(tp.topic, r.value, key=r.key, partition=tp.partition, timestamp_ms=r.timestamp,
                            headers=list(r.headers or ()))
    await producer.flush()
    await log_starts.record(conn, (tp.topic, tp.partition), end)  # first: a rebuild must accept the new start
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_records({tp: RecordsToDelete(before_offset=end)})
    finally:
        await admin.close()


async def _kept(conn: asyncpg.Connection, codec: Codec, consumer: AIOKafkaConsumer, tp: TopicPartition,
                end: int) -> tuple[list, int]:
    """The records of ``tp`` below ``end`` no erasure covers (undecodable ones included), and
    how many records were read."""
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    kept, scanned, chunk = [], 0, []
    while chunk or await consumer.position(tp) < end:
        if await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=CHUNK)
            chunk.extend(r for r in batch.get(tp, []) if r.offset < end)
        if len(chunk) >= CHUNK or (chunk and await consumer.position(tp) >= end):
            kept += await _not_erased(conn, codec, chunk)
            scanned += len(chunk)
            chunk = []
    return kept, scanned


async def _not_erased(conn: asyncpg.Connection, codec: Codec, records: list) -> list:
    """``records`` minus those whose event an erasure covers (in their order)."""
    events = {}
    for r in records:
        try:
            decoded = codec.decode(r.value)
            # an event naming an identifier that cannot be normalized was dead-lettered, yet may
            # name an erased person by its other identifiers: read it all the same
            events[id(r)] = from_record(decoded.name, decoded.record, check_identifiers=False)
        except (DecodeError, InvalidEvent):
            pass  # kept as it is: it was dead-lettered, and nothing here can read it
    kept = {id(e) for e in await without_erased(conn, list(events.values()))}
    return [r for r in records if id(r) not in events or id(events[id(r)]) in kept]
