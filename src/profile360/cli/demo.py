"""``profile360 demo``: a small, fixed data set for trying the API: catalog, interactions, two
identities of Jane Doe (CUST007 and CUST012, one email), her consent, an experiment, a journey,
a tenant metric, a segment, and the tenant's settings (Customer 360 module on).

Event ids are fixed, so publishing it twice changes nothing in the projections.
"""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

from profile360.bootstrap import load_codec
from profile360.cli.produce import send_records
from profile360.settings import Settings
from profile360.topics import ensure_topics
from profile360.worker.progress import wait_caught_up

OFFERS = [("offer_001", "Platinum Card", "Credit Cards", "Premium", 90), ("offer_002", "Travel Miles", "Credit Cards", "Travel", 70),
          ("offer_003", "Home Loan Rate Cut", "Mortgages", "Lending", 60), ("offer_004", "Savings Booster", "Deposits", "Core", 40)]
CHANNELS = [("ch_001", "Marketing Email", "EMAIL"), ("ch_002", "SMS Alerts", "SMS"), ("ch_003", "Mobile Push", "PUSH"),
            ("ch_004", "Website Banner", "WEB")]
TYPES = ["impression"] * 14 + ["click"] * 3 + ["dismiss"] * 2 + ["convert", "email_opened", "link_clicked", "purchase"]


def catalog(tenant: str, at: datetime) -> list[tuple[str, dict]]:
    base = {"tenantId": tenant, "occurredAt": at}
    out = [("Channel", {**base, "eventId": f"demo-{cid}", "channelId": cid, "name": name, "medium": medium})
           for cid, name, medium in CHANNELS]
    for i, (oid, name, issue, group, priority) in enumerate(OFFERS):
        out.append(("Offer", {**base, "eventId": f"demo-{oid}", "offerId": oid, "name": name, "issue": issue,
                              "group": group, "status": "active", "priority": priority}))
        for j, (cid, cname, _) in enumerate(CHANNELS[:2]):
            crid = f"creative_{i + 1:03d}_{j + 1}"
            out.append(("Creative", {**base, "eventId": f"demo-{crid}", "creativeId": crid, "offerId": oid,
                                     "channelId": cid, "name": f"{name} — {cname}"}))
    return out


def interactions(tenant: str, now: datetime, count: int = 400) -> list[tuple[str, dict]]:
    rnd = random.Random(360)
    out = []
    for n in range(count):
        i, j = rnd.randrange(len(OFFERS)), rnd.randrange(2)
        kind = rnd.choice(TYPES)
        out.append(("InteractionEvent", {
            "eventId": f"demo-ih-{n:04d}", "tenantId": tenant, "customerId": f"CUST{rnd.randrange(1, 26):03d}",
            "occurredAt": now - timedelta(minutes=rnd.randrange(20 * 24 * 60)), "type": kind,
            "channel": CHANNELS[j][2], "channelId": CHANNELS[j][0], "offerId": OFFERS[i][0],
            "creativeId": f"creative_{i + 1:03d}_{j + 1}", "campaignId": f"cmp_{i + 1:03d}",
            "value": round(rnd.uniform(20, 500), 2) if kind in ("convert", "purchase") else None, "metadata": {}}))
    return out


def _who(kind: str, value: str) -> dict:
    return {"type": kind, "value": value}


def people(tenant: str, now: datetime) -> dict[str, list[tuple[str, dict]]]:
    """Records per topic family."""
    def base(n: int, days_ago: int) -> dict:
        return {"eventId": f"demo-p{n}", "tenantId": tenant, "occurredAt": now - timedelta(days=days_ago)}

    jane = _who("customer_id", "CUST007")
    return {
        "identity": [
            ("Identify", {**base(1, 400), "identifiers": [jane, _who("email", "Jane.Doe@Example.com"),
                                                          _who("phone", "050 123 4567")],
                          "traits": {"firstName": "Jane", "lastName": "Doe", "country": "AE", "city": "Dubai",
                                     "language": "en", "timezone": "Asia/Dubai", "loyalty_tier": "gold"},
                          "tagsAdded": ["vip"], "tagsRemoved": [], "defaultRegion": "AE"}),
            ("Identify", {**base(2, 20), "identifiers": [_who("customer_id", "CUST012"), _who("email", "jane.doe@example.com")],
                          "traits": {"city": "Abu Dhabi"}, "tagsAdded": ["high-ltv"], "tagsRemoved": [],
                          "defaultRegion": None}),
        ],
        "consent": [("ConsentChanged", {**base(3, 300), "identifier": jane, "channel": "email", "purpose": "marketing",
                                        "granted": True, "source": "signup-form"})],
        "experiments": [("ExperimentAssigned", {**base(4, 10), "identifier": jane, "experimentId": "exp_hero_banner",
                                                "experimentName": "Hero banner", "variant": "B"})],
        "journeys": [("JourneyUpdated", {**base(5, 15), "identifier": jane, "journeyId": "onboarding",
                                         "journeyName": "Onboarding", "status": "active", "step": "welcome-email"})],
        "definitions": [
            ("TenantConfigured", {**base(8, 400), "isCustomer360": True, "linkThreshold": 0.8, "defaultRegion": "AE"}),
            ("MetricDefined", {**base(6, 60), "metricId": "spend_90d", "aggregation": "sum", "eventType": "purchase",
                               "windowDays": 90, "description": "purchase value, last 90 days", "deleted": False}),
            ("SegmentDefined", {**base(7, 60), "segmentId": "high_value", "name": "High Value Customers",
                                "rule": 'trait.loyalty_tier = "gold" or sum(purchase, 90) >= 300', "description": None,
                                "version": 1, "deleted": False}),
        ],
    }


async def publish_demo(settings: Settings, tenant: str, wait: float = 60) -> int:
    """Publish the demo set for ``tenant`` and wait (bounded) until the worker applied it."""
    codec, now = load_codec(), datetime.now(timezone.utc).replace(microsecond=0)
    await ensure_topics(settings)
    sent = await send_records(settings, codec, settings.topic("catalog"), catalog(tenant, now - timedelta(days=30)))
    sent += await send_records(settings, codec, settings.topic("interactions"), interactions(tenant, now))
    for family, records in people(tenant, now).items():
        sent += await send_records(settings, codec, settings.topic(family), records)
    print(f"published {sent} demo events for tenant {tenant!r}; waiting for the worker ...", file=sys.stderr)
    try:
        await wait_caught_up(settings, timeout=wait)
    except TimeoutError as exc:
        print(f"profile360 demo: {exc} (is `profile360 worker` running?)", file=sys.stderr)
        return 1
    print("demo data applied", file=sys.stderr)
    return 0
