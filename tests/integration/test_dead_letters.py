"""Bad records go to the dead-letter topic with their reason and origin; the partition moves on."""
from __future__ import annotations

from datetime import datetime, timezone

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from profile360.bootstrap import load_codec, open_pool
from profile360.events.model import Interaction
from profile360.store.writer import Entry
from profile360.topics import ensure_topics
from profile360.worker.dead_letters import origin_of
from profile360.worker.runner import Worker

from . import workload
from .harness import InProcessWorker, wait_caught_up, wait_until
from .test_pipeline import check_tables_match_oracle, publish

pytestmark = pytest.mark.integration
CODEC = load_codec()


async def read_topic(settings, topic: str, count: int, timeout: float = 30) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    got: list = []
    try:
        async def more():
            batch = await consumer.getmany(timeout_ms=200)
            got.extend(r for part in batch.values() for r in part)
            return len(got) >= count
        await wait_until(more, timeout, f"{count} records on {topic}")
        return got
    finally:
        await consumer.stop()


def poison(tenant: str) -> dict[str, bytes]:
    good = workload.interactions(tenant, 1, prefix="p")[0]
    return {
        "truncated": CODEC.encode("InteractionEvent", good)[:7],
        "unknown_schema": b"\xc3\x01" + b"\x13" * 8 + b"\x00",
        "not_single_object": b'{"eventId": "json instead of avro"}',
        "bad_timestamp": CODEC.encode("InteractionEvent", {**good, "eventId": "p-ts", "occurredAt": datetime(1990, 1, 1, tzinfo=timezone.utc)}),
        "missing_tenant": CODEC.encode("InteractionEvent", {**good, "eventId": "p-tenant", "tenantId": ""}),
        "unknown_type": CODEC.encode("InteractionEvent", {**good, "eventId": "p-type", "type": "Not A Type!"}),
        "oversized": CODEC.encode("InteractionEvent", {**good, "eventId": "p-big", "metadata": {"blob": "x" * 300_000}}),
    }


async def test_poison_messages_are_dead_lettered_and_later_events_applied(settings):
    await ensure_topics(settings)
    bad = poison("acme")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for value in bad.values():
            await producer.send_and_wait(settings.topic("interactions"), value, partition=0)
    finally:
        await producer.stop()
    events = workload.interactions("acme", 100)
    await publish(settings, [], events)
    async with InProcessWorker(settings) as worker:
        await wait_caught_up(settings)
    assert worker.stats.dead == len(bad)
    await check_tables_match_oracle(settings, events)

    letters = await read_topic(settings, settings.topic("dlq"), len(bad))
    by_value = {r.value: origin_of(r.headers) for r in letters}
    for label, value in bad.items():
        meta = by_value[value]  # the original bytes, unchanged
        assert meta["p360.origin.topic"] == settings.topic("interactions")
        assert meta["p360.origin.partition"] == "0"
        expected_reason = label if label in ("truncated", "unknown_schema", "not_single_object", "oversized") else "invalid_event"
        assert meta["p360.reason"] == expected_reason, (label, meta)
    assert sorted(int(m["p360.origin.offset"]) for m in by_value.values()) == list(range(len(bad)))
    assert "occurredAt" in by_value[bad["bad_timestamp"]]["p360.detail"]
    assert "tenantId" in by_value[bad["missing_tenant"]]["p360.detail"]


async def test_a_record_the_database_rejects_is_isolated_and_dead_lettered(settings):
    """The bisecting safety net: validation should stop such records, but if one gets through
    (here a NUL byte in metadata, which jsonb refuses) it must not block its partition."""
    await ensure_topics(settings)
    now = datetime.now(timezone.utc)
    events = [Interaction(f"e{i}", "acme", now, "c1", "impression", offer_id="o1") for i in range(9)]
    events[4] = Interaction("e4", "acme", now, "c1", "impression", offer_id="o1", metadata={"k": "\x00"})
    topic = settings.topic("interactions")
    entries = [Entry(topic, 0, i, e) for i, e in enumerate(events)]
    raw = [ConsumerRecord(topic, 0, i, 0, 0, None, f"raw{i}".encode(), None, 0, 4, ()) for i in range(9)]
    pool = await open_pool(settings)
    worker = Worker(settings, CODEC, pool)
    await worker.producer.start()
    try:
        positions = await worker._apply_isolating(entries, raw)
    finally:
        await worker.producer.stop()
        await pool.close()
    assert positions[(topic, 0)] == 9
    letters = await read_topic(settings, settings.topic("dlq"), 1)
    assert [(r.value, origin_of(r.headers)["p360.reason"]) for r in letters] == [(b"raw4", "rejected_by_database")]
    conn = await asyncpg.connect(settings.database_url)
    try:
        ids = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM interaction_history")}
        impressions = await conn.fetchval("SELECT sum(impression) FROM interaction_summary_daily WHERE dimension = 'action'")
    finally:
        await conn.close()
    assert ids == {f"e{i}" for i in range(9)} - {"e4"}
    assert impressions == 8
