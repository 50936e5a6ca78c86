"""``profile360 dlq list|replay``: an operator sees why records were dead-lettered and re-drives
them once the fix is deployed (here: a newer schema version the old worker did not know)."""
from __future__ import annotations

import asyncio
import copy
import subprocess
import sys

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from profile360.bootstrap import load_codec, open_pool
from profile360.events.codec import Codec, SchemaVersion, load_versions, schema_fingerprint
from profile360.resources import schemas_dir
from profile360.topics import ensure_topics
from profile360.worker.runner import Worker

from . import workload
from .harness import InProcessWorker, env_for, wait_caught_up
from .test_dead_letters import poison

pytestmark = pytest.mark.integration


def dlq_cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "profile360", "dlq", *args], capture_output=True, text=True,
                          env=env_for(settings), timeout=120)


def codec_with_newer_interaction_schema() -> Codec:
    """What a later release ships: InteractionEvent v99 with one more optional field."""
    latest = load_codec().latest("InteractionEvent")
    schema = copy.deepcopy(latest.parsed)
    schema["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
    return Codec([*load_versions(schemas_dir()), SchemaVersion("InteractionEvent", 99, schema, schema_fingerprint(schema))])


async def test_list_then_replay_after_the_fix_is_deployed(settings):
    await ensure_topics(settings)
    newer = codec_with_newer_interaction_schema()
    record = {**workload.interactions("acme", 1, prefix="future")[0], "note": "written by a newer producer"}
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic("interactions"), newer.encode("InteractionEvent", record, version=99))
        for value in poison("acme").values():
            await producer.send_and_wait(settings.topic("interactions"), value)
    finally:
        await producer.stop()
    async with InProcessWorker(settings):  # today's worker: does not know v99
        await wait_caught_up(settings)

    listed = dlq_cli(settings, "list")
    assert listed.returncode == 0, listed.stderr
    letters = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert len(letters) == 1 + len(poison("acme"))
    assert sum(1 for d in letters if d["reason"] == "unknown_schema") == 2
    assert all(d["originTopic"] == settings.topic("interactions") for d in letters)
    only = dlq_cli(settings, "list", "--reason", "invalid_event")
    assert len(only.stdout.splitlines()) == 3

    dry = dlq_cli(settings, "replay", "--reason", "unknown_schema", "--dry-run")
    assert "would replay 2" in dry.stderr
    # Deploy the fix: a worker that knows v99; then re-drive the unknown-schema letters
    pool = await open_pool(settings)
    worker = Worker(settings, newer, pool)
    task = asyncio.create_task(worker.run())
    try:
        replayed = dlq_cli(settings, "replay", "--reason", "unknown_schema")
        assert replayed.returncode == 0 and "replayed 2" in replayed.stderr
        await wait_caught_up(settings)
    finally:
        worker.stop()
        await task
        await pool.close()
    conn = await asyncpg.connect(settings.database_url)
    try:
        ids = [r["event_id"] for r in await conn.fetch("SELECT event_id FROM interaction_history")]
    finally:
        await conn.close()
    assert ids == ["future-0"]
    # The still-undecodable poison letter was dead-lettered again: nothing is silently dropped
    assert len(dlq_cli(settings, "list", "--reason", "unknown_schema").stdout.splitlines()) == 3
