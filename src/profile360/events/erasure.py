"""The erasure event: a person named only by the hashes of their identifiers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from profile360.events.rules import InvalidEvent, envelope, text
from profile360.projections.erasure import subject_of

_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_SUBJECTS = 10_000


@dataclass(frozen=True, slots=True)
class ErasureRequested:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    subjects: tuple[str, ...]
    requested_by: str | None = None


def erasure_from_record(rec: Mapping[str, Any]) -> ErasureRequested:
    name = "ErasureRequested"
    event_id, tenant_id, occurred_at = envelope(name, rec)
    subjects = list(rec.get("subjects") or [])
    if rec.get("customerId"):  # v1: the customer id in plain text
        subjects.append(subject_of(tenant_id, "customer_id:" + text(name, rec, "customerId")))
    if not subjects:
        raise InvalidEvent(name, "subjects", "needs at least one hashed identifier")
    if len(subjects) > MAX_SUBJECTS:
        raise InvalidEvent(name, "subjects", f"has more than {MAX_SUBJECTS} entries")
    for i, s in enumerate(subjects):
        if not isinstance(s, str) or not _HEX64.fullmatch(s):
            raise InvalidEvent(name, f"subjects[{i}]", "expected a lowercase sha256 hex digest")
    return ErasureRequested(event_id, tenant_id, occurred_at, tuple(sorted(set(subjects))),
                            rec.get("requestedBy"))
