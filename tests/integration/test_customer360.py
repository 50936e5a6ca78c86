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
from .test_profiles import PEOPLE, TENANT, publish_records
from .test_segments import segment

pytestmark = pytest.mark.integration
BASE = "/en/api/customer360"


def first_events(records, history) -> dict[str, datetime]:
    """Profile id -> its first event (identity sightings; the first day of its interactions)."""
    profiles = oracle_people.profiles(records)
    firsts: dict[str, datetime] = {}
    for name, r in records:
        if name in ("Identify", "Link", "Unlink", "ConsentChanged"):
            idents = r["identifiers"] if name == "Identify" else [r["identifier"]] + (
                [r["linkedIdentifier"]] if "linkedIdentifier" in r else [])
            for i in idents:
                p = profiles[oracle_people.key(i)[0]]
                firsts[p] = min(firsts.get(p, r["occurredAt"]), r["occurredAt"])
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
