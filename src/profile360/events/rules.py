"""Validation shared by every event type: the envelope (event id, tenant, time) and text
fields. ``InvalidEvent`` names the offending field; the worker dead-letters such events."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

MIN_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
MAX_TIME = datetime(2100, 1, 1, tzinfo=timezone.utc)
MAX_ID_LEN = 256
TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class InvalidEvent(ValueError):
    """A record that decoded but breaks a rule; ``field`` names the offending field."""

    def __init__(self, event_type: str, field_name: str, problem: str):
        super().__init__(f"{event_type}.{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


def new_envelope(tenant_id: str, prefix: str = "cmd") -> dict[str, Any]:
    """The envelope of an event this service publishes itself (commands, settings): a fresh id,
    the tenant, and now in milliseconds, the contracts' precision, so the stored time compares
    equal to it."""
    now = datetime.now(timezone.utc)
    return {"eventId": f"{prefix}-{uuid.uuid4()}", "tenantId": tenant_id,
            "occurredAt": now.replace(microsecond=now.microsecond // 1000 * 1000)}


def text(name: str, rec: Mapping[str, Any], key: str, *, required: bool = True, limit: int = MAX_ID_LEN) -> Any:
    value = rec.get(key)
    if value is None or value == "":
        if required:
            raise InvalidEvent(name, key, "is required")
        return None
    if len(value) > limit:
        raise InvalidEvent(name, key, f"longer than {limit} characters")
    if "\x00" in value:
        raise InvalidEvent(name, key, "contains a NUL character")
    return value


def envelope(name: str, rec: Mapping[str, Any]) -> tuple[str, str, datetime]:
    event_id = text(name, rec, "eventId")
    tenant_id = text(name, rec, "tenantId")
    if not TENANT_RE.fullmatch(tenant_id):
        raise InvalidEvent(name, "tenantId", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
    occurred_at = rec.get("occurredAt")
    if not isinstance(occurred_at, datetime) or not MIN_TIME <= occurred_at < MAX_TIME:
        raise InvalidEvent(name, "occurredAt", f"must be between {MIN_TIME:%Y-%m-%d} and {MAX_TIME:%Y-%m-%d}, got {occurred_at!r}")
    return event_id, tenant_id, occurred_at


