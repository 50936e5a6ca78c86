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


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter as read back from the dead-letter topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    origin: dict[str, str]

    @property
    def reason(self) -> str:
        return self.origin.get("p360.reason", "")

    def summary(self) -> dict:
        return {"dlqPartition": self.partition, "dlqOffset": self.offset, "reason": self.reason,
                "detail": self.origin.get("p360.detail"), "originTopic": self.origin.get("p360.origin.topic"),
                "originPartition": int(self.origin.get("p360.origin.partition", -1)),
                "originOffset": int(self.origin.get("p360.origin.offset", -1)),
                "bytes": len(self.value or b""), "key": (self.key or b"").decode("utf-8", "replace")}


async def read_all(bootstrap: str, topic: str, partitions: list) -> list[StoredLetter]:
    """Every record of the dead-letter topic up to its end offsets at the time of the call."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)  # no group: every partition starts at its earliest offset
        ends = await consumer.end_offsets(partitions)
        letters: list[StoredLetter] = []
        pending = {tp for tp, end in ends.items() if end > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            letters += [StoredLetter(r.partition, r.offset, r.key, r.value, origin_of(r.headers))
                        for part in batch.values() for r in part if r.offset < ends[_tp(topic, r.partition)]]
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


def _tp(topic: str, partition: int):  # noqa: ANN202 - aiokafka's TopicPartition
    from aiokafka import TopicPartition

    return TopicPartition(topic, partition)


async def replay(producer: AIOKafkaProducer, letters: list[StoredLetter]) -> int:
    """Send each letter's original bytes and key back to its origin topic; returns how many.

    The worker then decodes them again with the code and schemas it runs now. Re-driving a
    letter twice is harmless: an event id is applied once. Records without an origin header
    (not written by the worker) are skipped.
    """
    futures = [await producer.send(d.origin["p360.origin.topic"], value=d.value, key=d.key)
               for d in letters if d.origin.get("p360.origin.topic")]
    await asyncio.gather(*futures)
    return len(futures)
