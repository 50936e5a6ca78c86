"""Rows to the seeds' JSON shapes."""
from __future__ import annotations

from typing import Any

import orjson

from profile360.events.model import MEDIUMS
from profile360.jsonfmt import timestamp


def history_item(r: Any) -> dict[str, Any]:
    offer = {"id": r["offer_id"], "name": r["offer_name"]} if r["offer_id"] else None
    channel_id = r["resolved_channel_id"]
    channel = {"id": channel_id, "name": r["channel_name"], "medium": r["channel_medium"] or r["channel"]} if channel_id else None
    creative = {"id": r["creative_id"], "name": r["creative_name"], "channel": channel} if r["creative_id"] else None
    return {
        "id": r["event_id"], "customerId": r["customer_id"], "offerId": r["offer_id"], "creativeId": r["creative_id"],
        "interactionType": r["interaction_type"], "timestamp": timestamp(r["occurred_at"]),
        "channel": r["channel"], "channelId": r["channel_id"], "campaignId": r["campaign_id"], "workflowId": r["workflow_id"],
        "value": r["value"], "metadata": orjson.loads(r["metadata"]),
        "offer": offer, "creative": creative,
    }


def _rates(impression: int, click: int, convert: int) -> dict[str, float]:
    def pct(n: int) -> float:
        return round(100.0 * n / impression, 2) if impression else 0.0
    return {"ctr": pct(click), "cvr": pct(convert)}


def _counts(r: Any) -> dict[str, int]:
    c = {k: int(r[k]) for k in ("impression", "click", "dismiss", "convert")}
    c["total"] = sum(c.values())
    return c


def summary_group(group_by: str, r: Any) -> dict[str, Any]:
    c = _counts(r)
    if group_by == "customer":
        return {"customerId": r["key"], "total": c["total"], "impression": c["impression"], "click": c["click"],
                "dismiss": c["dismiss"], "convert": c["convert"], "uniqueActions": int(r["unique_actions"])}
    head: dict[str, Any] = {"id": r["key"], "name": r["name"]}
    if group_by == "action":
        head.update(issue=r["issue"], group=r["group"], status=r["status"], priority=r["priority"])
    elif group_by == "treatment":
        head.update(offerId=r["offer_id"], channelId=r["channel_id"])
    else:  # a group keyed by the medium itself (the event named no channel id) is of that medium
        head.update(medium=r["medium"] or (r["key"] if r["key"] in MEDIUMS else None))
    return {**head, **c, **_rates(c["impression"], c["click"], c["convert"])}
