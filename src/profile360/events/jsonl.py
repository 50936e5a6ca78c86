"""JSON lines → Avro-ready records, for ``profile360 produce`` and the demo loader.

Each line is one JSON object with the fields of an Avro record (camelCase, as in
``schemas/``). ``$schema`` names the record when the topic carries several (catalog:
Offer, Creative, Channel; identity: Identify, Link, Unlink; ...). Every timestamp field (a
``timestamp-millis`` in the schema: ``occurredAt``, ``FeedbackRecorded.feedbackDate``, ...) is
an ISO 8601 string with a zone, or epoch milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import orjson
from fastavro.validation import ValidationError, validate

from profile360.events.codec import Codec
from profile360.events.model import InvalidEvent, from_record


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _timestamp(field: str, value: Any) -> Any:
    """An ISO 8601 string with a zone or epoch milliseconds as a UTC ``datetime``; anything
    else unchanged (null where the schema allows it; the schema check names the rest)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{field}: {value[:40]!r} is not an ISO 8601 time or epoch milliseconds") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{field}: {value[:40]!r} has no time zone")
        return parsed
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{field}: {value} milliseconds is out of range") from None
    return value


def _is_timestamp(avro_type: Any) -> bool:
    """A ``timestamp-millis`` field, alone or as a branch of a union (``["null", ...]``)."""
    if isinstance(avro_type, list):
        return any(_is_timestamp(branch) for branch in avro_type)
    return isinstance(avro_type, dict) and avro_type.get("logicalType") == "timestamp-millis"


def to_record(obj: Any, allowed: tuple[str, ...], codec: Codec) -> tuple[str, dict]:
    """(record name, record) for one parsed JSON line; raises ValueError naming the field."""
    if not isinstance(obj, dict):
        raise ValueError("must be a JSON object")
    record = dict(obj)
    name = record.pop("$schema", allowed[0] if len(allowed) == 1 else None)
    if name not in allowed:
        raise ValueError(f"$schema: must be one of {', '.join(allowed)} on this topic, got {name!r}")
    schema = codec.latest(name).parsed
    for field in schema["fields"]:
        if field["name"] in record and _is_timestamp(field["type"]):
            record[field["name"]] = _timestamp(f"{name}.{field['name']}", record[field["name"]])
    missing = [f["name"] for f in schema["fields"] if "default" not in f and f["name"] not in record]
    if missing:
        raise ValueError(f"{name}.{missing[0]}: is required")
    try:
        validate(record, schema, raise_errors=True, strict=True)
    except ValidationError as exc:
        raise ValueError(f"{name}: {'; '.join(str(e)[:300] for e in exc.errors)}") from None
    return name, record


def parse_lines(lines: Iterable[str | bytes], allowed: tuple[str, ...], codec: Codec) -> tuple[list[tuple[str, dict]], list[LineError]]:
    """Parse and fully validate every line (schema and domain rules); blank lines are skipped."""
    good, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            name, record = to_record(orjson.loads(line), allowed, codec)
            filled = codec.decode(codec.encode(name, record)).record
            from_record(name, filled)
            good.append((name, record))
        except (ValueError, InvalidEvent) as exc:
            bad.append(LineError(number, str(exc)[:500]))
    return good, bad
