"""Seed 000's Customer 360 module under ``/{locale}/api/customer360``: the overview, the
profile object and a profile's events, in the seed's ``result`` envelope (errors too: see
``errors.error_response``), for tenants whose ``isCustomer360`` setting is on
(``profile360 tenants set T --customer360 on``).

``locale`` is checked (``en``, ``ar``, ``en-US``, ...) and echoed; messages are English.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from aiohttp import web

from profile360.api import envelope, etags, params
from profile360.api.errors import ApiError, bad_param, json_response
from profile360.api.keys import POOL
from profile360.api.profiles import load
from profile360.store import overview, profiles, segment_reads, tenants

ACTIVE_DAYS = 30
REACH_CHANNELS = ("email", "sms", "push")


def _result(data: Any, message: str, locale: str) -> web.Response:
    return json_response(envelope.result(data, message, 200, locale))


def _locale(request: web.Request) -> str:
    locale = request.match_info["locale"]
    if not envelope.LOCALE_RE.fullmatch(locale):
        raise bad_param("locale", "must be a language code such as en, ar or en-US")
    return locale


async def _gate(request: web.Request, conn: Any) -> tuple[str, str]:
    """(tenant, locale) when the tenant has the module; a 403 naming the setting otherwise.
    Read on the connection (and in the snapshot) of the handler's own reads."""
    tenant, locale = params.tenant(request), _locale(request)
    setting = (await tenants.settings_of(conn, [tenant]))[tenant]
    if not setting.is_customer360:
        raise ApiError(403, "module_disabled", f"Customer 360 is not enabled for tenant {tenant!r} "
                       "(isCustomer360; see `profile360 tenants set`)")
    return tenant, locale


async def overview_handler(request: web.Request) -> web.Response:
    now = datetime.now(timezone.utc)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            tenant, locale = await _gate(request, conn)
            counts = await overview.counts(conn, tenant, month_start.date(), now.date() - timedelta(days=ACTIVE_DAYS - 1),
                                           now.date())
            top = await segment_reads.top_segments(conn, tenant, 5)
    data = {"totalContacts": counts.total, "activeContacts": counts.active, "newContactsThisMonth": counts.new,
            "topSegments": [{"id": r["segment_id"], "name": r["name"], "contactCount": r["members"]} for r in top],
            "channelReach": {**dict.fromkeys(REACH_CHANNELS, 0), **counts.reach}}
    return _result(data, "Customer 360 overview fetched", locale)


async def _profile(request: web.Request, conn: Any, tenant: str) -> profiles.ProfileRef:
    ref = await profiles.resolve(conn, tenant, params.path_id(request))
    if ref is None:
        raise ApiError(404, "not_found", f"no customer {request.match_info['id']!r} in tenant {tenant!r}", "id")
    return ref


async def profile_handler(request: web.Request) -> web.StreamResponse:
    """The profile object, from the materialized profile; a matching ``If-None-Match`` answers 304."""
    async with request.app[POOL].acquire() as conn:
        tenant, locale = await _gate(request, conn)
        loaded = await load(conn, tenant, params.path_id(request))
    tag = etags.make(loaded.tag, "object", locale)  # no part of it depends on the day
    if etags.matches(request, tag):
        return etags.not_modified(tag)
    return etags.tagged(_result(loaded.view.profile_object(), "Customer profile fetched", locale), tag)


async def events_handler(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            tenant, locale = await _gate(request, conn)
            limit, after = params.integer(request, "limit", 20, 1, 100), params.cursor(request)
            ref = await _profile(request, conn, tenant)
            rows = await overview.events_page(conn, tenant, ref.customer_ids, after, limit)
    page, more = rows[:limit], len(rows) > limit
    events = [{"id": r["event_id"], "customerId": r["customer_id"], "type": r["interaction_type"], "channel": r["channel"],
               "campaignId": r["campaign_id"], "workflowId": r["workflow_id"], "metadata": orjson.loads(r["metadata"]),
               "occurredAt": r["occurred_at"]} for r in page]
    data = {"events": events, "hasMore": more,
            "nextCursor": params.encode_cursor(page[-1]["occurred_at"], page[-1]["event_id"]) if more else None}
    return _result(data, "Customer events fetched", locale)
