"""The aiohttp application factory, shared by ``profile360 api`` and the tests."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from aiohttp import web

from profile360.api import (auth, collect, commands, customer360, customers, dead_letters, erasure, freshness, health,
                            interactions, metrics, openapi, org_customers, org_feedback, pages, pipeline, profiles, rates,
                            sections, segments)
from profile360.api.errors import error_middleware, shed
from profile360.api.keys import POOL, PRIMARY, SCHEMA_VERSION, SETTINGS, STOPPING
from profile360.api.limits import BoundedPool, in_flight_cap
from profile360.outages import riding_out
from profile360.settings import Settings
from profile360.store.pool import open_checked_pool


async def _no_reset_query(conn: object) -> None:
    """Released connections skip asyncpg's reset query (``pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL``), a round trip per request: the API leaves no session state on a
    connection (its statements take transaction-scoped locks and ``SET LOCAL`` settings only,
    and open no cursors outside a transaction); asyncpg still rolls back a transaction left open."""


async def _open(settings: Settings, url: str, what: str) -> tuple[BoundedPool, int]:
    # JIT compilation costs more than it saves on these short, index-driven queries
    pool, version = await riding_out(
        open_checked_pool, url, settings.db_pool_size, what=f"connecting to {what}", command_timeout=30,
        server_settings={"jit": "off", "statement_timeout": str(settings.statement_timeout_ms)}, reset=_no_reset_query)
    return BoundedPool(pool, settings.db_acquire_timeout_ms / 1000), version


async def _database(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the primary's pool, and the replica's when ``DATABASE_READ_URL`` is set
    (see ``keys``); both must hold this build's schema. Waits for a connection and queries are
    bounded (``limits``)."""
    settings = app[SETTINGS]
    app[PRIMARY], app[SCHEMA_VERSION] = await _open(settings, settings.database_url, "PostgreSQL")
    app[POOL] = app[PRIMARY]
    try:
        if settings.database_read_url:
            app[POOL], _ = await _open(settings, settings.database_read_url, "the PostgreSQL replica")
        yield
    finally:
        await app[PRIMARY].close()
        if app[POOL] is not app[PRIMARY]:
            await app[POOL].close()


async def _close_when_stopping(request: web.Request, response: web.StreamResponse) -> None:
    """Once the process stops, answers carry ``Connection: close``: a busy client opens a new
    connection for its next request (and finds the closed socket, or another process) rather
    than sending it on a connection the server is about to close."""
    if request.app[STOPPING].is_set():
        response.force_close()


def create_app(settings: Settings) -> web.Application:
    sections.discover()
    limiter = rates.Limiter(settings.rate_limit_per_key, settings.rate_limit_per_tenant)
    measured = metrics.ApiMetrics()
    # the rate limits come before the in-flight cap: a request beyond its key's or tenant's rate
    # is refused without taking a place, so a flooding tenant cannot fill the cap for the others
    # the metrics middleware is outermost: it counts every answer, the other middlewares' too
    app = web.Application(middlewares=[metrics.middleware(measured), error_middleware, auth.middleware(),
                                       rates.middleware(limiter), in_flight_cap(settings.api_max_in_flight, shed),
                                       freshness.at_least],
                          client_max_size=collect.MAX_BYTES)
    app[SETTINGS] = settings
    app[health.PROBE] = health.LagProbe()
    app[pipeline.BOUNDS] = pipeline.Bounds()
    app[metrics.METRICS] = measured
    app[STOPPING] = asyncio.Event()
    app.on_response_prepare.append(_close_when_stopping)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(commands.publisher)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/openapi.json", openapi.openapi_json)
    app.router.add_get("/docs", pages.docs_page)
    app.router.add_get("/docs/{file}", pages.docs_file)
    app.router.add_get("/console", pages.console_page)
    app.router.add_get("/console/{file}", pages.console_file)
    app.router.add_get("/api/v1/me", auth.me)
    app.router.add_get("/api/v1/interaction-history", interactions.interaction_history)
    app.router.add_get("/api/v1/interaction-summary", interactions.interaction_summary)
    app.router.add_get("/api/v1/customers/{id}/unified-profile", profiles.unified_profile)
    app.router.add_get("/api/v1/customers/{id}", customers.get_customer)
    app.router.add_delete("/api/v1/customers/{id}", erasure.erase_customer)
    app.router.add_get("/api/v1/segments", segments.list_segments)
    app.router.add_get("/api/v1/segments/{id}", segments.get_segment)
    app.router.add_put("/api/v1/segments/{id}", segments.put_segment)
    app.router.add_delete("/api/v1/segments/{id}", segments.delete_segment)
    app.router.add_get("/api/v1/segments/{id}/members", segments.segment_members)
    org = "/api/v1/organizations/{org_uuid}/customers"
    app.router.add_get(org, org_customers.list_customers)
    app.router.add_post(org, org_customers.create_customer)
    app.router.add_get(org + "/{customer_uuid}", org_customers.get_customer)
    app.router.add_put(org + "/{customer_uuid}", org_customers.update_customer)
    app.router.add_delete(org + "/{customer_uuid}", org_customers.erase_customer)
    app.router.add_get(org + "/{customer_uuid}/feedbacks", org_feedback.feedbacks)
    app.router.add_get(org + "/{customer_uuid}/feedback_highlights", org_feedback.highlights)
    app.router.add_get(org + "/{customer_uuid}/insights", org_feedback.insights)
    app.router.add_get(org + "/{customer_uuid}/issues", org_feedback.issues)
    app.router.add_get("/api/v1/status", pipeline.status_handler)
    app.router.add_get("/metrics", metrics.metrics_handler)
    app.router.add_get("/{locale}/api/customer360", customer360.overview_handler)
    app.router.add_get("/{locale}/api/customer360/customers/{id}", customer360.profile_handler)
    app.router.add_get("/{locale}/api/customer360/customers/{id}/events", customer360.events_handler)
    app.router.add_post("/api/v1/events", collect.collect)
    app.router.add_get("/api/v1/dead-letters", dead_letters.list_dead_letters)
    app.router.add_post("/api/v1/dead-letters/redrive", dead_letters.redrive)
    return app
