"""``GET /api/v1/dead-letters`` and ``POST /api/v1/dead-letters/redrive`` (admin only): the key's
tenant's dead letters, and re-driving them to their origin topics. Thin handlers over
``profile360.dlq`` (the ``profile360 dlq`` CLI's implementation), with its bounds: a listing
reads only the newest letters of each partition, for a few seconds at most (``"complete":
false`` when that left letters unread).

Redrive body: ``{"ids": ["<topic>:<partition>:<offset>", ...]}`` (at most ``dlq.MAX_IDS``) or
``{"all": true}`` (every letter of the tenant the listing would count); answers ``{"redriven":
n}``, ids of letters not found or of another tenant not counted. Re-driving does not remove a
letter from the dead-letter topic, and re-driving one twice is harmless (an event id is
applied once); a letter still bad is dead-lettered again.
"""
from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from profile360 import dlq
from profile360.api import commands, params
from profile360.api.errors import ApiError, bad_param, json_response
from profile360.api.keys import SETTINGS
from profile360.worker.dead_letters import redrive_messages

#: reading the topic, connecting included, past this is a 503 ``kafka_unavailable``
READ_TIMEOUT = dlq.SCAN_SECONDS + 7.0


async def _bounded(what: str, step):  # noqa: ANN001, ANN202 - an awaitable and its result
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            return await step
    except TimeoutError:
        raise ApiError(503, "kafka_unavailable", f"{what} did not answer within {READ_TIMEOUT:.0f} s; retry shortly") from None


async def list_dead_letters(request: web.Request) -> web.Response:
    limit = params.integer(request, "limit", 100, 1, 1000)
    app = request.app
    found = await _bounded("reading the dead letters", dlq.list_for_tenant(
        app[SETTINGS], commands.codec(app), params.tenant(request), limit))
    return json_response(found)


async def _wanted(request: web.Request) -> list[tuple[int, int]] | None:
    """The (partition, offset) pairs the body names, or None for ``{"all": true}``."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_body", "the body is not JSON") from None
    if not isinstance(body, dict) or (body != {"all": True} and set(body) != {"ids"}):
        raise ApiError(400, "invalid_body", 'send {"ids": [...]} or {"all": true}, nothing else')
    if "all" in body:
        return None
    ids = body["ids"]
    if not isinstance(ids, list) or not 0 < len(ids) <= dlq.MAX_IDS:
        raise bad_param("ids", f"must be a list of 1 to {dlq.MAX_IDS} dead-letter ids")
    topic = request.app[SETTINGS].topic("dlq")
    wanted = [dlq.parse_id(topic, i) for i in ids]
    bad = next((n for n, w in enumerate(wanted) if w is None), None)
    if bad is not None:
        raise bad_param(f"ids[{bad}]", f"is not the id of a letter of {topic} ('<topic>:<partition>:<offset>')")
    return wanted


async def redrive(request: web.Request) -> web.Response:
    wanted, app = await _wanted(request), request.app
    letters = await _bounded("reading the dead letters", dlq.tenant_letters(
        app[SETTINGS], commands.codec(app), params.tenant(request), wanted))
    messages = redrive_messages(letters)
    if messages:
        await commands.send(app, messages, "the redrive")
    return json_response({"redriven": len(messages)})
