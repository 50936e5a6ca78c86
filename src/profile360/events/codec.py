"""Avro single-object encoding, shared by every producer and the worker.

Frame: ``C3 01`` | 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema | Avro body.
The fingerprint finds the writer schema among all versions kept in ``schemas/``; the body is
then resolved into the newest version of the same record (the reader schema), so a message
written with any older version decodes into the current shape.

Why not the Confluent wire format: it needs a schema-registry service to map its 4-byte ids to
schemas. Our ``schemas/`` folder is the registry, versioned in git with the code that reads it,
and the fingerprint is derived from the schema itself, so no service and no id allocation exist
to get out of step.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_LEN = len(MAGIC) + 8


class DecodeError(ValueError):
    """A message that cannot be turned into a record; ``reason`` is a short stable code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SchemaVersion:
    name: str  # short record name, e.g. "InteractionEvent"
    version: int
    parsed: Any
    fingerprint: bytes


@dataclass(frozen=True)
class Decoded:
    name: str
    version: int
    record: dict[str, Any]


def schema_fingerprint(parsed: Any) -> bytes:
    """CRC-64-AVRO of the parsing canonical form, little-endian, as single-object encoding
    frames it (fastavro's hex is already in that byte order)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def load_versions(schemas_dir: Path) -> list[SchemaVersion]:
    """Every ``<Name>/v<N>.avsc`` under ``schemas_dir``."""
    versions = []
    for path in sorted(schemas_dir.glob("*/v*.avsc")):
        parsed = fastavro.parse_schema(json.loads(path.read_text()), named_schemas={})
        version = int(path.stem[1:])
        versions.append(SchemaVersion(path.parent.name, version, parsed, schema_fingerprint(parsed)))
    if not versions:
        raise FileNotFoundError(f"no Avro schemas under {schemas_dir}")
    return versions


class Codec:
    """Encodes records with the newest schema version; decodes any known version into it."""

    def __init__(self, versions: list[SchemaVersion]):
        self._by_fp = {v.fingerprint: v for v in versions}
        self._latest: dict[str, SchemaVersion] = {}
        for v in sorted(versions, key=lambda v: v.version):
            self._latest[v.name] = v

    @classmethod
    def from_dir(cls, schemas_dir: Path) -> "Codec":
        return cls(load_versions(schemas_dir))

    @property
    def names(self) -> list[str]:
        return sorted(self._latest)

    def latest(self, name: str) -> SchemaVersion:
        try:
            return self._latest[name]
        except KeyError:
            raise KeyError(f"unknown record {name!r}; known: {', '.join(self.names)}") from None

    def version(self, name: str, version: int) -> SchemaVersion:
        for v in self._by_fp.values():
            if v.name == name and v.version == version:
                return v
        raise KeyError(f"no version {version} of {name!r}")

    def encode(self, name: str, record: dict[str, Any], version: int | None = None) -> bytes:
        """Frame ``record`` with the given (default: newest) version of schema ``name``.

        Raises ``ValueError`` naming the field when the record does not fit the schema.
        """
        sv = self.latest(name) if version is None else self.version(name, version)
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(sv.fingerprint)
        try:
            fastavro.schemaless_writer(buf, sv.parsed, record, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes | None) -> Decoded:
        """Decode one framed message; raises ``DecodeError`` and never anything else."""
        if data is None or len(data) < HEADER_LEN:
            raise DecodeError("truncated", f"{0 if data is None else len(data)} bytes, need at least {HEADER_LEN}")
        if data[:2] != MAGIC:
            raise DecodeError("not_single_object", f"header {data[:2].hex()} is not Avro single-object encoding")
        writer = self._by_fp.get(data[2:HEADER_LEN])
        if writer is None:
            raise DecodeError("unknown_schema", f"no schema with fingerprint {data[2:HEADER_LEN].hex()}")
        reader = self._latest[writer.name]
        body = io.BytesIO(data[HEADER_LEN:])
        try:
            if reader is writer:
                record = fastavro.schemaless_reader(body, writer.parsed, None)
            else:
                record = fastavro.schemaless_reader(body, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises many types on corrupt input
            raise DecodeError("corrupt_body", f"{writer.name} v{writer.version}: {type(exc).__name__}: {exc}") from None
        if body.tell() != len(data) - HEADER_LEN:
            raise DecodeError("trailing_bytes", f"{len(data) - HEADER_LEN - body.tell()} bytes after the record")
        if not isinstance(record, dict):
            raise DecodeError("corrupt_body", f"{writer.name} did not decode to a record")
        return Decoded(writer.name, writer.version, record)
