"""API keys, roles and tenant isolation, on every route of the app.

Tenant ``bravo`` holds the demo data; tenant ``alpha`` has nothing but the Customer 360
module turned on. A key of ``alpha`` must never read, list, count, write or erase anything of
``bravo``: not by naming its ids or identifiers, not with its cursors, not by claiming its
tenant in ``X-Tenant-Id``.
"""
from __future__ import annotations

import asyncpg
import pytest

from profile360.api.auth import is_public
from profile360.cli.demo import publish_demo
from profile360.store import api_keys

from . import workload
from .api_auth import make_key
from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client
from .test_profiles import configured, publish_records

pytestmark = pytest.mark.integration

SEGMENT = {"name": "Mine", "rule": "count(click, 30) >= 1"}
ORG_RECORDS = {"OrgCustomerUpserted", "FeedbackRecorded", "FeedbackHighlighted", "InsightRecorded", "IssueRecorded"}


def routes_of(app) -> set[tuple[str, str]]:
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.method != "HEAD" and not is_public(r.resource.canonical)}


async def _call(client, key: str, method: str, path: str, **kwargs):
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    resp = await client.request(method, path, headers=headers, **kwargs)
    return resp.status, (await resp.json())


async def test_keys_and_roles(settings):
    client = await api_client(settings)
    try:
        viewer, editor, admin = [await make_key(settings.database_url, "acme", r) for r in ("viewer", "editor", "admin")]
        assert (await _call(client, "p360_nope_nope", "GET", "/api/v1/segments"))[0] == 401
        assert (await _call(client, viewer + "x", "GET", "/api/v1/segments"))[0] == 401
        status, body = await _call(client, viewer, "GET", "/api/v1/segments")
        assert status == 200 and body["data"] == []
        status, body = await _call(client, viewer, "PUT", "/api/v1/segments/s1", json=SEGMENT)
        assert (status, body["error"]["code"]) == (403, "forbidden")
        for key in (viewer, editor):
            status, body = await _call(client, key, "DELETE", "/api/v1/customers/C1")
            assert (status, body["error"]["code"]) == (403, "forbidden"), key
        assert (await _call(client, admin, "DELETE", "/api/v1/customers/C1"))[0] == 404  # allowed, nobody there
        conn = await asyncpg.connect(settings.database_url)
        try:
            fresh = await api_keys.create(conn, "acme", "admin")
            assert await api_keys.revoke(conn, api_keys.split(fresh)[0])
            stored = await conn.fetchval("SELECT secret_sha256 FROM public.api_keys WHERE key_id = $1", api_keys.split(fresh)[0])
        finally:
            await conn.close()
        assert api_keys.split(fresh)[1].encode() not in stored  # only the hash is kept
        assert (await _call(client, fresh, "GET", "/api/v1/segments"))[0] == 401
    finally:
        await client.close()


async def test_a_tenant_never_sees_or_touches_another_tenants_data(settings):
    async with InProcessWorker(settings):
        assert await publish_demo(settings, "bravo", wait=60) == 0
        await publish_records(settings, [(n, {**r, "tenantId": "bravo"}) for n, r in workload.people("bravo")
                                         if n in ORG_RECORDS])
        await publish_records(settings, [(n, {**r, "tenantId": "alpha"}) for n, r in [configured("alpha-on", 1, 0.8, True)]])
        await wait_caught_up(settings)
        client = await api_client(settings)
        try:
            alpha, bravo = await make_key(settings.database_url, "alpha"), await make_key(settings.database_url, "bravo")
            cursors = await _cursors_of(client, bravo)
            seen = await _probe_every_route(client, alpha, cursors)
            assert seen == routes_of(client.server.app), "a route without an isolation check"
            for method, path in [("GET", "/api/v1/segments"), ("DELETE", "/api/v1/customers/CUST007"),
                                 ("GET", "/en/api/customer360")]:
                status, body = await _call(client, alpha, method, path, headers={"X-Tenant-Id": "bravo"})
                assert (status, body["error"]["code"]) == (403, "tenant_mismatch")
            # bravo's data is intact
            assert (await _call(client, bravo, "GET", "/api/v1/customers/CUST007/unified-profile"))[0] == 200
            status, body = await _call(client, bravo, "GET", "/api/v1/segments/high_value")
            assert status == 200 and body["rule"] != SEGMENT["rule"] and body["memberCount"] >= 1
        finally:
            await client.close()


async def _cursors_of(client, key: str) -> dict[str, str]:
    """Cursors from bravo's own pages, to replay with alpha's key."""
    _, history = await _call(client, key, "GET", "/api/v1/interaction-history", params={"limit": "1"})
    _, summary = await _call(client, key, "GET", "/api/v1/interaction-summary", params={"groupBy": "customer", "limit": "1"})
    _, members = await _call(client, key, "GET", "/api/v1/segments/high_value/members", params={"limit": "1"})
    assert history["nextCursor"] and summary["nextCursor"]
    return {"history": history["nextCursor"], "summary": summary["nextCursor"], "members": members.get("nextCursor") or ""}


