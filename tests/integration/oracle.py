"""An independent fold of raw event records, written plainly for the tests: what the tables
and the API must say. It shares no code with the worker."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

OFFER_TYPES = ["impression", "click", "dismiss", "convert"]


def expected_history(records: list[dict]) -> dict[tuple[str, str], dict]:
    history = {}
    for r in records:
        history.setdefault((r["tenantId"], r["eventId"]), r)
    return history


def expected_daily(records: list[dict]) -> dict[tuple, list[int]]:
    """(tenant, dimension, key, day) -> [impression, click, dismiss, convert]; dimension
    customer is the sum of the customer's offer-interaction buckets (``expected_customer_daily``)."""
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


def expected_customer_daily(records: list[dict]) -> dict[tuple, tuple]:
    """(tenant, customer, UTC day, type) -> (n, valued n, exact value sum, min, max,
    (time, event id, value) of the latest valued event, sorted offers)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in expected_history(records).values():
        groups[(r["tenantId"], r["customerId"], r["occurredAt"].astimezone(timezone.utc).date(), r["type"])].append(r)
    out = {}
    for k, rs in groups.items():
        valued = [r for r in rs if r.get("value") is not None]
        values = [r["value"] for r in valued]
        latest = max(valued, key=lambda r: (r["occurredAt"], r["eventId"])) if valued else None
        out[k] = (len(rs), len(valued), sum((Decimal(repr(v)) for v in values), Decimal(0)),
                  min(values) if values else None, max(values) if values else None,
                  (latest["occurredAt"], latest["eventId"], latest["value"]) if latest else None,
                  sorted({r["offerId"] for r in rs if r.get("offerId")}))
    return out


def bucket_rows(rows) -> dict[tuple, tuple]:
    """``customer_daily`` rows in ``expected_customer_daily``'s form."""
    return {(r["tenant_id"], r["customer_id"], r["day"], r["type"]):
            (r["n"], r["value_n"], r["value_sum"], r["value_min"], r["value_max"],
             (r["latest_at"], r["latest_event_id"], r["latest_value"]) if r["latest_at"] else None, list(r["offers"]))
            for r in rows}


def expected_catalog(records: list[tuple[str, dict]]) -> dict[tuple, dict]:
    """(kind, tenant, id) -> the record with the greatest (occurredAt, eventId)."""
    ids = {"Offer": "offerId", "Creative": "creativeId", "Channel": "channelId"}
    best: dict[tuple, dict] = {}
    for kind, r in records:
        key = (kind, r["tenantId"], r[ids[kind]])
        if key not in best or (best[key]["occurredAt"], best[key]["eventId"]) < (r["occurredAt"], r["eventId"]):
            best[key] = r
    return best
