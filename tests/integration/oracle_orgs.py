"""Independent fold of seed 003's events (organization customers, feedback, highlights,
insights, issues), written for the tests without the service's code: per entity the record
with the greatest (occurredAt, eventId); a customer's ``created_at`` is its earliest version,
``last_interacted_at`` the latest feedback date seen for it."""
from __future__ import annotations

from .oracle_segments import last_writers

Records = list[tuple[str, dict]]


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def _activity(records: Records) -> dict[tuple, object]:
    last: dict[tuple, object] = {}
    for n, r in records:
        if n == "FeedbackRecorded":
            k = (r["tenantId"], r["customerUuid"])
            last[k] = max(last.get(k, r["feedbackDate"]), r["feedbackDate"])
    return last


def expected_customers(records: Records, _=None) -> dict[tuple, dict]:
    first: dict[tuple, object] = {}
    for n, r in records:
        if n == "OrgCustomerUpserted":
            k = (r["tenantId"], r["customerUuid"])
            first[k] = min(first.get(k, r["occurredAt"]), r["occurredAt"])
    activity = _activity(records)
    return {k: {"full_name": r.get("fullName"), "email": _email(r.get("email")), "role": r.get("role"),
                "persona_uuid": r.get("personaUuid"), "company_uuid": r.get("companyUuid"), "created_at": first[k],
                "last_interacted_at": activity.get(k), "occurred_at": r["occurredAt"], "event_id": r["eventId"]}
            for k, r in last_writers(records, "OrgCustomerUpserted", lambda r: (r["tenantId"], r["customerUuid"])).items()}


def expected_activity(records: Records, _=None) -> dict[tuple, dict]:
    return {k: {"last_interacted_at": v} for k, v in _activity(records).items()}


def expected_feedbacks(records: Records, _=None) -> dict[tuple, dict]:
    return {k: {"customer_uuid": r["customerUuid"], "contents": r["contents"], "feedback_date": r["feedbackDate"],
                "sentiment": r.get("sentiment"), "source": r.get("source"), "occurred_at": r["occurredAt"],
                "event_id": r["eventId"]}
            for k, r in last_writers(records, "FeedbackRecorded", lambda r: (r["tenantId"], r["feedbackUuid"])).items()}


def expected_highlights(records: Records, _=None) -> dict[tuple, dict]:
    return {k: {"customer_uuid": r["customerUuid"], "feedback_uuid": r.get("feedbackUuid"), "quote": r["quote"],
                "sentiment_score": r.get("sentimentScore"), "occurred_at": r["occurredAt"], "event_id": r["eventId"]}
            for k, r in last_writers(records, "FeedbackHighlighted", lambda r: (r["tenantId"], r["highlightUuid"])).items()}


def _findings(records: Records) -> dict[tuple, dict]:
    out = {}
    for name, kind, id_key in (("InsightRecorded", "insight", "insightUuid"), ("IssueRecorded", "issue", "issueUuid")):
        for (tenant, uuid), r in last_writers(records, name, lambda r, k=id_key: (r["tenantId"], r[k])).items():
            out[(tenant, kind, uuid)] = r
    return out


def expected_findings(records: Records, _=None) -> dict[tuple, dict]:
    return {k: {"title": r["title"], "description": r.get("description"), "score": r.get("averageSentiment"),
                "occurred_at": r["occurredAt"], "event_id": r["eventId"]} for k, r in _findings(records).items()}


def expected_finding_customers(records: Records, _=None) -> dict[tuple, dict]:
    return {(*k, c): {} for k, r in _findings(records).items() for c in set(r.get("customerUuids") or [])}
