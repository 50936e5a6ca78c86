"""Seed 000's Customer 360 module: gated by the tenant setting, counts profiles (not customer
ids), and pages a profile's events; checked against a plain reading of the same events."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from profile360.cli import tenants
from profile360.topics import ensure_topics

from . import oracle_people, workload
from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client
from .test_profiles import PEOPLE, TENANT, configured, identify, link, publish_records
from .test_segments import segment

pytestmark = pytest.mark.integration
BASE = "/en/api/customer360"


def first_events(records, history) -> dict[str, datetime]:
    """Profile id -> its first event (identity sightings; the first day of its interactions)."""
    nodes = oracle_people.expected_nodes(records).values()  # one tenant
    profiles = {f"{n['id_type']}:{n['id_value']}": n["profile_id"] for n in nodes}
    firsts: dict[str, datetime] = {}
    for n in nodes:
        firsts[n["profile_id"]] = min(firsts.get(n["profile_id"], n["occurred_at"]), n["occurred_at"])
    for e in history:
        p = profiles.get(f"customer_id:{e['customerId']}", e["customerId"])
        day = datetime.combine(e["occurredAt"].astimezone(timezone.utc).date(), time(), timezone.utc)
        firsts[p] = min(firsts.get(p, day), day)
    return firsts


async def test_overview_profile_and_events_of_the_customer360_module(settings):
    history = [{**e, "customerId": f"C{1 + i % 3}"} for i, e in enumerate(workload.interactions(TENANT, 40))]
    await ensure_topics(settings)
    await publish_records(settings, PEOPLE + [segment("annies", 0, 'trait.firstName = "Annie"')])
    await publish_records(settings, [("InteractionEvent", r) for r in history])
    headers = {"X-Tenant-Id": TENANT}
    client = await api_client(settings)
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
            resp = await client.get(BASE, headers=headers)
            assert resp.status == 403 and (await resp.json())["error"]["code"] == "module_disabled"
            assert await tenants.set_(settings, TENANT, "on", None, None) == 0
        body = await (await client.get(BASE, headers=headers)).json()
        result = body["result"]
        assert (result["status"], result["message"]) == (200, "Customer 360 overview fetched")
        firsts = first_events(PEOPLE, history)
        month = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        assert result["data"] == {
            "totalContacts": len(firsts), "activeContacts": 2,  # C1 (with C2) and C3 interacted
            "newContactsThisMonth": sum(1 for t in firsts.values() if t >= month),
            "topSegments": [{"id": "annies", "name": "Annies", "contactCount": 1}],
            "channelReach": {"email": 1, "sms": 0, "push": 0}}
        prof = await (await client.get(f"{BASE}/customers/C2", headers=headers)).json()
        assert prof["result"]["data"]["id"] == "C1" and prof["result"]["data"]["isSubscribed"] is True
        events, cursor = [], None
        while True:
            page = await (await client.get(f"{BASE}/customers/C1/events", headers=headers,
                                            params={"limit": "7", **({"cursor": cursor} if cursor else {})})).json()
            events += page["result"]["data"]["events"]
            if not page["result"]["data"]["hasMore"]:
                break
            cursor = page["result"]["data"]["nextCursor"]
        mine = sorted((e for e in history if e["customerId"] in ("C1", "C2")),
                      key=lambda e: (e["occurredAt"], e["eventId"]), reverse=True)
        assert [e["id"] for e in events] == [e["eventId"] for e in mine]
        assert set(events[0]) == {"id", "customerId", "type", "channel", "campaignId", "workflowId", "metadata", "occurredAt"}
        bad = await client.get("/english!/api/customer360", headers=headers)
        assert bad.status == 400 and (await bad.json())["error"]["field"] == "locale"
        other = await client.get(BASE, headers={"X-Tenant-Id": "other"})
        assert other.status == 403
    finally:
        await client.close()


# an Identify made only of an invalid email, one only of a too-short phone (both dead-lettered),
# and an Unlink of two identifiers never seen
PHANTOMS = [identify("ph1", 50, ("email", "not-an-email")), identify("ph2", 51, ("phone", "12345")),
            link("Unlink", "ph3", 52, ("customer_id", "Z1"), ("email", "z1@example.com"))]


async def test_invalid_identifiers_and_unlinked_strangers_are_no_contacts(settings):
    await ensure_topics(settings)
    await publish_records(settings, PEOPLE + PHANTOMS + [configured("on", 0, 0.8, customer360=True)])
    async with InProcessWorker(settings) as worker:
        await wait_caught_up(settings, timeout=60)
    client = await api_client(settings)
    try:
        result = (await (await client.get(BASE, headers={"X-Tenant-Id": TENANT})).json())["result"]["data"]
        assert result["totalContacts"] == len(first_events(PEOPLE + PHANTOMS, [])) == 2  # C1 (C2, ann@x.com), C3
        for ident in ("Z1", "email:z1@example.com", "email:not-an-email", "phone:12345"):
            resp = await client.get(f"/api/v1/customers/{ident}", headers={"X-Tenant-Id": TENANT})
            assert resp.status == 404, ident
    finally:
        await client.close()
    assert worker.stats.dead == 4  # C4's and C5's Identify (broken@nowhere), ph1, ph2
