"""``profile360 dlq list|replay``: inspect dead letters and re-drive them after a fix."""
from __future__ import annotations

import sys

import orjson
from aiokafka import AIOKafkaProducer

from profile360.dlq import select
from profile360.settings import Settings
from profile360.worker.dead_letters import read_all, replay
from profile360.worker.progress import partitions


async def dlq(settings: Settings, action: str, reason: str | None, origin_topic: str | None, dry_run: bool) -> int:
    """``list`` prints one JSON object per dead letter; ``replay`` sends the selected ones back
    to their origin topics (``--dry-run`` only counts them)."""
    topic = settings.topic("dlq")
    letters = select(await read_all(settings.kafka_bootstrap, topic, await partitions(settings, [topic])),
                     reason, origin_topic)
    if action == "list":
        for d in letters:
            sys.stdout.write(orjson.dumps(d.summary()).decode() + "\n")
        print(f"{len(letters)} dead letter(s)", file=sys.stderr)
        return 0
    if dry_run:
        print(f"would replay {len(letters)} dead letter(s)", file=sys.stderr)
        return 0
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = await replay(producer, letters)
    finally:
        await producer.stop()
    print(f"replayed {sent} dead letter(s) to their origin topics", file=sys.stderr)
    return 0
