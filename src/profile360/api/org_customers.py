"""Seed 003: ``/api/v1/organizations/{org_uuid}/customers`` (list, create) and
``…/customers/{customer_uuid}`` (get, update). The organization is the caller's tenant (any
other ``org_uuid`` is 404). Create and update are commands: validate, publish
``OrgCustomerUpserted``, wait until applied, answer with the resource (or 202 with where to
look); every answer to a write carries ``X-P360-Position`` for read-your-writes."""
from __future__ import annotations

import uuid as uuids
from typing import Any

import orjson
from aiohttp import web

from profile360.api import commands, erasure, params
from profile360.api.errors import ApiError, bad_param, json_response
from profile360.api.keys import POOL, PRIMARY
from profile360.events.organizations import customer as validate
from profile360.projections.erasure import ORG_CUSTOMER_PREFIX
from profile360.events.rules import InvalidEvent, new_envelope
from profile360.store import org_reads

FIELDS = {"full_name": "fullName", "email": "email", "role": "role", "persona_uuid": "personaUuid",
          "customer_company_uuid": "companyUuid"}


def organization(request: web.Request) -> str:
    """The caller's tenant, if ``org_uuid`` names it; else 404 (other organizations do not exist for it)."""
    tenant, org = params.tenant(request), request.match_info["org_uuid"]
    if org != tenant:
        raise ApiError(404, "not_found", f"no organization {org[:100]!r}", "org_uuid")
    return tenant


def render(r: Any) -> dict[str, Any]:
    return {"uuid": r["customer_uuid"], "organization_uuid": r["tenant_id"], "full_name": r["full_name"],
            "email": r["email"], "role": r["role"], "persona_uuid": r["persona_uuid"],
            "customer_company_uuid": r["company_uuid"], "created_date": r["created_at"],
            "updated_date": r["occurred_at"], "last_interacted_date": r["last_interacted_at"]}


def _list(request: web.Request, name: str, limit: int = 100) -> list[str] | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(raw) > 4000 or len(values) > limit or any(len(v) > 256 for v in values):
        raise bad_param(name, f"at most {limit} comma-separated values of up to 256 characters, 4,000 in all")
    return values


async def list_customers(request: web.Request) -> web.Response:
    q = org_reads.CustomerQuery(
        organization(request), _list(request, "uuids"), params.text(request, "search", max_len=200),
        _list(request, "personas") or _list(request, "persona_uuids"), _list(request, "company_uuids"),
        params.choice(request, "sort_by", tuple(org_reads.SORTS), "last_interacted_date"),
        params.choice(request, "sort_direction", ("asc", "desc"), "desc") == "desc",
        params.integer(request, "page_size", 25, 1, 100), params.integer(request, "page_number", 1, 1, 10_000))
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            rows, total = await org_reads.customers(conn, q)
    return json_response({"customers": [render(r) for r in rows], "total_customer_count": total})


async def get_customer(request: web.Request) -> web.Response:
    row = await _existing(request)
    return json_response({"customers": [render(row)], "total_customer_count": 1})


async def _existing(request: web.Request, key: web.AppKey = POOL) -> Any:
    """The request's customer row from the pool ``key`` names (``PRIMARY`` for what a command
    decides from), or a 404."""
    tenant, cid = organization(request), request.match_info["customer_uuid"]
    async with request.app[key].acquire() as conn:
        row = await org_reads.customer(conn, tenant, cid)
    if row is None:
        raise ApiError(404, "not_found", f"no customer {cid[:100]!r} in organization {tenant!r}", "customer_uuid")
    return row


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise bad_param("body", "expected a JSON object") from None
    if not isinstance(body, dict):
        raise bad_param("body", "expected a JSON object")
    unknown = [key for key in body if key not in FIELDS]
    if unknown:  # every one named; ``field`` is the first, as in every other error
        raise ApiError(400, "invalid_parameter", f"unknown field{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(unknown)}; expected some of {', '.join(FIELDS)}", unknown[0])
    for key, value in body.items():
        if value is not None and not isinstance(value, str):
            raise bad_param(key, "expected a string or null")
    return body


async def create_customer(request: web.Request) -> web.Response:
    tenant = organization(request)
    body = await _body(request)
    return await _upsert(request, tenant, str(uuids.uuid4()), {FIELDS[k]: v for k, v in body.items()}, 201)


async def update_customer(request: web.Request) -> web.Response:
    row = await _existing(request, PRIMARY)
    body = await _body(request)
    current = {"fullName": row["full_name"], "email": row["email"], "role": row["role"],
               "personaUuid": row["persona_uuid"], "companyUuid": row["company_uuid"]}
    return await _upsert(request, row["tenant_id"], row["customer_uuid"],
                         {**current, **{FIELDS[k]: v for k, v in body.items()}}, 200)


async def _upsert(request: web.Request, tenant: str, cid: str, fields: dict[str, Any], status: int) -> web.Response:
    event = {**new_envelope(tenant, "org"), "customerUuid": cid, **{f: fields.get(f) for f in FIELDS.values()}}
    try:
        validate(event)
    except InvalidEvent as exc:
        api_name = next((k for k, v in FIELDS.items() if v == exc.field), exc.field)
        raise bad_param(api_name, exc.problem) from None
    pos = await commands.publish(request.app, "customers", "OrgCustomerUpserted", event)
    location = f"/api/v1/organizations/{tenant}/customers/{cid}"

    async def check(conn: Any) -> bool:
        return await commands.applied(request.app, conn, pos)

    if not await commands.wait_applied(request.app, request.app[POOL], check):
        response = json_response({"status": "accepted", "uuid": cid, "location": location, "position": str(pos)}, 202)
    else:
        async with request.app[POOL].acquire() as conn:
            row = await org_reads.customer(conn, tenant, cid)
        response = json_response({"customers": [render(row)]}, status)
    response.headers["X-P360-Position"] = str(pos)
    response.headers["Location"] = location
    return response


async def erase_customer(request: web.Request) -> web.Response:
    """GDPR erasure of an organization customer (admin only): the customer, their feedback and
    highlights, now and on every replay; answers with the counts deleted (or 202)."""
    row = await _existing(request, PRIMARY)
    return await erasure.erase(request, row["tenant_id"], [ORG_CUSTOMER_PREFIX + row["customer_uuid"]], "customer_uuid")
