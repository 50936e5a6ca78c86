"""Seed 003: what an organization's customer said: ``…/customers/{customer_uuid}/feedbacks``,
``/feedback_highlights``, ``/insights``, ``/issues``, page-numbered. A customer the
organization does not have is 404."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from profile360.api import params
from profile360.api.errors import json_response
from profile360.api.keys import POOL
from profile360.api.org_customers import _existing
from profile360.store import org_reads


def _paging(request: web.Request) -> tuple[int, int]:
    return params.integer(request, "page_size", 25, 1, 100), params.integer(request, "page_number", 1, 1, 10_000)


async def feedbacks(request: web.Request) -> web.Response:
    row = await _existing(request)
    sort_by = params.choice(request, "sort_by", tuple(org_reads.FEEDBACK_SORTS), "feedback_date")
    descending = params.choice(request, "sort_direction", ("asc", "desc"), "desc") == "desc"
    size, page = _paging(request)
    async with request.app[POOL].acquire() as conn:
        rows, total = await org_reads.feedbacks(conn, row["tenant_id"], row["customer_uuid"], sort_by, descending, size, page)
    return json_response({"feedbacks": [{
        "uuid": r["feedback_uuid"], "organization_uuid": r["tenant_id"], "customer_uuid": r["customer_uuid"],
        "feedback_contents": r["contents"], "feedback_date": r["feedback_date"], "sentiment": r["sentiment"],
        "source": r["source"]} for r in rows], "total_feedback_count": total})


async def highlights(request: web.Request) -> web.Response:
    row = await _existing(request)
    size, page = _paging(request)
    async with request.app[POOL].acquire() as conn:
        rows, total = await org_reads.highlights(conn, row["tenant_id"], row["customer_uuid"], size, page)
    return json_response({"highlights": [{
        "uuid": r["highlight_uuid"], "customer_uuid": r["customer_uuid"], "feedback_uuid": r["feedback_uuid"],
        "quote": r["quote"], "sentiment_score": r["sentiment_score"]} for r in rows], "total_highlight_count": total})


def _finding(kind: str, r: Any) -> dict[str, Any]:
    out = {"uuid": r["uuid"], "title": r["title"], "updated_date": r["occurred_at"]}
    if kind == "insight":
        out["description"] = r["description"]
    else:
        out["average_sentiment"] = r["score"]
    return out


async def _findings(request: web.Request, kind: str) -> web.Response:
    row = await _existing(request)
    size, page = _paging(request)
    async with request.app[POOL].acquire() as conn:
        rows, total = await org_reads.findings(conn, row["tenant_id"], row["customer_uuid"], kind, size, page)
    return json_response({f"{kind}s": [_finding(kind, r) for r in rows], f"total_{kind}_count": total})


async def insights(request: web.Request) -> web.Response:
    return await _findings(request, "insight")


async def issues(request: web.Request) -> web.Response:
    return await _findings(request, "issue")
