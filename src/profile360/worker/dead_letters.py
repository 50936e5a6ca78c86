"""Dead-letter topic: where a record that cannot be projected goes, with why and from where.

The value is the original bytes, unchanged; the reason and the origin travel in headers
(``p360.reason``, ``p360.detail``, ``p360.origin.topic``, ``p360.origin.partition``,
``p360.origin.offset``, ``p360.origin.timestamp``), so the record can be re-driven later.
Dead letters are sent and acknowledged *before* the batch's positions are committed: a crash
in between may send one twice, never lose one.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    reason: str
    detail: str

    def headers(self) -> list[tuple[str, bytes]]:
        return [("p360.reason", self.reason.encode()), ("p360.detail", self.detail[:2000].encode()),
                ("p360.origin.topic", self.topic.encode()), ("p360.origin.partition", str(self.partition).encode()),
                ("p360.origin.offset", str(self.offset).encode()), ("p360.origin.timestamp", str(self.timestamp).encode())]


def origin_of(headers: list[tuple[str, bytes]] | tuple) -> dict[str, str]:
    """The p360.* headers of a dead letter as a dict of strings."""
    return {k: v.decode() for k, v in headers if k.startswith("p360.")}


async def send_dead_letters(producer: AIOKafkaProducer, topic: str, letters: list[DeadLetter]) -> None:
    """Send all ``letters`` and wait until the broker acknowledged every one."""
    futures = [await producer.send(topic, value=d.value, key=d.key, headers=d.headers()) for d in letters]
    await asyncio.gather(*futures)
