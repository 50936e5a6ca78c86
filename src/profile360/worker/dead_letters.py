"""Dead-letter topic: where a record that cannot be projected goes, with why and from where.

The value is the original bytes, unchanged; the reason and the origin travel in headers
(``p360.reason``, ``p360.detail``, ``p360.origin.topic``, ``p360.origin.partition``,
``p360.origin.offset``, ``p360.origin.timestamp``), so the record can be re-driven later.
Dead letters are sent and acknowledged *before* the batch's positions are committed: a crash
in between may send one twice, never lose one.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

T = TypeVar("T")


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
    """A dead letter as read back from the dead-letter topic (``timestamp``: when it was
    dead-lettered, epoch milliseconds)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    origin: dict[str, str]
    timestamp: int = -1

    @property
    def reason(self) -> str:
        return self.origin.get("p360.reason", "")

    def summary(self) -> dict:
        return {"dlqPartition": self.partition, "dlqOffset": self.offset, "reason": self.reason,
                "detail": self.origin.get("p360.detail"), "originTopic": self.origin.get("p360.origin.topic"),
                "originPartition": int(self.origin.get("p360.origin.partition", -1)),
                "originOffset": int(self.origin.get("p360.origin.offset", -1)),
                "bytes": len(self.value or b""), "key": (self.key or b"").decode("utf-8", "replace")}


def _stored(r: Any) -> StoredLetter:
    return StoredLetter(r.partition, r.offset, r.key, r.value, origin_of(r.headers), r.timestamp)


@dataclass
class Scan(Generic[T]):
    """What ``scan`` kept, and whether it read every letter it was asked to (``complete``:
    False when older letters were left out by ``newest`` or the time bound ran out)."""

    kept: list[T] = field(default_factory=list)
    complete: bool = True


async def scan(bootstrap: str, topic: str, partitions: list, keep: Callable[[StoredLetter], T | None], *,
               newest: int | None = None, seconds: float | None = None) -> Scan[T]:
    """``keep(letter)`` of every letter (None: dropped) up to the end offsets at the time of the
    call, partition by partition in offset order. Bounds: only the ``newest`` letters of each
    partition, and reading stops after ``seconds`` (connecting is bounded by the caller); either
    makes the scan incomplete. ``keep`` lets the caller hold only what it needs, not every value."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)  # no group: every partition starts at its earliest offset
        found, ends = Scan(), await consumer.end_offsets(partitions)
        if newest is not None:
            for tp, first in (await consumer.beginning_offsets(partitions)).items():
                consumer.seek(tp, max(first, ends[tp] - newest))
                found.complete &= ends[tp] - newest <= first
        deadline = None if seconds is None else time.monotonic() + seconds
        pending = {tp for tp, end in ends.items() if end > 0}
        while pending:
            if deadline is not None and time.monotonic() > deadline:
                found.complete = False
                break
            batch = await consumer.getmany(*pending, timeout_ms=200)
            found.kept += [kept for part in batch.values() for r in part if r.offset < ends[_tp(topic, r.partition)]
                           and (kept := keep(_stored(r))) is not None]
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return found
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str, partitions: list) -> list[StoredLetter]:
    """Every record of the dead-letter topic up to its end offsets at the time of the call."""
    found = await scan(bootstrap, topic, partitions, lambda d: d)
    return sorted(found.kept, key=lambda d: (d.partition, d.offset))


async def fetch(bootstrap: str, topic: str, partitions: list, wanted: list[tuple[int, int]]) -> list[StoredLetter]:
    """The letters at the (partition, offset) pairs ``wanted`` that exist (others are left out),
    one read each: the caller bounds how many it asks for and how long it waits. Only the
    partitions named in ``wanted`` are assigned (the consumer prefetches from each it holds)."""
    named = {partition for partition, _ in wanted}
    partitions = [tp for tp in partitions if tp.partition in named]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(partitions)
        starts, ends = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
        letters = []
        for partition, offset in sorted(set(wanted)):
            tp = _tp(topic, partition)
            if tp in ends and starts[tp] <= offset < ends[tp]:
                consumer.seek(tp, offset)
                record = await consumer.getone(tp)
                if record.offset == offset:
                    letters.append(_stored(record))
        return letters
    finally:
        await consumer.stop()


def _tp(topic: str, partition: int):  # noqa: ANN202 - aiokafka's TopicPartition
    return TopicPartition(topic, partition)


def redrive_messages(letters: list[StoredLetter]) -> list[tuple[str, bytes | None, bytes | None]]:
    """(origin topic, original bytes, key) of each letter to re-drive. Records without an
    origin header (not written by the worker) are left out."""
    return [(d.origin["p360.origin.topic"], d.value, d.key) for d in letters if d.origin.get("p360.origin.topic")]


async def replay(producer: AIOKafkaProducer, letters: list[StoredLetter]) -> int:
    """Send each letter's original bytes and key back to its origin topic; returns how many.

    The worker then decodes them again with the code and schemas it runs now. Re-driving a
    letter twice is harmless: an event id is applied once. Records without an origin header
    (not written by the worker) are skipped.
    """
    futures = [await producer.send(topic, value=value, key=key) for topic, value, key in redrive_messages(letters)]
    await asyncio.gather(*futures)
    return len(futures)
