"""Dead-letter queries and commands: one implementation behind ``profile360 dlq`` (an operator's
tool: every letter, unbounded) and the API's ``/api/v1/dead-letters`` routes (one tenant's
letters, bounded).

A letter belongs to the tenant its record names (``tenantId`` of the original bytes decoded with
today's schemas). A letter whose tenant cannot be read (undecodable, or no tenant) belongs to no
tenant: only the CLI shows it.

The API's bounds, because it may run several processes and each request reads the topic
itself: a listing (and ``redrive {"all": true}``) reads only the newest ``SCAN_NEWEST`` letters
of each partition of the dead-letter topic and stops reading after ``SCAN_SECONDS``; when
either bound left letters unread the answer says ``"complete": false``. A redrive by ids reads
at most ``MAX_IDS`` letters, one read each.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from profile360.events.codec import Codec, DecodeError
from profile360.settings import Settings
from profile360.worker.dead_letters import Scan, StoredLetter, fetch, scan
from profile360.worker.progress import partitions

T = TypeVar("T")
SCAN_NEWEST = 5_000
SCAN_SECONDS = 3.0
MAX_IDS = 1_000


def select(letters: list[StoredLetter], reason: str | None, origin_topic: str | None) -> list[StoredLetter]:
    """The letters with this ``reason`` and from this ``origin_topic`` (None: any)."""
    return [d for d in letters if (reason is None or d.reason == reason)
            and (origin_topic is None or d.origin.get("p360.origin.topic") == origin_topic)]


def tenant_of(codec: Codec, letter: StoredLetter) -> str | None:
    """The tenant the letter's record names, or None when it cannot be read."""
    try:
        tenant = codec.decode(letter.value).record.get("tenantId")
    except DecodeError:
        return None
    return tenant if isinstance(tenant, str) and tenant else None


def letter_id(topic: str, letter: StoredLetter) -> str:
    """``<dlq topic>:<partition>:<offset>``, the letter's id in the API."""
    return f"{topic}:{letter.partition}:{letter.offset}"


def parse_id(topic: str, text: Any) -> tuple[int, int] | None:
    """(partition, offset) of an id of a letter of ``topic``, else None."""
    parts = text.rsplit(":", 2) if isinstance(text, str) and len(text) <= 300 else []
    if len(parts) != 3:
        return None
    name, partition, offset = parts
    if name != topic or not partition.isdigit() or not offset.isdigit() or len(partition) > 9 or len(offset) > 18:
        return None
    return int(partition), int(offset)


def _time(millis: Any) -> datetime | None:
    try:
        value = int(millis)
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc) if value >= 0 else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def item(topic: str, d: StoredLetter) -> dict[str, Any]:
    """A letter as ``GET /api/v1/dead-letters`` lists it (times as ``datetime``)."""
    o = d.origin
    return {"id": letter_id(topic, d), "reason": d.reason, "detail": o.get("p360.detail"),
            "origin": {"topic": o.get("p360.origin.topic"), "partition": int(o.get("p360.origin.partition", -1)),
                       "offset": int(o.get("p360.origin.offset", -1)), "timestamp": _time(o.get("p360.origin.timestamp"))},
            "key": None if d.key is None else d.key.decode("utf-8", "replace"), "deadAt": _time(d.timestamp)}


async def _tenant_scan(settings: Settings, codec: Codec, tenant: str, shape: Callable[[StoredLetter], T]) -> Scan[T]:
    topic = settings.topic("dlq")
    return await scan(settings.kafka_bootstrap, topic, await partitions(settings, [topic]),
                      lambda d: shape(d) if tenant_of(codec, d) == tenant else None,
                      newest=SCAN_NEWEST, seconds=SCAN_SECONDS)


async def list_for_tenant(settings: Settings, codec: Codec, tenant: str, limit: int) -> dict[str, Any]:
    """``{"items", "total", "complete"}``: the tenant's newest ``limit`` letters (newest first),
    how many the scan found, and whether it read every letter (see the module's bounds)."""
    topic = settings.topic("dlq")
    found = await _tenant_scan(settings, codec, tenant, lambda d: (d.timestamp, d.partition, d.offset, item(topic, d)))
    newest = sorted(found.kept, key=lambda k: k[:3], reverse=True)
    return {"items": [k[3] for k in newest[:limit]], "total": len(newest), "complete": found.complete}


async def tenant_letters(settings: Settings, codec: Codec, tenant: str,
                         wanted: list[tuple[int, int]] | None) -> list[StoredLetter]:
    """The tenant's letters at these (partition, offset) pairs (``parse_id``; None: every letter
    the listing would count); pairs that hold no letter, or another tenant's, are left out."""
    if wanted is None:
        return (await _tenant_scan(settings, codec, tenant, lambda d: d)).kept
    topic = settings.topic("dlq")
    letters = await fetch(settings.kafka_bootstrap, topic, await partitions(settings, [topic]), wanted)
    return [d for d in letters if tenant_of(codec, d) == tenant]
