"""Seed 003's events: an organization's customers and what they say (feedback, highlights,
insights, issues). The organization is the tenant. Every record is a whole version of its
entity; the latest (occurredAt, eventId) wins."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email

from profile360.events.rules import MAX_TIME, MIN_TIME, InvalidEvent, envelope, text

MAX_NAME, MAX_TEXT, MAX_LINKS = 200, 10_000, 1000


@dataclass(frozen=True, slots=True)
class OrgCustomerUpserted:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    customer_uuid: str
    full_name: str | None
    email: str | None
    role: str | None
    persona_uuid: str | None
    company_uuid: str | None


@dataclass(frozen=True, slots=True)
class FeedbackRecorded:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    feedback_uuid: str
    customer_uuid: str
    contents: str
    feedback_date: datetime
    sentiment: float | None
    source: str | None


@dataclass(frozen=True, slots=True)
class FeedbackHighlighted:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    highlight_uuid: str
    customer_uuid: str
    feedback_uuid: str | None
    quote: str
    sentiment_score: float | None


@dataclass(frozen=True, slots=True)
class Linked:
    """An insight or an issue: a titled finding about some customers."""

    kind: str  # insight | issue
    event_id: str
    tenant_id: str
    occurred_at: datetime
    uuid: str
    title: str
    description: str | None
    score: float | None  # an issue's average sentiment
    customer_uuids: tuple[str, ...]


ORG_EVENTS = (OrgCustomerUpserted, FeedbackRecorded, FeedbackHighlighted, Linked)


def email_of(name: str, value: str | None) -> str | None:
    """``value`` normalized (lowercase domain, as ``email-validator`` gives it), or None."""
    if value is None:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidEvent(name, "email", str(exc)) from None


def _score(name: str, rec: Mapping[str, Any], key: str) -> float | None:
    value = rec.get(key)
    if value is not None and (not math.isfinite(value) or not -1.0 <= value <= 1.0):
        raise InvalidEvent(name, key, f"must be between -1 and 1, got {value!r}")
    return value


def customer(rec: Mapping[str, Any]) -> OrgCustomerUpserted:
    n = "OrgCustomerUpserted"
    full_name = text(n, rec, "fullName", required=False, limit=MAX_NAME)
    email = email_of(n, text(n, rec, "email", required=False, limit=320))
    if full_name is None and email is None:
        raise InvalidEvent(n, "fullName", "a customer needs a full name or an email")
    return OrgCustomerUpserted(*envelope(n, rec), text(n, rec, "customerUuid"), full_name, email,
                               text(n, rec, "role", required=False, limit=MAX_NAME),
                               text(n, rec, "personaUuid", required=False), text(n, rec, "companyUuid", required=False))


def feedback(rec: Mapping[str, Any]) -> FeedbackRecorded:
    n = "FeedbackRecorded"
    when = rec.get("feedbackDate")
    if not isinstance(when, datetime) or not MIN_TIME <= when < MAX_TIME:
        raise InvalidEvent(n, "feedbackDate", f"must be between {MIN_TIME:%Y-%m-%d} and {MAX_TIME:%Y-%m-%d}")
    return FeedbackRecorded(*envelope(n, rec), text(n, rec, "feedbackUuid"), text(n, rec, "customerUuid"),
                            text(n, rec, "contents", limit=MAX_TEXT), when, _score(n, rec, "sentiment"),
                            text(n, rec, "source", required=False, limit=MAX_NAME))


def highlight(rec: Mapping[str, Any]) -> FeedbackHighlighted:
    n = "FeedbackHighlighted"
    return FeedbackHighlighted(*envelope(n, rec), text(n, rec, "highlightUuid"), text(n, rec, "customerUuid"),
                               text(n, rec, "feedbackUuid", required=False), text(n, rec, "quote", limit=MAX_TEXT),
                               _score(n, rec, "sentimentScore"))


def _linked(kind: str, n: str, id_key: str, score_key: str | None, rec: Mapping[str, Any]) -> Linked:
    uuids = list(rec.get("customerUuids") or [])
    if len(uuids) > MAX_LINKS:
        raise InvalidEvent(n, "customerUuids", f"has more than {MAX_LINKS} entries")
    for i, u in enumerate(uuids):
        text(n, {f"customerUuids[{i}]": u}, f"customerUuids[{i}]")
    return Linked(kind, *envelope(n, rec), text(n, rec, id_key), text(n, rec, "title", limit=MAX_NAME * 5),
                  text(n, rec, "description", required=False, limit=MAX_TEXT),
                  _score(n, rec, score_key) if score_key else None, tuple(sorted(set(uuids))))


def insight(rec: Mapping[str, Any]) -> Linked:
    return _linked("insight", "InsightRecorded", "insightUuid", None, rec)


def issue(rec: Mapping[str, Any]) -> Linked:
    return _linked("issue", "IssueRecorded", "issueUuid", "averageSentiment", rec)


BUILDERS = {"OrgCustomerUpserted": customer, "FeedbackRecorded": feedback, "FeedbackHighlighted": highlight,
            "InsightRecorded": insight, "IssueRecorded": issue}
