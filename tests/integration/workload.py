"""Deterministic synthetic events (as Avro-ready dicts) for integration tests."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

TYPES = ["impression"] * 12 + ["click"] * 3 + ["dismiss"] * 2 + ["convert", "email_opened", "purchase"]


def catalog(tenant: str, at: datetime) -> list[tuple[str, dict]]:
    base = {"tenantId": tenant, "occurredAt": at}
    out: list[tuple[str, dict]] = []
    for i in range(3):
        out.append(("Channel", {**base, "eventId": f"ch-{i}", "channelId": f"ch_{i}", "name": f"Channel {i}",
                                "medium": ["EMAIL", "SMS", "PUSH"][i]}))
    for i in range(5):
        out.append(("Offer", {**base, "eventId": f"of-{i}", "offerId": f"offer_{i}", "name": f"Offer {i}",
                              "issue": "Cards", "group": "Premium", "status": "active", "priority": 10 * i}))
        # an older version of the offer, published later: the newer one must stay
        out.append(("Offer", {**base, "occurredAt": at - timedelta(days=1), "eventId": f"of-{i}-old",
                              "offerId": f"offer_{i}", "name": f"Old offer {i}", "status": "retired"}))
        out.append(("Creative", {**base, "eventId": f"cr-{i}", "creativeId": f"creative_{i}", "name": f"Creative {i}",
                                 "offerId": f"offer_{i}", "channelId": f"ch_{i % 3}"}))
    return out


def interactions(tenant: str, n: int, seed: int = 7, customers: int = 20, prefix: str = "ev") -> list[dict]:
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    out = []
    for i in range(n):
        offer = rnd.randrange(5)
        out.append({
            "eventId": f"{prefix}-{i}", "tenantId": tenant, "customerId": f"cust_{rnd.randrange(customers)}",
            "occurredAt": now - timedelta(minutes=rnd.randrange(5 * 24 * 60)), "type": rnd.choice(TYPES),
            "channel": rnd.choice(["EMAIL", "SMS", "PUSH", "WEB"]), "channelId": f"ch_{offer % 3}",
            "offerId": f"offer_{offer}", "creativeId": f"creative_{offer}", "campaignId": "cmp_1",
            "workflowId": None, "value": 10.0 if rnd.random() < 0.1 else None, "metadata": {"i": str(i)},
        })
    return out
