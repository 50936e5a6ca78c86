"""``profile360 produce``: JSON lines in, Avro single-object messages out.

All or nothing: every line is parsed and validated first; if any line is bad, the errors
(line number and field) are printed and nothing is sent. Otherwise all records are sent and
acknowledged by the broker before the command returns.
"""
from __future__ import annotations

import asyncio
import sys
from typing import IO, Iterable

from aiokafka import AIOKafkaProducer

from profile360.events.codec import Codec
from profile360.events.jsonl import LineError, parse_lines
from profile360.settings import Settings
from profile360.topics import RECORDS_BY_FAMILY, ensure_topics, partition_key


def resolve_family(settings: Settings, topic: str) -> str:
    """Accept a family name (``interactions``) or a full topic name (``profile360.interactions``)."""
    for family in RECORDS_BY_FAMILY:
        if topic in (family, settings.topic(family)):
            return family
    raise ValueError(f"--topic: unknown topic {topic!r}; use one of {', '.join(RECORDS_BY_FAMILY)}")


async def send_records(settings: Settings, codec: Codec, topic: str, records: Iterable[tuple[str, dict]]) -> int:
    """Send every (record name, record) to ``topic`` and wait for all acknowledgements."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                                max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, codec.encode(name, rec), key=partition_key(name, rec)) for name, rec in records]
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


def report(errors: list[LineError], out: IO[str]) -> None:
    for err in errors[:50]:
        print(err, file=out)
    if len(errors) > 50:
        print(f"... and {len(errors) - 50} more bad lines", file=out)
    print(f"{len(errors)} bad line(s): nothing was sent", file=out)


async def produce(settings: Settings, codec: Codec, topic: str, lines: Iterable[str]) -> int:
    """Returns the process exit code: 0 sent, 2 rejected."""
    family = resolve_family(settings, topic)
    good, bad = parse_lines(lines, RECORDS_BY_FAMILY[family], codec)
    if bad:
        report(bad, sys.stderr)
        return 2
    await ensure_topics(settings)
    sent = await send_records(settings, codec, settings.topic(family), good)
    print(f"sent {sent} record(s) to {settings.topic(family)}", file=sys.stderr)
    return 0
