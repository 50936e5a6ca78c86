"""The OpenAPI 3.1 description of every route, served at ``/openapi.json`` (and browsed with
Swagger UI at ``/docs``, see ``pages``).

The description is data next to the code it describes; ``tests/integration/test_openapi.py``
fails when a route of the app is missing here, and CI fuzzes the running service against it
(no 500, every answer within its declared status codes and schemas).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from profile360.api.collect import MAX_EVENTS
from profile360.api.errors import json_response
from profile360.dlq import MAX_IDS
from profile360.api.params import MAX_PATH_ID
from profile360.store import api_keys
from profile360.topics import COLLECTED_RECORDS

Schema = dict[str, Any]

OBJ: Schema = {"type": "object"}
ERROR: Schema = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["status", "code", "message"],
    "properties": {"status": {"type": "integer"}, "code": {"type": "string"}, "message": {"type": "string"},
                   "field": {"type": "string"}}}}}
#: seed 000's envelope, ``{"result": {"data", "message", "status", "locale"}}``
RESULT: Schema = {"type": "object", "required": ["result"], "properties": {"result": {
    "type": "object", "required": ["data", "message", "status", "locale"],
    "properties": {"message": {"type": "string"}, "status": {"type": "integer"}, "locale": {"type": ["string", "null"]}}}}}
#: the Customer 360 module's errors: the error object beside the seed's envelope (data null)
C360_ERROR: Schema = {"allOf": [ERROR, RESULT]}

def _q(name: str, schema: Schema, doc: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": doc}


def _path(name: str, doc: str, pattern: str | None = None) -> Schema:
    schema: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_PATH_ID}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": doc}


def _text(name: str, doc: str, max_len: int = 256) -> Schema:
    return _q(name, {"type": "string", "maxLength": max_len}, doc)


def _int(name: str, lo: int, hi: int, default: int, doc: str) -> Schema:
    return _q(name, {"type": "integer", "minimum": lo, "maximum": hi, "default": default}, doc)


def _enum(name: str, values: tuple[str, ...], default: str, doc: str) -> Schema:
    return _q(name, {"type": "string", "enum": list(values), "default": default}, doc)


CURSOR = _text("cursor", "the nextCursor of the previous page", 512)
ID = _path("id", "profile id, customer id, or identifier as type:value")
SEGMENT_ID = _path("id", "segment id", r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
LOCALE = _path("locale", "a locale such as en; echoed in the response")


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
RATE_LIMIT = {
    "RateLimit-Limit": {"description": "requests per second allowed to the tighter of the caller's buckets (API key, "
                                       "tenant)", "schema": {"type": "number"}},
    "RateLimit-Remaining": {"description": "requests left in that bucket now", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "seconds until that bucket is full again", "schema": {"type": "integer"}}}


def _op(summary: str, params: list[Schema], ok: Schema, *extra: int, body: Schema | None = None,
        ok_status: int = 200, error: Schema = ERROR) -> Schema:
    # 429: rate_limited; 503: a dependency is away (database_unavailable, kafka_unavailable), the
    # process is at capacity (overloaded) or a query ran too long (query_timeout)
    statuses = {400, 401, 403, 404, 429, 503, *extra}
    responses: dict[str, Any] = {str(ok_status): {"description": "OK", "content": {"application/json": {"schema": ok}},
                                                  "headers": dict(RATE_LIMIT)}}
    for status in sorted(statuses):
        responses[str(status)] = {"description": "error", "content": {"application/json": {"schema": error}}}
    responses["503"]["headers"] = RETRY_AFTER
    responses["429"]["headers"] = {**RETRY_AFTER, **RATE_LIMIT}
    op: Schema = {"summary": summary, "parameters": params, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 1000},
                 "description": "the ETag of an earlier answer: 304 with no body while the answer would be the same"}


def _tagged(op: Schema) -> Schema:
    """A profile-shaped read: a weak ETag on its 200, and 304 for a matching If-None-Match."""
    op["parameters"] = [*op["parameters"], IF_NONE_MATCH]
    op["responses"]["200"]["headers"]["ETag"] = {"description": "weak tag of what the answer was computed from",
                                                 "schema": {"type": "string"}}
    op["responses"]["304"] = {"description": "not modified: the If-None-Match tag still holds"}
    return op


def _page(key: str) -> Schema:
    return {"type": "object", "required": [key], "properties": {key: {"type": "array"}}}


SEGMENT_BODY: Schema = {"type": "object", "required": ["name", "rule"], "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 200}, "rule": {"type": "string", "minLength": 1, "maxLength": 4000},
    "description": {"type": ["string", "null"], "maxLength": 1000}}}

ORG = _path("org_uuid", "the organization: the API key's tenant (any other is 404)")
CUSTOMER_UUID = _path("customer_uuid", "the customer's uuid in the organization")
PAGING = [_int("page_size", 1, 100, 25, "page size"), _int("page_number", 1, 10_000, 1, "page, from 1")]
MIN_POSITION = {"name": "X-P360-Min-Position", "in": "header", "required": False,
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._-]+/[0-9]+/[0-9]+$", "maxLength": 300},
                "description": "read-your-writes: serve only once this position (X-P360-Position of a write) is applied"}
_NULLABLE = {"type": ["string", "null"], "maxLength": 256}
ORG_CUSTOMER_BODY: Schema = {"type": "object", "additionalProperties": False, "properties": {
    "full_name": {"type": ["string", "null"], "maxLength": 200}, "email": {"type": ["string", "null"], "maxLength": 320},
    "role": {"type": ["string", "null"], "maxLength": 200}, "persona_uuid": _NULLABLE, "customer_company_uuid": _NULLABLE}}
ORG_CUSTOMERS = _page("customers")


#: the events themselves are checked one by one, each answered in the 207's results: any item
#: is a valid part of the body (a bad event is not a bad request)
EVENTS_BODY: Schema = {"type": "object", "required": ["events"], "properties": {"events": {
    "type": "array", "minItems": 1, "maxItems": MAX_EVENTS,
    "description": "records in the JSON shape of profile360 produce, 1 MiB in all, each naming its record in $schema "
                   f"(one of {', '.join(COLLECTED_RECORDS)}); tenantId may be left out"}}}
COLLECTED: Schema = {"type": "object", "required": ["accepted", "rejected", "results"], "properties": {
    "accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "results": {"type": "array", "items": {
        "type": "object", "required": ["index", "status"], "properties": {
            "index": {"type": "integer"}, "eventId": {"type": "string"}, "status": {"enum": ["accepted", "rejected"]},
            "error": ERROR["properties"]["error"]}}}}}
DEAD_LETTERS: Schema = {"type": "object", "required": ["items", "total", "complete"], "properties": {
    "items": {"type": "array", "items": {"type": "object", "required": ["id", "reason", "origin", "deadAt"]}},
    "total": {"type": "integer"}, "complete": {"type": "boolean"}}}
REDRIVE_BODY: Schema = {"oneOf": [
    {"type": "object", "required": ["ids"], "additionalProperties": False, "properties": {"ids": {
        "type": "array", "minItems": 1, "maxItems": MAX_IDS, "items": {"type": "string", "maxLength": 300},
        "description": "ids from GET /api/v1/dead-letters: <topic>:<partition>:<offset>"}}},
    {"type": "object", "required": ["all"], "additionalProperties": False, "properties": {"all": {"const": True}}}]}


def _multi_status(op: Schema) -> Schema:
    """An operation answering 207, in the 200's shape, when some items of a batch failed."""
    op["responses"]["207"] = {**op["responses"]["200"], "description": "some items rejected: see each result"}
    return op


