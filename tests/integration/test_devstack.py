"""Integration test for the Docker-free dev stack: real Kafka (KRaft) and real PostgreSQL."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from profile360.devstack import free_port
from profile360.settings import Settings
from profile360.devstack.kafka import (
    kafka_running,
    start_kafka,
    stop_kafka,
    wait_kafka_ready_async,
)
from profile360.devstack.postgres import postgres_running, start_postgres, stop_postgres

pytestmark = pytest.mark.integration


def _port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def _kafka_roundtrip(bootstrap: str) -> bytes:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = f"devstack-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        msg = await consumer.getone()
        return msg.value
    finally:
        await consumer.stop()


async def _pg_select_one(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetchval("select 1")
    finally:
        await conn.close()


async def test_devstack_kafka_and_postgres(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cache = Settings.from_env().devstack_dir / "cache"
    kafka_dir, pg_dir = tmp_path / "kafka", tmp_path / "postgres"
    kport, cport, pport = free_port(), free_port(), free_port()
    try:
        start_kafka(kafka_dir, kport, cport, cache)
        dsn = start_postgres(pg_dir, pport, fsync=False)
        bootstrap = f"127.0.0.1:{kport}"
        await wait_kafka_ready_async(bootstrap, 90, data_dir=kafka_dir)

        assert await _kafka_roundtrip(bootstrap) == b"hello"
        assert await _pg_select_one(dsn) == 1
    finally:
        was_kafka = stop_kafka(kafka_dir)
        was_pg = stop_postgres(pg_dir)

    assert was_kafka and was_pg
    assert kafka_running(kafka_dir) is None
    assert not postgres_running(pg_dir)
    assert _port_closed(kport) and _port_closed(pport)
