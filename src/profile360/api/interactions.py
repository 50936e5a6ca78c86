"""Handlers for seed 001's interaction history and interaction summary."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from aiohttp import web

from profile360.api import params, render
from profile360.api.errors import bad_param, json_response
from profile360.api.keys import POOL
from profile360.projections.interactions import DIMENSIONS
from profile360.store import customer_pages, reads


async def interaction_history(request: web.Request) -> web.Response:
    f = reads.HistoryFilter(
        tenant_id=params.tenant(request), customer_id=params.text(request, "customerId"),
        offer_id=params.text(request, "offerId", "actionId"), creative_id=params.text(request, "creativeId", "treatmentId"),
        type=params.text(request, "type", max_len=64))
    limit = params.integer(request, "limit", 20, 1, 1000)
    after = params.cursor(request)
    async with request.app[POOL].acquire() as conn:
        rows, total = await reads.history_page(conn, f, after, limit)
    page, more = rows[:limit], len(rows) > limit
    body = {"data": [render.history_item(r) for r in page], "total": total, "hasMore": more,
            "nextCursor": params.encode_cursor(page[-1]["occurred_at"], page[-1]["event_id"]) if more else None}
    return json_response(body)


async def interaction_summary(request: web.Request) -> web.Response:
    tenant = params.tenant(request)
    group_by = params.choice(request, "groupBy", (*DIMENSIONS, "customer"), "action")
    days = params.integer(request, "days", 30, 1, 3650)
    limit = params.integer(request, "limit", 100, 1, 1000)
    by_total = params.choice(request, "sort", ("customerId", "total"), "customerId") == "total"
    if "sort" in request.query and group_by != "customer":
        raise bad_param("sort", f"orders customers only (groupBy=customer); groupBy={group_by} comes busiest first")
    after = params.key_cursor(request)  # validated for every grouping; only groupBy=customer pages
    today = datetime.now(timezone.utc).date()
    since = today - timedelta(days=days - 1)
    if group_by == "customer":
        return await _customer_summary(request, tenant, days, (since, today), limit, by_total, after)
    async with request.app[POOL].acquire() as conn:
        rows = await reads.summary(conn, tenant, group_by, since, today, limit)
    return json_response({"groupBy": group_by, "days": days, "summary": [render.summary_group(group_by, r) for r in rows]})


async def _customer_summary(request: web.Request, tenant: str, days: int, window: tuple[date, date],
                            limit: int, by_total: bool, after: str | None) -> web.Response:
    if by_total and after is not None:
        raise bad_param("cursor", "pages only customers in customerId order (sort=customerId)")
    async with request.app[POOL].acquire() as conn:
        rows = await customer_pages.customer_summary(conn, tenant, *window, limit, after, by_total)
    more = not by_total and len(rows) == limit
    return json_response({"groupBy": "customer", "days": days, "summary": [render.summary_group("customer", r) for r in rows],
                          "nextCursor": params.encode_key_cursor(rows[-1]["head"]) if more else None})
