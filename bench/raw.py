"""Raw limits, measured on the same data as the end-to-end run:

- Kafka consume: a group-less ``AIOKafkaConsumer`` reading the interactions topic from the
  beginning with ``getmany(max_records=10000)``, without and with ``codec.decode`` per value;
- the worker's CPU work before the database (``decode_records``: decode + validation) on
  values already in memory;
- PostgreSQL ``copy_records_to_table`` of the interaction rows in batches of 10k, into a
  scratch table without indexes and into one with every index of ``interaction_history``;
- the writer alone: ``apply_batch`` (the worker's transaction) on pre-decoded entries.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from typing import Any, Callable, NamedTuple

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from profile360.events.codec import Codec
from profile360.settings import Settings
from bench.workload import HISTORY_COLUMNS
from profile360.store.writer import Entry, apply_batch
from profile360.worker.decode import decode_records

COPY_BATCH = 10_000


class FakeRecord(NamedTuple):
    """The fields of an aiokafka ``ConsumerRecord`` that ``decode_records`` reads."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes
    value: bytes


async def consume(settings: Settings, topic: str, total: int, decode: Callable[[bytes], Any] | None,
                  timeout: float = 600) -> float:
    """Seconds to read ``total`` records of ``topic`` from the beginning (and decode each, if given)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen, t0 = 0, time.perf_counter()
        while seen < total and time.perf_counter() - t0 < timeout:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for msgs in batch.values():
                seen += len(msgs)
                if decode is not None:
                    for m in msgs:
                        decode(m.value)
        if seen < total:
            raise TimeoutError(f"read {seen} of {total} records in {timeout:.0f}s")
        return time.perf_counter() - t0
    finally:
        await consumer.stop()


def fake_records(messages: list[tuple[bytes, bytes]], topic: str = "probe") -> list[FakeRecord]:
    return [FakeRecord(topic, 0, i, 0, k, v) for i, (k, v) in enumerate(messages)]


def decode_cpu(codec: Codec, records: list[FakeRecord], batch: int) -> tuple[float, list[Entry]]:
    """Seconds ``decode_records`` takes over ``records`` in worker-sized batches, and the entries."""
    entries: list[Entry] = []
    t0 = time.perf_counter()
    for i in range(0, len(records), batch):
        got, dead = decode_records(codec, records[i:i + batch], Settings().max_event_bytes)
        if dead:
            raise RuntimeError(f"{len(dead)} records of the workload failed to decode: {dead[0].detail}")
        entries += got
    return time.perf_counter() - t0, entries


async def copy_rows(settings: Settings, rows: list[tuple], indexed: bool) -> float:
    """Seconds to COPY ``rows`` into a fresh scratch copy of ``interaction_history``."""
    table = "copy_probe_indexed" if indexed else "copy_probe"
    like = "INCLUDING ALL" if indexed else "INCLUDING DEFAULTS"
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (LIKE interaction_history {like})")
        t0 = time.perf_counter()
        for i in range(0, len(rows), COPY_BATCH):
            await conn.copy_records_to_table(table, records=rows[i:i + COPY_BATCH], columns=HISTORY_COLUMNS)
        seconds = time.perf_counter() - t0
        await conn.execute(f"DROP TABLE {table}")
        return seconds
    finally:
        await conn.close()


def statement_label(sql: str) -> str:
    words = sql.split()
    if words[:2] == ["INSERT", "INTO"] or words[:1] == ["UPDATE"]:
        return " ".join(words[:3])
    if words[:1] == ["SELECT"] and "FOR UPDATE" in sql:
        return "SELECT … FOR UPDATE (lock positions)"
    return " ".join(words[:3])


class _TimedTransaction:
    def __init__(self, owner: "TimedConnection", tx: Any):
        self.owner, self.tx = owner, tx

    async def __aenter__(self) -> Any:
        return await self.owner.timed("BEGIN", self.tx.__aenter__())

    async def __aexit__(self, *exc: Any) -> Any:
        return await self.owner.timed("COMMIT", self.tx.__aexit__(*exc))


class TimedConnection:
    """An asyncpg connection whose execute/fetch/COPY/BEGIN/COMMIT wall times are summed per
    statement (time includes asyncpg's argument encoding and the round trip)."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn
        self.spent: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def timed(self, label: str, awaitable: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await awaitable
        finally:
            self.spent[label] += time.perf_counter() - t0

    def execute(self, sql: str, *args: Any, **kw: Any) -> Any:
        return self.timed(statement_label(sql), self._conn.execute(sql, *args, **kw))

    def fetch(self, sql: str, *args: Any, **kw: Any) -> Any:
        return self.timed(statement_label(sql), self._conn.fetch(sql, *args, **kw))

    def copy_records_to_table(self, table: str, **kw: Any) -> Any:
        return self.timed(f"COPY {table}", self._conn.copy_records_to_table(table, **kw))

    def transaction(self) -> _TimedTransaction:
        return _TimedTransaction(self, self._conn.transaction())


def _rekey(entries: list[Entry], topic: str, tenant: str | None = None) -> list[Entry]:
    """Same events under new event ids (``w-`` prefix), so the history insert is not a no-op;
    in ``tenant`` if given."""
    return [Entry(topic, 0, i, replace(e.event, event_id="w-" + e.event.event_id,
                                       tenant_id=tenant or e.event.tenant_id)) for i, e in enumerate(entries)]


async def writer_with_segment(settings: Settings, entries: list[Entry], batch: int, rule: str) -> float:
    """Seconds ``apply_batch`` takes over ``entries`` (in a tenant of their own) while that
    tenant has one live segment with ``rule``: every batch re-evaluates the profiles it touches."""
    from datetime import datetime, timezone

    from profile360.events.model import from_record
    tenant = f"seg-{abs(hash(rule)) % 10_000}"
    todo = _rekey(entries, f"{settings.topic_prefix}.segment_probe", tenant)
    segment = from_record("SegmentDefined", {"eventId": f"seg-{tenant}", "tenantId": tenant, "segmentId": "probe",
                                             "occurredAt": datetime.now(timezone.utc), "name": "Probe", "rule": rule})
    consumer = f"{settings.consumer_group}-segment-probe-{tenant}"
    conn = await asyncpg.connect(settings.database_url)
    try:
        await apply_batch(conn, consumer, [Entry(f"{settings.topic_prefix}.segment_def", 0, 0, segment)])
        t0 = time.perf_counter()
        for i in range(0, len(todo), batch):
            await apply_batch(conn, consumer, todo[i:i + batch])
        return time.perf_counter() - t0
    finally:
        await conn.close()


async def writer_alone(settings: Settings, entries: list[Entry], batch: int) -> tuple[float, Counter[str]]:
    """Seconds ``apply_batch`` takes over ``entries`` in worker-sized batches (one connection),
    and the seconds spent per SQL statement (the rest is Python in the writer).

    The events get fresh ids and a consumer name of their own, so this adds rows next to the
    end-to-end run's rather than skipping them as duplicates."""
    todo = _rekey(entries, f"{settings.topic_prefix}.writer_probe")
    conn = TimedConnection(await asyncpg.connect(settings.database_url))
    try:
        t0 = time.perf_counter()
        for i in range(0, len(todo), batch):
            await apply_batch(conn, f"{settings.consumer_group}-writer-probe", todo[i:i + batch])
        return time.perf_counter() - t0, conn.spent
    finally:
        await conn.close()
