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


def people(tenant: str, n: int = 40, seed: int = 11, prefix: str = "p") -> list[tuple[str, dict]]:
    """(record name, record) pairs of everything but interactions: tenant settings, metric and
    segment definitions, and identity, consent, experiment and journey events about the customers
    ``interactions`` names (``cust_0`` … ``cust_{n-1}``, a few beyond them linked in). They merge
    profiles (shared emails, links that merge only at the tenant's threshold), split one again,
    write phones nationally under the event's own region, carry invalid identifiers (their events
    are dead-lettered), unlink identifiers never linked (no one), and define segments that read
    traits, tags, consent and counts.
    Shuffled: older versions arrive after newer ones, and about one event in ten comes twice."""
    rnd = random.Random(seed)
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3)

    def env(eid: str, minutes: int) -> dict:
        return {"eventId": f"{prefix}-{eid}", "tenantId": tenant, "occurredAt": t0 + timedelta(minutes=minutes)}

    def ident(kind: str, value: str) -> dict:
        return {"type": kind, "value": value}

    def segment(sid: str, minutes: int, rule: str, version: int = 1, deleted: bool = False) -> tuple[str, dict]:
        return "SegmentDefined", {**env(f"seg-{sid}-{minutes}", minutes), "segmentId": sid, "name": sid.title(),
                                  "rule": rule, "description": None, "version": version, "deleted": deleted}

    def link(eid: str, minutes: int, a: dict, b: dict, confidence: float | None = None) -> tuple[str, dict]:
        rec = {**env(eid, minutes), "identifier": a, "linkedIdentifier": b}
        return ("Unlink", rec) if confidence is None else ("Link", {**rec, "confidence": confidence})

    def customer(i: int) -> dict:
        return ident("customer_id", f"cust_{i}")

    out: list[tuple[str, dict]] = [
        # the newer settings win (links of 0.7 merge), over older ones published after them
        ("TenantConfigured", {**env("cfg-new", 30), "isCustomer360": True, "linkThreshold": 0.7, "defaultRegion": "AE"}),
        ("TenantConfigured", {**env("cfg-old", 20), "isCustomer360": False, "linkThreshold": 0.9, "defaultRegion": None}),
        ("MetricDefined", {**env("m-spend", 0), "metricId": "spend_total", "aggregation": "sum", "eventType": "purchase",
                           "windowDays": None, "description": "every purchase", "deleted": False}),
        ("MetricDefined", {**env("m-opens-1", 0), "metricId": "opens_30d", "aggregation": "count",
                           "eventType": "email_opened", "windowDays": 30, "description": None, "deleted": False}),
        ("MetricDefined", {**env("m-opens-2", 40), "metricId": "opens_30d", "aggregation": "count",
                           "eventType": "email_opened", "windowDays": 30, "description": None, "deleted": True}),
        segment("gold", 0, 'trait.tier = "gold"'),
        segment("reachable", 0, "consent.email.marketing = true"),
        segment("buyers", 60, "count(purchase) >= 2", version=2),
        segment("buyers", 10, "count(purchase) >= 1"),  # older: loses
        segment("vip", 0, 'tags contains "vip" and trait.tier != "bronze"'),
        segment("texting_clickers", 0, "consent.sms.marketing = true and count(click) >= 3"),
        segment("doomed", 0, "count(impression) >= 1"),
        segment("doomed", 90, "count(impression) >= 1", version=2, deleted=True),
    ]
    for i in range(n):
        pair = i // 2  # every other pair of customers shares an email: they merge
        email = f"user{pair}@mail{pair % 3}.com" if pair % 2 == 0 else f"solo{i}@mail{i % 3}.com"
        ids = [customer(i), ident("email", email.upper() if i % 3 == 0 else f" {email} ")]
        if i % 4 == 0:  # every other one written nationally, read with the event's region
            ids.append(ident("phone", f"+971 50 {i:03d} {i:04d}" if i % 8 else f"050 {i:03d} {i:04d}"))
        if i % 10 == 3:
            ids.append(ident("email", "nobody@nowhere"))  # invalid: shared, but never merges
        out.append(("Identify", {**env(f"id-{i}", 100 + i), "identifiers": ids,
                                 "traits": {"tier": rnd.choice(["gold", "silver", "bronze"]), "firstName": f"Name{i}"},
                                 "tagsAdded": ["vip"] if i % 3 == 0 else [], "tagsRemoved": [],
                                 "defaultRegion": "AE" if i % 8 == 0 else None}))
        if i % 5 == 0:  # later, about the email alone: a new tier, the vip tag taken back
            out.append(("Identify", {**env(f"id-{i}-again", 1000 + i), "identifiers": [ident("email", email)],
                                     "traits": {"tier": rnd.choice(["gold", "silver"]), "age": 20 + i},
                                     "tagsAdded": ["seen"], "tagsRemoved": ["vip"], "defaultRegion": None}))
        out.append(("ConsentChanged", {**env(f"ce-{i}", 200 + i), "identifier": ident("email", email), "channel": "EMAIL",
                                       "purpose": "marketing", "granted": rnd.random() < 0.6, "source": "signup"}))
        if i % 3 == 1:
            out.append(("ConsentChanged", {**env(f"cs-{i}", 210 + i), "identifier": customer(i), "channel": "sms",
                                           "purpose": "marketing", "granted": True, "source": None}))
            if i % 2:
                out.append(("ConsentChanged", {**env(f"cs-{i}-off", 300 + i), "identifier": customer(i), "channel": "SMS",
                                               "purpose": "Marketing", "granted": False, "source": "unsubscribe"}))
        if i % 5 == 0:
            for step, (variant, who) in enumerate((("A", customer(i)), ("B", customer(i)), ("A", ident("email", email)))):
                out.append(("ExperimentAssigned", {**env(f"x-{i}-{step}", 400 + 5 * step + i), "identifier": who,
                                                   "experimentId": "exp_hero", "experimentName": "Hero", "variant": variant}))
        if i % 6 == 0:
            for step, (status, at_step) in enumerate((("enrolled", None), ("active", "welcome"), ("completed", "done"))):
                out.append(("JourneyUpdated", {**env(f"j-{i}-{step}", 500 + 5 * step + i), "identifier": customer(i),
                                               "journeyId": "onboarding", "journeyName": "Onboarding", "status": status,
                                               "step": at_step}))
    for i in range(0, n - 3, 7):  # 0.75: merges at the tenant's 0.7, not at the default 0.8
        out.append(link(f"l-{i}", 600 + i, customer(i), customer(i + 3), 0.75))
    for i in range(1, n, 9):  # too weak to merge
        out.append(link(f"w-{i}", 610 + i, customer(i), ident("device_id", f"dev_{i}"), 0.5))
    for i in range(3):  # customers seen only in interactions join identified ones
        out.append(link(f"x-{i}", 700 + i, customer(n + 2 * i), customer(i), 0.95))
    out += [
        link("u-0", 800, customer(0), ident("email", "user0@mail0.com")),  # cust_0 leaves cust_1
        link("u-7", 590, customer(7), customer(10)),  # older than the link: the link stays
        link("u-14", 800, customer(14), customer(17)),
        link("l-14-again", 850, customer(14), customer(17), 1.0),  # linked again after the unlink
        ("ConsentChanged", {**env("stranger", 900), "identifier": ident("email", "Stranger@Mail9.com"), "channel": "push",
                            "purpose": "marketing", "granted": True, "source": None}),
        # only an invalid identifier: its facts stay under it; a tag both added and removed ends removed
        ("Identify", {**env("lost", 910), "identifiers": [ident("email", " Lost@Nowhere ")], "traits": {"vip": True, "note": None},
                      "tagsAdded": ["x"], "tagsRemoved": ["x"], "defaultRegion": None}),
        link("self", 920, ident("email", "Same@Mail1.com"), ident("email", " same@mail1.com"), 1.0),  # one identifier
        link("never", 930, customer(9000), ident("email", "ghost@mail9.com")),  # never linked: no one
        # a national phone without the event's region (the tenant's does not count): dead-lettered
        link("unread", 940, ident("phone", "050 008 0008"), customer(8)),
        ("Link", {**env("unread-ae", 941), "identifier": ident("phone", "050 008 0008"), "linkedIdentifier": customer(9),
                  "confidence": 0.5, "defaultRegion": "AE"}),  # with it: the number cust_8 has
    ]
    out += organizations(tenant, t0, rnd, prefix)
    out += rnd.sample(out, len(out) // 10)
    rnd.shuffle(out)
    return out


def organizations(tenant: str, t0: datetime, rnd: random.Random, prefix: str = "p") -> list[tuple[str, dict]]:
    """Seed 003's events: organization customers (each edited, one edit older than the version
    it follows), feedback (one edited to an earlier date), highlights, and insights and issues
    whose customer lists change."""
    def env(eid: str, minutes: int) -> dict:
        return {"eventId": f"{prefix}-{eid}", "tenantId": tenant, "occurredAt": t0 + timedelta(minutes=minutes)}

    out: list[tuple[str, dict]] = []
    for i in range(12):
        base = {"customerUuid": f"oc-{i}", "role": None, "personaUuid": f"persona-{i % 3}", "companyUuid": f"comp-{i % 4}"}
        out.append(("OrgCustomerUpserted", {**env(f"oc-{i}-a", 10 + i), **base, "fullName": f"Person {i}",
                                            "email": f"Person.{i}@Example.COM"}))
        out.append(("OrgCustomerUpserted", {**env(f"oc-{i}-b", 50 + i), **base, "fullName": f"Person {i} Renamed",
                                            "email": f"p{i}@example.com", "role": "Buyer"}))
        out.append(("OrgCustomerUpserted", {**env(f"oc-{i}-c", 30 + i), **base, "fullName": "stale", "email": None}))
    for j in range(30):
        cust = f"oc-{j % 14}"  # oc-12 and oc-13 have feedback but no customer record
        fb = {"feedbackUuid": f"fb-{j}", "customerUuid": cust, "contents": f"feedback {j}",
              "feedbackDate": t0 + timedelta(hours=j), "sentiment": round(rnd.uniform(-1, 1), 3), "source": "survey"}
        out.append(("FeedbackRecorded", {**env(f"fb-{j}-a", 100 + j), **fb}))
        if j % 5 == 0:
            out.append(("FeedbackRecorded", {**env(f"fb-{j}-b", 200 + j), **fb, "contents": f"feedback {j} (edited)",
                                             "feedbackDate": t0 - timedelta(days=1)}))
        out.append(("FeedbackHighlighted", {**env(f"hl-{j}", 300 + j), "highlightUuid": f"hl-{j}", "customerUuid": cust,
                                            "feedbackUuid": f"fb-{j}", "quote": f"quote {j}", "sentimentScore": 0.5}))
    for k in range(4):
        for kind, key in (("InsightRecorded", "insightUuid"), ("IssueRecorded", "issueUuid")):
            extra = {"averageSentiment": -0.5} if kind == "IssueRecorded" else {"description": f"about {k}"}
            out.append((kind, {**env(f"{kind}-{k}-a", 400 + k), key: f"{kind[:3].lower()}-{k}", "title": f"{kind} {k}",
                               "customerUuids": [f"oc-{k}", f"oc-{k + 1}"], **extra}))
            out.append((kind, {**env(f"{kind}-{k}-b", 450 + k), key: f"{kind[:3].lower()}-{k}", "title": f"{kind} {k} v2",
                               "customerUuids": [f"oc-{k + 2}"], **extra}))
    return out
