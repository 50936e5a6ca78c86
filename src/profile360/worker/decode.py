"""Turn consumed Kafka records into writer entries or dead letters (no I/O)."""
from __future__ import annotations

from typing import Any, Iterable

from profile360.events.codec import Codec, DecodeError
from profile360.events.model import InvalidEvent, from_record
from profile360.store.writer import Entry
from profile360.worker.dead_letters import DeadLetter


def dead_letter(msg: Any, reason: str, detail: str) -> DeadLetter:
    return DeadLetter(msg.topic, msg.partition, msg.offset, msg.timestamp, msg.key, msg.value, reason, detail)


def decode_records(codec: Codec, records: Iterable[Any], max_bytes: int) -> tuple[list[Entry], list[DeadLetter]]:
    """Entries for every record (``event=None`` for a dead one) and the dead letters.

    Every record yields an entry, so the stored position moves past dead ones too. A value
    larger than ``max_bytes`` is dead-lettered unread (reason ``oversized``).
    """
    entries, dead = [], []
    for msg in records:
        try:
            if msg.value is not None and len(msg.value) > max_bytes:
                raise DecodeError("oversized", f"{len(msg.value)} bytes, the limit is {max_bytes}")
            decoded = codec.decode(msg.value)
            event = from_record(decoded.name, decoded.record)
        except DecodeError as exc:
            dead.append(dead_letter(msg, exc.reason, exc.detail))
            event = None
        except InvalidEvent as exc:
            dead.append(dead_letter(msg, "invalid_event", str(exc)))
            event = None
        entries.append(Entry(msg.topic, msg.partition, msg.offset, event))
    return entries, dead
