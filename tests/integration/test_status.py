"""The pipeline's state (``profile360.status``) as ``GET /api/v1/status`` reports it: positions,
end offsets and lag per partition equal to what the producer was told by Kafka, moving as the
worker applies; dead letters counted; the current generation."""
from __future__ import annotations

from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer

from profile360.bootstrap import load_codec
from profile360.topics import PROJECTED_FAMILIES, ensure_topics, partition_key

from . import workload
from .api_auth import make_key
from .harness import InProcessWorker, wait_caught_up, wait_until
from .test_pipeline import api_client

pytestmark = pytest.mark.integration
CODEC = load_codec()


async def publish_counted(settings, interactions: list[dict], junk: int = 0) -> Counter:
    """Publish the interactions (and ``junk`` undecodable records to partition 0); returns the
    records per (topic, partition) as the broker acknowledged them: the independent count."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    sent: Counter = Counter()
    topic = settings.topic("interactions")
    try:
        for rec in interactions:
            meta = await producer.send_and_wait(topic, CODEC.encode("InteractionEvent", rec),
                                                key=partition_key("InteractionEvent", rec))
            sent[(meta.topic, meta.partition)] += 1
        for _ in range(junk):
            meta = await producer.send_and_wait(topic, b"this is not Avro but text", partition=0)
            sent[(meta.topic, meta.partition)] += 1
    finally:
        await producer.stop()
    return sent


async def get_status(client, key: str) -> dict:
    resp = await client.get("/api/v1/status", headers={"Authorization": f"Bearer {key}"})
    assert resp.status == 200, await resp.text()
    return await resp.json()


def by_partition(body: dict) -> dict[tuple[str, int], dict]:
    return {(t["topic"], t["partition"]): t for t in body["topics"]}


async def test_status_positions_and_lag_move_as_kafka_counts(settings):
    await ensure_topics(settings)
    sent = await publish_counted(settings, workload.interactions("acme", 120), junk=2)
    client = await api_client(settings)
    try:
        assert (await client.get("/api/v1/status")).status == 401
        key = await make_key(settings.database_url, "someone-else", "viewer")  # any tenant's reader
        before = await get_status(client, key)
        rows = by_partition(before)
        assert set(rows) == {(settings.topic(f), p) for f in PROJECTED_FAMILIES for p in range(settings.topic_partitions)}
        for tp, row in rows.items():
            assert (row["position"], row["endOffset"], row["lag"], row["lastAppliedAt"]) == (0, sent[tp], sent[tp], None)
        assert (before["deadLetters"], before["generation"]) == (0, 1)

        async with InProcessWorker(settings):
            await wait_caught_up(settings)

        async def caught_up():
            body = await get_status(client, key)  # Kafka's offsets are cached for a second
            return body if body["deadLetters"] == 2 else None
        after = await wait_until(caught_up, 10, "the status to show the dead letters")
        assert set(by_partition(after)) == set(by_partition(before))
        for tp, row in by_partition(after).items():
            assert (row["position"], row["endOffset"], row["lag"]) == (sent[tp], sent[tp], 0), tp
            assert (row["lastAppliedAt"] is not None) == (sent[tp] > 0), tp
        assert after["generation"] == 1 and after["checkedAt"].endswith("Z")
    finally:
        await client.close()


async def test_rebuild_progress_is_read_from_the_generation_being_built(settings):
    import asyncpg

    from profile360 import status
    from profile360.resources import projections_dir
    from profile360.store import generations
    from profile360.store.migrations import load_migrations

    conn = await asyncpg.connect(settings.database_url)
    try:
        assert not await status.rebuilding(conn)
        gen = await generations.create_building(conn, load_migrations(projections_dir()))
        await conn.execute(f"INSERT INTO {gen.schema}.consumer_positions (consumer, topic, partition, next_offset) "
                           "VALUES ('rebuilder', 't', 0, 5), ('rebuilder', 't', 1, 10)")
        assert await status.rebuilding(conn)
        ends = {("t", 0): 10, ("t", 1): 10, (settings.topic("dlq"), 0): 99}  # dead letters are not rebuilt
        assert await status.rebuild_progress(conn, settings, {}, ends) == (gen.number, 0.75)
    finally:
        await conn.close()
