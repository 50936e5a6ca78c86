"""``POST /api/v1/events``: the HTTP collect endpoint, for producers that cannot speak Kafka.

Body ``{"events": [...]}``: 1 to ``MAX_EVENTS`` events, at most ``MAX_BYTES`` in all. Each event
is a record in the JSON shape of ``profile360 produce`` (``events.jsonl``), naming its record
with ``"$schema"`` (one of ``topics.COLLECTED_RECORDS``: every record producers publish, not
the service's own erasure commands and definitions). ``tenantId`` is the key's tenant: filled in
when left out (or null), any other is a 403 ``tenant_mismatch`` for that event. Each event is
checked as the worker will check it (schema, then domain rules), so an accepted event is not
dead-lettered for its content; the valid ones are published (each to its record's topic,
``topics.FAMILY_OF_RECORD``) and acknowledged by the broker (``acks=all``) before the answer.

Answers: 200 when every event was accepted, 207 when at least one was rejected (even all of
them), each with ``{"accepted": n, "rejected": m, "results": [...]}``, one result per event in
order: ``{"index", "eventId", "status": "accepted"}`` or ``{"index", "eventId"?, "status":
"rejected", "error": {status, code, message, field}}`` (the API's error object; ``field`` as
``events[3].customerId``). The whole request fails with 400 ``invalid_body`` (not JSON, no
``events`` array, no event or more than ``MAX_EVENTS``), 413 ``body_too_large`` (over
``MAX_BYTES``) or 503 ``kafka_unavailable`` (the broker did not acknowledge every valid event
in time; some may be published: send the batch again). Re-sending is safe: the worker applies an
``eventId`` once per tenant.
"""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from profile360.api import commands, params
from profile360.api.errors import ApiError, json_response
from profile360.api.keys import SETTINGS
from profile360.events.codec import Codec
from profile360.events.jsonl import RecordError, checked
from profile360.settings import Settings
from profile360.topics import COLLECTED_RECORDS, FAMILY_OF_RECORD, partition_key

MAX_EVENTS = 1_000
MAX_BYTES = 1024 * 1024


async def collect(request: web.Request) -> web.Response:
    events, tenant = await _events(request), params.tenant(request)
    settings, codec = request.app[SETTINGS], commands.codec(request.app)
    results, messages = [], []
    for index, event in enumerate(events):
        result, message = _one(settings, codec, tenant, index, event)
        results.append(result)
        if message is not None:
            messages.append(message)
    if messages:
        await commands.send(request.app, messages, f"the batch's {len(messages)} valid event(s)")
    rejected = len(events) - len(messages)
    return json_response({"accepted": len(messages), "rejected": rejected, "results": results}, 207 if rejected else 200)


async def _events(request: web.Request) -> list[Any]:
    """The body's ``events`` array, or the request's 400 or 413."""
    too_large = ApiError(413, "body_too_large", f"the body is over {MAX_BYTES} bytes (1 MiB): send fewer events per request")
    if (request.content_length or 0) > MAX_BYTES:
        raise too_large
    try:
        raw = await request.read()  # the app's client_max_size (MAX_BYTES) bounds a chunked body
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid_body", "the body is not JSON") from None
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise ApiError(400, "invalid_body", 'send {"events": [...]}', "events")
    if not 0 < len(events) <= MAX_EVENTS:
        raise ApiError(400, "invalid_body", f"events: 1 to {MAX_EVENTS} per request, got {len(events)}", "events")
    return events


def _one(settings: Settings, codec: Codec, tenant: str, index: int, event: Any) -> tuple[dict, commands.Message | None]:
    """The result for one event, and its message when accepted."""
    event_id = event.get("eventId") if isinstance(event, dict) else None
    head: dict[str, Any] = {"index": index, **({"eventId": event_id} if isinstance(event_id, str) else {})}
    try:
        name, record, value = checked(_owned(event, tenant, index), COLLECTED_RECORDS, codec)
    except ApiError as exc:
        return {**head, "status": "rejected", "error": exc.body()["error"]}, None
    except RecordError as exc:
        field = f"events[{index}]" + (f".{exc.field}" if exc.field else "")
        return {**head, "status": "rejected", "error": ApiError(400, "invalid_event", str(exc)[:500], field).body()["error"]}, None
    message = (settings.topic(FAMILY_OF_RECORD[name]), value, partition_key(name, record))
    return {**head, "status": "accepted"}, message


def _owned(event: Any, tenant: str, index: int) -> Any:
    """The event with the key's tenant filled in; a 403 when it names another."""
    if not isinstance(event, dict) or event.get("tenantId") == tenant:
        return event
    if event.get("tenantId") is None:
        return {**event, "tenantId": tenant}
    raise ApiError(403, "tenant_mismatch", "tenantId: is not the API key's tenant", f"events[{index}].tenantId")
