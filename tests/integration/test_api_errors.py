"""Bad requests get a 400 with a JSON body naming the parameter; health endpoints answer
without a key."""
from __future__ import annotations

import os

import pytest

from profile360.resources import projections_dir
from profile360.store.migrations import load_migrations

from .test_pipeline import api_client

pytestmark = pytest.mark.integration

HISTORY, SUMMARY = "/api/v1/interaction-history", "/api/v1/interaction-summary"
LATEST = max(m.version for m in load_migrations(projections_dir()))


@pytest.mark.parametrize("path, params, field", [
    (HISTORY, {"limit": "0"}, "limit"),
    (HISTORY, {"limit": "1001"}, "limit"),
    (HISTORY, {"limit": "ten"}, "limit"),
    (HISTORY, {"cursor": "not-a-cursor"}, "cursor"),
    (HISTORY, {"offerId": "a", "actionId": "b"}, "offerId"),
    (HISTORY, {"customerId": "x" * 300}, "customerId"),
    (SUMMARY, {"groupBy": "planet"}, "groupBy"),
    (SUMMARY, {"days": "-1"}, "days"),
    (SUMMARY, {"days": "99999"}, "days"),
    (SUMMARY, {"groupBy": "customer", "sort": "name"}, "sort"),
    (SUMMARY, {"groupBy": "action", "sort": "total"}, "sort"),  # customers only: refused, not ignored
    (SUMMARY, {"groupBy": "customer", "cursor": "%%%"}, "cursor"),
    (SUMMARY, {"groupBy": "customer", "sort": "total", "cursor": "WyJjMSJd"}, "cursor"),
])
async def test_bad_parameters_are_named(settings, path, params, field):
    client = await api_client(settings)
    try:
        resp = await client.get(path, params=params, headers={"X-Tenant-Id": "acme"})
        body = await resp.json()
    finally:
        await client.close()
    assert resp.status == 400
    assert body["error"]["field"] == field
    assert body["error"]["code"] == "invalid_parameter"
    assert field in body["error"]["message"]


async def test_a_key_is_required_and_unknown_routes_are_json(settings):
    client = await api_client(settings)
    try:
        resp = await client.get(HISTORY)
        body = await resp.json()
        assert (resp.status, body["error"]["code"], body["error"]["field"]) == (401, "unauthorized", "Authorization")
        resp = await client.get("/api/v1/nothing-here", headers={"X-Tenant-Id": "acme"})
        assert resp.status == 404 and (await resp.json())["error"]["status"] == 404
    finally:
        await client.close()


async def test_empty_tenant_gets_empty_pages(settings):
    client = await api_client(settings)
    try:
        body = await (await client.get(HISTORY, headers={"X-Tenant-Id": "nobody"})).json()
        assert body == {"data": [], "total": 0, "hasMore": False, "nextCursor": None}
        body = await (await client.get(SUMMARY, params={"groupBy": "customer"}, headers={"X-Tenant-Id": "nobody"})).json()
        assert body == {"groupBy": "customer", "days": 30, "summary": [], "nextCursor": None}
    finally:
        await client.close()


async def test_health_and_readiness(settings):
    client = await api_client(settings)
    try:
        assert (await (await client.get("/healthz")).json()) == {"status": "ok", "pid": os.getpid()}
        resp = await client.get("/readyz")
        body = await resp.json()
        assert resp.status == 200 and body["status"] == "ready" and body["schemaVersion"] == LATEST
    finally:
        await client.close()
