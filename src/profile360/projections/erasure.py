"""Erasure, pure part: how identifiers are named without personal data, and which events an
erasure removes.

An erasure removes every event *about* one of its subjects that occurred at or before the
erasure's time; events that occur later start a new profile. A subject is the sha256 of the
tenant, U+001F and the identifier key (``type:value``, normalized as the identity fold does),
so the same subject is computed by the API (from a profile's keys), the worker (from events)
and PostgreSQL (``sha256`` over the stored keys).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Iterable, Mapping

SEPARATOR = "\x1f"
ORG_CUSTOMER_PREFIX = "org_customer:"  # seed 003's customers: a subject of their own


def subject_of(tenant_id: str, key: str) -> str:
    return hashlib.sha256(f"{tenant_id}{SEPARATOR}{key}".encode()).hexdigest()


def erased(occurred_at: datetime, subjects: Iterable[str], erased_until: Mapping[str, datetime]) -> bool:
    """Whether an event that occurred at ``occurred_at`` about ``subjects`` is erased."""
    return any(s in erased_until and occurred_at <= erased_until[s] for s in subjects)


def keys_of(event: object) -> list[str]:
    """The identifier keys an event is about (normalized as the identity fold does; an
    organization customer is ``org_customer:<uuid>``). Events about no person (catalog,
    definitions, insights and issues) have none."""
    from profile360.events.model import Interaction
    from profile360.events.organizations import FeedbackHighlighted, FeedbackRecorded, OrgCustomerUpserted
    from profile360.events.people import PERSON_EVENTS
    from profile360.projections.identifiers import of_event
    from profile360.projections.identity import CUSTOMER_PREFIX

    if isinstance(event, Interaction):
        return [CUSTOMER_PREFIX + event.customer_id]
    if isinstance(event, (OrgCustomerUpserted, FeedbackRecorded, FeedbackHighlighted)):
        return [ORG_CUSTOMER_PREFIX + event.customer_uuid]
    if isinstance(event, PERSON_EVENTS):
        return [i.key for i in of_event(event)]
    return []
