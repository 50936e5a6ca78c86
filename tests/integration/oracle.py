"""An independent fold of raw event records, written plainly for the tests: what the tables
and the API must say. It shares no code with the worker."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

OFFER_TYPES = ["impression", "click", "dismiss", "convert"]


def expected_history(records: list[dict]) -> dict[tuple[str, str], dict]:
    history = {}
    for r in records:
        history.setdefault((r["tenantId"], r["eventId"]), r)
    return history


def expected_daily(records: list[dict]) -> dict[tuple, list[int]]:
    """(tenant, dimension, key, day) -> [impression, click, dismiss, convert]; dimension
    customer is the sum of the customer's rows in ``expected_customer_offer_daily``."""
    daily: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in expected_history(records).values():
        if r["type"] not in OFFER_TYPES:
            continue
        day = r["occurredAt"].astimezone(timezone.utc).date()
        groups = {"action": r.get("offerId"), "treatment": r.get("creativeId"),
                  "channel": r.get("channelId") or r.get("channel"), "customer": r["customerId"]}
        for dimension, key in groups.items():
            if key:
                daily[(r["tenantId"], dimension, key, day)][OFFER_TYPES.index(r["type"])] += 1
    return dict(daily)


def expected_summary(records: list[dict], tenant: str, dimension: str, days: int) -> dict[str, dict]:
    today = datetime.now(timezone.utc).date()
    since = today - timedelta(days=days - 1)
    out: dict[str, dict] = {}
    for (t, dim, key, day), counts in expected_daily(records).items():
        if t != tenant or dim != dimension or not since <= day <= today:
            continue
        row = out.setdefault(key, dict.fromkeys(OFFER_TYPES, 0))
        for name, n in zip(OFFER_TYPES, counts):
            row[name] += n
    for key, row in out.items():
        row["total"] = sum(row[t] for t in OFFER_TYPES)
        if dimension == "customer":
            row["uniqueActions"] = len({r["offerId"] for r in expected_history(records).values()
                                        if r["tenantId"] == tenant and r["customerId"] == key and r.get("offerId")
                                        and r["type"] in OFFER_TYPES and since <= r["occurredAt"].date() <= today})
    return out


def expected_totals(records: list[dict]) -> dict[tuple, int]:
    """(tenant, scope, key) -> history rows, for scopes all/offer/creative/type."""
    totals: dict[tuple, int] = defaultdict(int)
    for r in expected_history(records).values():
        totals[(r["tenantId"], "all", "")] += 1
        for scope, key in (("offer", r.get("offerId")), ("creative", r.get("creativeId")), ("type", r["type"])):
            if key is not None:
                totals[(r["tenantId"], scope, key)] += 1
    return dict(totals)


def expected_customer_offer_daily(records: list[dict]) -> dict[tuple, list[int]]:
    """(tenant, customer, UTC day, offer or "") -> [impression, click, dismiss, convert]."""
    rows: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in expected_history(records).values():
        if r["type"] in OFFER_TYPES:
            day = r["occurredAt"].astimezone(timezone.utc).date()
            rows[(r["tenantId"], r["customerId"], day, r.get("offerId") or "")][OFFER_TYPES.index(r["type"])] += 1
    return dict(rows)


def expected_catalog(records: list[tuple[str, dict]]) -> dict[tuple, dict]:
    """(kind, tenant, id) -> the record with the greatest (occurredAt, eventId)."""
    ids = {"Offer": "offerId", "Creative": "creativeId", "Channel": "channelId"}
    best: dict[tuple, dict] = {}
    for kind, r in records:
        key = (kind, r["tenantId"], r[ids[kind]])
        if key not in best or (best[key]["occurredAt"], best[key]["eventId"]) < (r["occurredAt"], r["eventId"]):
            best[key] = r
    return best