async def _probe_every_route(client, key: str, cursors: dict[str, str]) -> set[tuple[str, str]]:
    """Call every route as alpha with bravo's ids and cursors; return the routes probed."""
    seen: set[tuple[str, str]] = set()

    async def probe(method: str, route: str, path: str, **kwargs):
        seen.add((method, route))
        return await _call(client, key, method, path, **kwargs)

    status, body = await probe("GET", "/api/v1/interaction-history", "/api/v1/interaction-history",
                               params={"customerId": "CUST007"})
    assert (status, body["data"], body["total"]) == (200, [], 0)
    status, body = await probe("GET", "/api/v1/interaction-history", "/api/v1/interaction-history",
                               params={"cursor": cursors["history"]})
    assert status in (200, 400) and not body.get("data")
    for group in ("action", "customer"):
        status, body = await probe("GET", "/api/v1/interaction-summary", "/api/v1/interaction-summary",
                                   params={"groupBy": group, "days": "3650"})
        assert (status, body["summary"]) == (200, [])
    status, body = await probe("GET", "/api/v1/interaction-summary", "/api/v1/interaction-summary",
                               params={"groupBy": "customer", "cursor": cursors["summary"]})
    assert status in (200, 400) and not body.get("summary")
    for ident in ("CUST007", "CUST012", "email:jane.doe@example.com"):
        status, _ = await probe("GET", "/api/v1/customers/{id}/unified-profile", f"/api/v1/customers/{ident}/unified-profile")
        assert status == 404, ident
        status, _ = await probe("GET", "/api/v1/customers/{id}", f"/api/v1/customers/{ident}")
        assert status == 404, ident
        status, _ = await probe("GET", "/{locale}/api/customer360/customers/{id}", f"/en/api/customer360/customers/{ident}")
        assert status == 404, ident
        status, body = await probe("GET", "/{locale}/api/customer360/customers/{id}/events",
                                   f"/en/api/customer360/customers/{ident}/events")
        assert status == 404 or not body["result"]["data"], ident
    status, body = await probe("GET", "/{locale}/api/customer360", "/en/api/customer360")
    assert status == 200 and body["result"]["data"]["topSegments"] == []
    assert (await probe("DELETE", "/api/v1/customers/{id}", "/api/v1/customers/CUST007"))[0] == 404
    status, body = await probe("GET", "/api/v1/segments", "/api/v1/segments")
    assert (status, body["data"]) == (200, [])
    assert (await probe("GET", "/api/v1/segments/{id}", "/api/v1/segments/high_value"))[0] == 404
    assert (await probe("GET", "/api/v1/segments/{id}/members", "/api/v1/segments/high_value/members",
                        params={"cursor": cursors["members"]} if cursors["members"] else {}))[0] == 404
    assert (await probe("DELETE", "/api/v1/segments/{id}", "/api/v1/segments/high_value"))[0] == 404
    status, _ = await probe("PUT", "/api/v1/segments/{id}", "/api/v1/segments/high_value", json=SEGMENT)
    assert status in (200, 201, 202)  # alpha's own segment of that name
    assert (await probe("DELETE", "/api/v1/segments/{id}", "/api/v1/segments/high_value"))[0] in (200, 202)
    await _probe_organizations(probe)
    status, body = await probe("GET", "/api/v1/status", "/api/v1/status")  # the pipeline's, the same for every key
    assert status == 200 and set(body) == {"topics", "deadLetters", "generation", "checkedAt"}
    status, body = await probe("GET", "/api/v1/me", "/api/v1/me")  # the key's own tenant, never another
    assert status == 200 and body["tenantId"] == "alpha"
    await _probe_dead_letters(probe)
    return seen


async def _probe_dead_letters(probe) -> None:
    """alpha's admin publishes nothing for bravo (test_collect), and lists and re-drives no dead
    letter of bravo's (test_dead_letter_routes has a letter of each tenant)."""
    event = {"$schema": "InteractionEvent", "eventId": "x-1", "tenantId": "bravo", "customerId": "CUST007",
             "type": "click", "occurredAt": "2026-01-01T00:00:00Z"}
    status, body = await probe("POST", "/api/v1/events", "/api/v1/events", json={"events": [event]})
    assert (status, body["rejected"], body["results"][0]["error"]["code"]) == (207, 1, "tenant_mismatch")
    status, body = await probe("GET", "/api/v1/dead-letters", "/api/v1/dead-letters")
    assert (status, body["items"], body["total"]) == (200, [], 0)
    status, body = await probe("POST", "/api/v1/dead-letters/redrive", "/api/v1/dead-letters/redrive", json={"all": True})
    assert (status, body) == (200, {"redriven": 0})


async def _probe_organizations(probe) -> None:
    """bravo's organization and customers do not exist for alpha, whatever the path names."""
    org = "/api/v1/organizations/{org_uuid}/customers"
    for org_uuid, listed in (("bravo", 404), ("alpha", 200)):  # bravo's org does not exist; alpha's has no oc-1
        base = f"/api/v1/organizations/{org_uuid}/customers"
        status, body = await probe("GET", org, base, params={"uuids": "oc-1", "search": "person"})
        assert status == listed and body.get("customers", []) == [] and not body.get("total_customer_count")
        assert (await probe("GET", org + "/{customer_uuid}", f"{base}/oc-1"))[0] == 404
        assert (await probe("PUT", org + "/{customer_uuid}", f"{base}/oc-1", json={"full_name": "x"}))[0] == 404
        assert (await probe("DELETE", org + "/{customer_uuid}", f"{base}/oc-1"))[0] == 404
        for sub in ("feedbacks", "feedback_highlights", "insights", "issues"):
            assert (await probe("GET", org + "/{customer_uuid}/" + sub, f"{base}/oc-1/{sub}"))[0] == 404
    status, _ = await probe("POST", org, "/api/v1/organizations/bravo/customers", json={"full_name": "Mallory"})
    assert status == 404
    status, body = await probe("POST", org, "/api/v1/organizations/alpha/customers", json={"full_name": "Alice"})
    assert status in (201, 202)  # alpha's own
