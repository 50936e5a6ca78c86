"""JSON lines → Avro-ready records, for ``profile360 produce`` and the demo loader.

Each line is one JSON object with the fields of an Avro record (camelCase, as in
``schemas/``). ``$schema`` names the record when the topic carries several (catalog:
Offer, Creative, Channel; identity: Identify, Link, Unlink; ...). Every timestamp field (a
``timestamp-millis`` in the schema: ``occurredAt``, ``FeedbackRecorded.feedbackDate``, ...) is
an ISO 8601 string with a zone, or epoch milliseconds.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import orjson
from fastavro.validation import ValidationError, validate

from profile360.events.codec import Codec
from profile360.events.model import InvalidEvent, from_record


class RecordError(ValueError):
    """A JSON object that is not a valid record; ``field`` names the field at fault (a field of
    the record, ``$schema``, or None for the object itself)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _timestamp(name: str, field: str, value: Any) -> Any:
    """An ISO 8601 string with a zone or epoch milliseconds as a UTC ``datetime``; null and
    ``datetime`` unchanged (the schema check names a null where none is allowed)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError(field, f"{name}.{field}: {value[:40]!r} is not an ISO 8601 time or epoch milliseconds") from None
        if parsed.tzinfo is None:
            raise RecordError(field, f"{name}.{field}: {value[:40]!r} has no time zone")
        return parsed
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise RecordError(field, f"{name}.{field}: {value} milliseconds is out of range") from None
    if value is None or isinstance(value, datetime):
        return value
    raise RecordError(field, f"{name}.{field}: {str(value)[:40]} is not an ISO 8601 time or epoch milliseconds")


def _is_timestamp(avro_type: Any) -> bool:
    """A ``timestamp-millis`` field, alone or as a branch of a union (``["null", ...]``)."""
    if isinstance(avro_type, list):
        return any(_is_timestamp(branch) for branch in avro_type)
    return isinstance(avro_type, dict) and avro_type.get("logicalType") == "timestamp-millis"


def _has_record(avro_type: Any) -> bool:
    """Whether a field's type holds a record (directly, in a union, an array or a map)."""
    if isinstance(avro_type, list):
        return any(_has_record(branch) for branch in avro_type)
    if not isinstance(avro_type, dict):
        return False
    return avro_type.get("type") == "record" or _has_record(avro_type.get("items")) or _has_record(avro_type.get("values"))


@functools.lru_cache(maxsize=256)
def _fields(codec: Codec, name: str) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...], bool]:
    """(every field, the required ones, the timestamp ones, whether a field holds a record) of
    the newest schema of ``name``."""
    fields = codec.latest(name).parsed["fields"]
    return (frozenset(f["name"] for f in fields), tuple(f["name"] for f in fields if "default" not in f),
            tuple(f["name"] for f in fields if _is_timestamp(f["type"])), any(_has_record(f["type"]) for f in fields))


def to_record(obj: Any, allowed: tuple[str, ...], codec: Codec) -> tuple[str, dict]:
    """(record name, record) for one parsed JSON object (``$schema`` names the record, and may
    be left out when ``allowed`` has one name), its times as ``datetime``; raises ``RecordError``
    for a missing, unknown or badly timed field. The field types are checked by ``checked``."""
    if not isinstance(obj, dict):
        raise RecordError(None, "must be a JSON object")
    record = dict(obj)
    name = record.pop("$schema", allowed[0] if len(allowed) == 1 else None)
    if name not in allowed:
        raise RecordError("$schema", f"$schema: must be one of {', '.join(allowed)}, got {str(name)[:60]!r}")
    known, required, times, _ = _fields(codec, name)
    for field in times:
        if field in record:
            record[field] = _timestamp(name, field, record[field])
    missing = [f for f in required if f not in record]
    if missing:
        raise RecordError(missing[0], f"{name}.{missing[0]}: is required")
    unknown = sorted(set(record) - known)
    if unknown:
        raise RecordError(unknown[0], f"{name}.{unknown[0]}: is not a field of {name}")
    return name, record


def _validated(name: str, record: dict, codec: Codec) -> None:
    """fastavro's strict validation of ``record``: a ``RecordError`` naming the field it names."""
    schema = codec.latest(name).parsed
    try:
        validate(record, schema, raise_errors=True, strict=True)
    except ValidationError as exc:
        raise RecordError(_field_of(schema["name"], exc), f"{name}: {'; '.join(str(e)[:300] for e in exc.errors)}") from None


def _field_of(full_name: str, exc: ValidationError) -> str | None:
    """The record's field fastavro names first (it names ``<namespace>.<Record>.<field>``)."""
    named = next((getattr(e, "field", None) for e in exc.errors if getattr(e, "field", None)), None)
    if named and named.startswith(full_name + "."):
        return named[len(full_name) + 1:]
    return named


def checked(obj: Any, allowed: tuple[str, ...], codec: Codec) -> tuple[str, dict, bytes]:
    """(name, record, encoded message): ``to_record``, the schema's types (the encoder checks
    them: a flat record pays for fastavro's slower validation, which names the field, only when
    refused; one with nested records always, as the encoder ignores their unknown keys), then
    the domain rules the worker applies, on the record as the worker will decode it, so what
    passes is not dead-lettered for its content. Raises ``RecordError``."""
    name, record = to_record(obj, allowed, codec)
    if _fields(codec, name)[3]:  # the encoder ignores unknown keys of nested records: validation refuses them
        _validated(name, record, codec)
    try:
        value = codec.encode(name, record)
    except ValueError as exc:
        _validated(name, record, codec)
        raise RecordError(None, str(exc)[:500]) from None
    try:
        from_record(name, codec.decode(value).record)
    except InvalidEvent as exc:
        raise RecordError(exc.field, str(exc)) from None
    except ValueError as exc:
        raise RecordError(None, str(exc)) from None
    return name, record, value


def parse_lines(lines: Iterable[str | bytes], allowed: tuple[str, ...], codec: Codec) -> tuple[list[tuple[str, dict]], list[LineError]]:
    """Parse and fully validate every line (``checked``); blank lines are skipped."""
    good, bad = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            name, record, _ = checked(orjson.loads(line), allowed, codec)
            good.append((name, record))
        except ValueError as exc:  # orjson's JSONDecodeError and RecordError both are
            bad.append(LineError(number, str(exc)[:500]))
    return good, bad
