"""Handlers of the segments API: list, one, members, and define / delete as commands."""
from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from profile360.api import commands, params
from profile360.api.errors import ApiError, bad_param, json_response
from profile360.api.keys import POOL, PRIMARY
from profile360.events.definitions import RESERVED_METRICS
from profile360.events.rules import new_envelope
from profile360.projections import rule_syntax
from profile360.store import definitions, segment_reads

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def render(r: Any) -> dict[str, Any]:
    return {"id": r["segment_id"], "name": r["name"], "rule": r["rule"], "description": r["description"],
            "version": r["version"], "windowed": r["windowed"], "memberCount": r["members"], "updatedAt": r["occurred_at"]}


def _segment_id(request: web.Request) -> str:
    value = request.match_info["id"]
    if not _ID_RE.fullmatch(value):
        raise bad_param("id", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
    return value


async def list_segments(request: web.Request) -> web.Response:
    tenant = params.tenant(request)
    async with request.app[POOL].acquire() as conn:
        rows = await segment_reads.segments(conn, tenant)
    return json_response({"data": [render(r) for r in rows], "total": len(rows)})


async def _existing(request: web.Request, key: web.AppKey = POOL) -> tuple[str, str, Any]:
    """(tenant, segment id, its row) of the request's live segment, or a 404; read from the
    pool ``key`` names (``PRIMARY`` for what a command decides from)."""
    tenant, segment_id = params.tenant(request), _segment_id(request)
    async with request.app[key].acquire() as conn:
        row = await segment_reads.segment(conn, tenant, segment_id)
    if row is None:
        raise ApiError(404, "not_found", f"no segment {segment_id!r} in tenant {tenant!r}", "id")
    return tenant, segment_id, row


async def get_segment(request: web.Request) -> web.Response:
    return json_response(render((await _existing(request))[2]))


async def segment_members(request: web.Request) -> web.Response:
    tenant, segment_id = params.tenant(request), _segment_id(request)
    limit = params.integer(request, "limit", 100, 1, 1000)
    after = params.key_cursor(request)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            seg = await segment_reads.segment(conn, tenant, segment_id)
            rows = await segment_reads.members(conn, tenant, segment_id, after, limit) if seg else []
    if seg is None:
        raise ApiError(404, "not_found", f"no segment {segment_id!r} in tenant {tenant!r}", "id")
    page, more = rows[:limit], len(rows) > limit
    return json_response({"data": [{"customerId": r["profile_id"], "memberSince": r["member_since"]} for r in page],
                          "total": seg["members"], "hasMore": more,
                          "nextCursor": params.encode_key_cursor(page[-1]["profile_id"]) if more else None})


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise bad_param("body", f"is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_param("body", "must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, limit: int, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        raise bad_param(f"body.{name}", f"must be a non-empty string of at most {limit} characters")
    return value


async def put_segment(request: web.Request) -> web.Response:
    """Define or change a segment: validate the rule, publish SegmentDefined, wait until applied.
    A definition identical to the live one (name, rule text, description) is no change: 200
    with the segment as it is and ``changed: false``; nothing is published."""
    tenant, segment_id = params.tenant(request), _segment_id(request)
    body = await _body(request)
    name, rule = _text(body, "name", 200), _text(body, "rule", rule_syntax.MAX_RULE_CHARS)
    description = _text(body, "description", 1000, required=False)
    async with request.app[PRIMARY].acquire() as conn:
        known = [*RESERVED_METRICS, *(m.metric_id for m in await definitions.metrics_of(conn, tenant))]
        current = await segment_reads.version(conn, tenant, segment_id)
        live = await segment_reads.segment(conn, tenant, segment_id)
    try:
        rule_syntax.parse(rule, known_metrics=known)
    except rule_syntax.RuleError as exc:
        raise ApiError(400, "invalid_rule", f"body.rule: {exc}", "body.rule") from None
    if live is not None and (live["name"], live["rule"], live["description"]) == (name, rule, description):
        return json_response({**render(live), "changed": False})
    event = {**new_envelope(tenant), "segmentId": segment_id, "name": name, "rule": rule,
             "description": description, "version": current + 1, "deleted": False}
    return await _run(request, event, 201 if current == 0 else 200)


async def delete_segment(request: web.Request) -> web.Response:
    tenant, segment_id, seg = await _existing(request, PRIMARY)
    event = {**new_envelope(tenant), "segmentId": segment_id, "name": seg["name"], "rule": seg["rule"],
             "description": seg["description"], "version": seg["version"] + 1, "deleted": True}
    return await _run(request, event, 200)


async def _run(request: web.Request, event: dict[str, Any], status: int) -> web.Response:
    pos = await commands.publish(request.app, "definitions", "SegmentDefined", event)
    response = await _answer(request, event, status)
    response.headers["X-P360-Position"] = str(pos)
    return response


async def _answer(request: web.Request, event: dict[str, Any], status: int) -> web.Response:
    tenant, segment_id = event["tenantId"], event["segmentId"]

    async def check(conn: Any) -> bool:
        return await segment_reads.applied(conn, tenant, segment_id, event["occurredAt"], event["eventId"])

    location = f"/api/v1/segments/{segment_id}"
    if not await commands.wait_applied(request.app, request.app[POOL], check):
        return json_response({"status": "accepted", "eventId": event["eventId"], "location": location}, 202)
    if event["deleted"]:
        return json_response({"deleted": True, "id": segment_id, "eventId": event["eventId"]}, status)
    async with request.app[POOL].acquire() as conn:
        row = await segment_reads.segment(conn, tenant, segment_id)
    if row is None or row["event_id"] != event["eventId"]:
        raise ApiError(409, "superseded", f"another definition of segment {segment_id!r} was applied after this one",
                       "id")
    return json_response({**render(row), "eventId": event["eventId"], "changed": True}, status)