def _list_param(name: str, doc: str) -> Schema:
    return _text(name, f"comma-separated {doc} (at most 100, 4,000 characters in all)", 4000)


_COUNT = {"type": "integer", "minimum": 0}
STATUS: Schema = {"type": "object", "required": ["topics", "deadLetters", "generation", "checkedAt"], "properties": {
    "topics": {"type": "array", "items": {
        "type": "object", "required": ["topic", "partition", "position", "endOffset", "lag", "lastAppliedAt"],
        "properties": {"topic": {"type": "string"}, "partition": _COUNT, "position": _COUNT, "endOffset": _COUNT,
                       "lag": _COUNT, "lastAppliedAt": {"type": ["string", "null"], "format": "date-time"}}}},
    "deadLetters": _COUNT, "generation": {"type": "integer", "minimum": 1},
    "checkedAt": {"type": "string", "format": "date-time"}}}


PATHS: dict[str, dict[str, Schema]] = {
    "/api/v1/organizations/{org_uuid}/customers": {
        "get": _op("An organization's customers, filtered, searched, sorted, paged (seed 003)", [
            ORG, _list_param("uuids", "customer uuids"), _text("search", "a substring of the name or email, case-insensitive in every script (Unicode case folding)", 200),
            _list_param("personas", "persona uuids"), _list_param("persona_uuids", "persona uuids (alias)"),
            _list_param("company_uuids", "company uuids"),
            _enum("sort_by", ("last_interacted_date", "full_name", "email", "created_date", "updated_date"),
                  "last_interacted_date", "order; full_name sorts in linguistic order (ICU root collation)"), _enum("sort_direction", ("asc", "desc"), "desc", "direction"),
            *PAGING, MIN_POSITION], ORG_CUSTOMERS),
        "post": _op("Create a customer (a command: waits until applied)", [ORG], ORG_CUSTOMERS, 202,
                    body=ORG_CUSTOMER_BODY, ok_status=201)},
    "/api/v1/organizations/{org_uuid}/customers/{customer_uuid}": {
        "get": _op("One customer (seed 003)", [ORG, CUSTOMER_UUID, MIN_POSITION], ORG_CUSTOMERS),
        "put": _op("Update a customer: the fields sent replace the stored ones (a command)", [ORG, CUSTOMER_UUID],
                   ORG_CUSTOMERS, 202, body=ORG_CUSTOMER_BODY),
        "delete": _op("GDPR erasure of the customer, their feedback and highlights (admin; a command)",
                      [ORG, CUSTOMER_UUID], {"type": "object", "required": ["success"]}, 202)},
    "/api/v1/organizations/{org_uuid}/customers/{customer_uuid}/feedbacks": {"get": _op(
        "A customer's feedback", [ORG, CUSTOMER_UUID, _enum("sort_by", ("feedback_date", "sentiment"), "feedback_date", "order"),
                                  _enum("sort_direction", ("asc", "desc"), "desc", "direction"), *PAGING, MIN_POSITION],
        _page("feedbacks"))},
    "/api/v1/organizations/{org_uuid}/customers/{customer_uuid}/feedback_highlights": {"get": _op(
        "Highlights of a customer's feedback, with sentiment", [ORG, CUSTOMER_UUID, *PAGING, MIN_POSITION],
        _page("highlights"))},
    "/api/v1/organizations/{org_uuid}/customers/{customer_uuid}/insights": {"get": _op(
        "Insights about a customer", [ORG, CUSTOMER_UUID, *PAGING, MIN_POSITION], _page("insights"))},
    "/api/v1/organizations/{org_uuid}/customers/{customer_uuid}/issues": {"get": _op(
        "Issues a customer is affected by", [ORG, CUSTOMER_UUID, *PAGING, MIN_POSITION], _page("issues"))},
    "/api/v1/interaction-history": {"get": _op(
        "Interaction history, newest first, cursor-paged (seed 001)",
        [_text("customerId", "a customer id; follows merges"), _text("offerId", "alias actionId"),
         _text("actionId", "alias of offerId"), _text("creativeId", "alias treatmentId"),
         _text("treatmentId", "alias of creativeId"), _text("type", "interaction type", 64),
         _int("limit", 1, 1000, 20, "page size"), CURSOR], _page("data"))},
    "/api/v1/interaction-summary": {"get": _op(
        "Interaction counts grouped by action, treatment, channel or customer (seed 001)",
        [_enum("groupBy", ("action", "treatment", "channel", "customer"), "action", "grouping dimension"),
         _int("days", 1, 3650, 30, "lookback window in days"), _int("limit", 1, 1000, 100, "rows"),
         _enum("sort", ("customerId", "total"), "customerId",
               "groupBy=customer only (with another groupBy it is a 400): customerId order, or busiest first"), CURSOR], _page("summary"))},
    "/api/v1/customers/{id}": {
        "get": _tagged(_op("The customer in the support-desk shape (seed 004)", [ID], {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}})),
        "delete": _op("GDPR erasure of the customer and everything linked to it (seed 001; admin)", [ID], {
            "type": "object", "required": ["success"], "properties": {"success": {"type": "boolean"}}}, 202)},
    "/api/v1/customers/{id}/unified-profile": {"get": _tagged(_op(
        "The unified profile (seed 002 sections; seed 001 keyed shape with shape=keyed)",
        [ID, _text("sections", "comma-separated section names", 512),
         _enum("shape", ("sections", "keyed"), "sections",
               "sections: seed 002's sections array; keyed: seed 001's keys (attributes a flat map of traits, "
               "segments a list of segment ids)")], OBJ))},
    "/api/v1/me": {"get": _op("The API key's tenant, role and id, and what its role may do (any role)", [], {
        "type": "object", "required": ["tenantId", "role", "keyId", "can"], "properties": {
            "tenantId": {"type": "string"}, "role": {"type": "string", "enum": list(api_keys.ROLES)},
            "keyId": {"type": "string"}, "can": {"type": "object", "additionalProperties": {"type": "boolean"}}}})},
    "/api/v1/segments": {"get": _op("The tenant's segments", [], _page("data"))},
    "/api/v1/segments/{id}": {
        "get": _op("One segment", [SEGMENT_ID], OBJ),
        "put": _op("Define or redefine a segment (a command: waits until applied); a definition identical to the live one "
                   "is 200 with changed: false and publishes nothing", [SEGMENT_ID], OBJ, 201, 202, 409,
                   body=SEGMENT_BODY),
        "delete": _op("Delete a segment (a command)", [SEGMENT_ID], OBJ, 202)},
    "/api/v1/segments/{id}/members": {"get": _op(
        "A segment's members, cursor-paged", [SEGMENT_ID, _int("limit", 1, 1000, 100, "page size"), CURSOR],
        _page("data"))},
    "/api/v1/status": {"get": _op(
        "The pipeline's state (any reading role, any tenant: it shows no tenant's data): per projected topic and "
        "partition the position stored with the data, Kafka's end offset, the lag between them and when a batch last "
        "moved the position; the records in the dead-letter topic; the current generation of the tables", [], STATUS)},
    "/api/v1/events": {"post": _multi_status(_op(
        "Publish a batch of events (admin, editor, producer): 200 when all were accepted, 207 with a result per event "
        "when some were rejected; valid ones are in Kafka (acks=all) before the answer", [], COLLECTED, 413,
        body=EVENTS_BODY))},
    "/api/v1/dead-letters": {"get": _op(
        "The key's tenant's dead letters, newest first (admin; reads only the newest letters of each partition, "
        "for a few seconds at most: complete is false when that left some unread)",
        [_int("limit", 1, 1000, 100, "items")], DEAD_LETTERS)},
    "/api/v1/dead-letters/redrive": {"post": _op(
        "Send the tenant's dead letters named by id (or all it can list) back to their origin topics (admin)", [],
        {"type": "object", "required": ["redriven"], "properties": {"redriven": {"type": "integer"}}}, body=REDRIVE_BODY)},
    "/metrics": {"get": {
        "summary": "Prometheus metrics of the API (text exposition format; no key needed; summed over the processes of "
                   "`profile360 api --processes N`). The list: docs/operations.md",
        "security": [], "parameters": [],
        "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/{locale}/api/customer360": {"get": _op("Customer 360 overview (seed 000)", [LOCALE], RESULT, error=C360_ERROR)},
    "/{locale}/api/customer360/customers/{id}": {"get": _tagged(_op(
        "Customer 360 profile object (seed 000)", [LOCALE, ID], RESULT, error=C360_ERROR))},
    "/{locale}/api/customer360/customers/{id}/events": {"get": _op(
        "Customer 360 events of a profile (seed 000)", [LOCALE, ID, _int("limit", 1, 100, 20, "page size"), CURSOR],
        RESULT, error=C360_ERROR)},
}


def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "profile360", "version": "1",
                 "description": "Event-sourced Customer 360. Every route needs `Authorization: Bearer <API key>`; "
                                "the key names the tenant. Errors: `{\"error\": {status, code, message, field?}}`."},
        "security": [{"apiKey": []}],
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": ERROR}},
        "paths": PATHS,
    }


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(document())
