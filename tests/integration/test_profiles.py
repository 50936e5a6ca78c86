"""Identity, consent and interaction events through the real broker and worker; the unified
profile API answers what an independent fold of the same events says, across a merge and an
unmerge."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from profile360.cli.produce import send_records
from profile360.topics import ensure_topics
from profile360.worker.dead_letters import origin_of

from . import oracle, oracle_people, workload
from .harness import InProcessWorker, wait_caught_up
from .overview_check import check_overview, windows
from .test_dead_letters import read_topic
from .test_pipeline import CODEC, all_history, api_client

pytestmark = pytest.mark.integration
T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
TENANT = "acme"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ident(kind: str, value: str) -> dict:
    return {"type": kind, "value": value}


def identify(eid: str, minutes: int, *ids: tuple[str, str], **traits) -> tuple[str, dict]:
    return "Identify", {"eventId": eid, "tenantId": TENANT, "occurredAt": at(minutes),
                        "identifiers": [ident(*i) for i in ids], "traits": traits, "tagsAdded": [], "tagsRemoved": [],
                        "defaultRegion": None}


def link(name: str, eid: str, minutes: int, a: tuple[str, str], b: tuple[str, str], confidence: float = 1.0):
    rec = {"eventId": eid, "tenantId": TENANT, "occurredAt": at(minutes), "identifier": ident(*a),
           "linkedIdentifier": ident(*b)}
    return name, {**rec, "confidence": confidence} if name == "Link" else rec


def consent(eid: str, minutes: int, who: tuple[str, str], channel: str, granted: bool):
    return "ConsentChanged", {"eventId": eid, "tenantId": TENANT, "occurredAt": at(minutes), "identifier": ident(*who),
                              "channel": channel, "purpose": "marketing", "granted": granted, "source": "test"}


PEOPLE = [
    identify("i1", 1, ("customer_id", "C1"), ("email", "Ann@X.com"), firstName="Ann", tier="gold"),
    identify("i2", 2, ("customer_id", "C2"), ("email", " ann@x.com "), firstName="Annie"),
    identify("i3", 3, ("customer_id", "C3"), ("phone", "+971501234567"), city="Dubai"),
    link("Link", "l1", 4, ("customer_id", "C3"), ("email", "ann@x.com"), 0.5),
    identify("i4", 5, ("customer_id", "C4"), ("email", "broken@nowhere")),
    identify("i5", 6, ("customer_id", "C5"), ("email", "broken@nowhere")),
    consent("k1", 7, ("email", "ANN@x.com"), "EMAIL", True),
    consent("k2", 8, ("customer_id", "C2"), "sms", True),
    consent("k3", 9, ("customer_id", "C2"), "sms", False),
]
def experiment(eid: str, minutes: int, who: tuple[str, str], exp: str, variant: str):
    return "ExperimentAssigned", {"eventId": eid, "tenantId": TENANT, "occurredAt": at(minutes), "identifier": ident(*who),
                                  "experimentId": exp, "experimentName": None, "variant": variant}


def journey(eid: str, minutes: int, who: tuple[str, str], jid: str, status: str, step: str | None = None):
    return "JourneyUpdated", {"eventId": eid, "tenantId": TENANT, "occurredAt": at(minutes), "identifier": ident(*who),
                              "journeyId": jid, "journeyName": "Onboarding", "status": status, "step": step}


PROGRAMS = [
    experiment("x1", 10, ("customer_id", "C1"), "exp_hero", "A"),
    experiment("x2", 11, ("email", "ann@x.com"), "exp_hero", "B"),
    experiment("x3", 12, ("customer_id", "C2"), "exp_price", "control"),
    journey("j1", 10, ("customer_id", "C2"), "onb", "enrolled"),
    journey("j2", 11, ("customer_id", "C2"), "onb", "active", "welcome-email"),
    journey("j3", 13, ("customer_id", "C1"), "onb", "completed", "done"),
]
SPEND = ("MetricDefined", {"eventId": "m1", "tenantId": TENANT, "occurredAt": at(0), "metricId": "spend_7d",
                           "aggregation": "sum", "eventType": "purchase", "windowDays": 7, "description": None,
                           "deleted": False})
UNLINK = link("Unlink", "u1", 20, ("customer_id", "C2"), ("email", "ann@x.com"))


TOPIC_OF = {"Identify": "identity", "Link": "identity", "Unlink": "identity", "ConsentChanged": "consent",
            "ExperimentAssigned": "experiments", "JourneyUpdated": "journeys", "MetricDefined": "definitions",
            "SegmentDefined": "definitions", "TenantConfigured": "definitions", "InteractionEvent": "interactions",
            "OrgCustomerUpserted": "customers", "FeedbackRecorded": "feedback", "FeedbackHighlighted": "feedback",
            "InsightRecorded": "feedback", "IssueRecorded": "feedback", "ErasureRequested": "erasure"}


async def publish_records(settings, records):
    """Send (record name, record) pairs, each to its family's topic."""
    for family in sorted(set(TOPIC_OF.values())):
        await send_records(settings, CODEC, settings.topic(family), [r for r in records if TOPIC_OF[r[0]] == family])


async def profile(client, ident, **query):
    resp = await client.get(f"/api/v1/customers/{ident}/unified-profile", params=query, headers={"X-Tenant-Id": TENANT})
    return resp.status, await resp.json()


def section(body, name):
    return next(s["data"] for s in body["sections"] if s["name"] == name)


async def check_membership(settings, records, threshold=oracle_people.THRESHOLD):
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT key, profile_id FROM identity_nodes WHERE tenant_id = $1", TENANT)
    finally:
        await conn.close()
    assert {r["key"]: r["profile_id"] for r in rows} == oracle_people.profiles(records, threshold)


def configured(eid: str, minutes: int, threshold: float, customer360: bool = False, region: str | None = None):
    return "TenantConfigured", {"eventId": eid, "tenantId": TENANT, "occurredAt": at(minutes),
                                "isCustomer360": customer360, "linkThreshold": threshold, "defaultRegion": region}


async def test_profiles_merge_and_unmerge_end_to_end(settings):
    history = [{**e, "tenantId": TENANT, "customerId": f"C{1 + i % 3}", "type": "purchase" if i % 4 == 0 else e["type"],
                "value": 1.25 * i if i % 4 == 0 else e["value"]} for i, e in enumerate(workload.interactions(TENANT, 60))]
    shuffled = PEOPLE + PROGRAMS + [SPEND]
    random.Random(3).shuffle(shuffled)  # merges arrive before and after what they join
    await ensure_topics(settings)
    await publish_records(settings, shuffled[:4])
    await publish_records(settings, [("InteractionEvent", r) for r in history])
    await publish_records(settings, shuffled[4:] + shuffled[:2])  # and some twice
    client = await api_client(settings)
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
            await check_membership(settings, PEOPLE)
            await check_merged(client, history)
            await check_overview(settings, TENANT, windows())
            await publish_records(settings, [UNLINK])
            await wait_caught_up(settings, timeout=60)
            await check_membership(settings, PEOPLE + [UNLINK])
            await check_split(client, history)
            await check_overview(settings, TENANT, windows())
    finally:
        await client.close()


async def check_merged(client, history):
    status, body = await profile(client, "C2")
    assert status == 200 and body["customerId"] == "C1" and body["tenantId"] == TENANT
    ids = {(i["type"], i["value"]): i for i in section(body, "identities")}
    assert {k for k, i in ids.items() if i["merged"]} == {("customer_id", "C1"), ("customer_id", "C2"),
                                                         ("email", "ann@x.com")}
    assert ids[("customer_id", "C3")] == {"type": "customer_id", "value": "C3", "confidence": 0.5, "merged": False}
    attrs = section(body, "attributes")
    members = {"customer_id:C1", "customer_id:C2", "email:ann@x.com"}
    assert attrs["firstName"] == oracle_people.latest_trait(PEOPLE, members, "firstName") == "Annie"
    assert attrs["attributes"] == {"tier": "gold"} and attrs["email"] == "ann@x.com"
    assert (attrs["isSubscribed"], attrs["isSmsSubscribed"]) == (
        oracle_people.latest_consent(PEOPLE, members, "email", "marketing"),
        oracle_people.latest_consent(PEOPLE, members, "sms", "marketing")) == (True, False)
    mine = [e for e in oracle.expected_history(history).values() if e["customerId"] in ("C1", "C2")]
    newest = sorted(mine, key=lambda e: (e["occurredAt"], e["eventId"]), reverse=True)[:20]
    assert [i["id"] for i in section(body, "interactions")] == [e["eventId"] for e in newest]
    values = [e["value"] for e in mine if e["type"] in ("purchase", "convert") and e["value"] is not None]
    assert attrs["lifetimeValue"] == (round(sum(values), 2) if values else None)
    m = section(body, "metrics")
    assert m["interaction_total"] == len(mine) and m["lifetime_value"] == attrs["lifetimeValue"]
    week = datetime.now(timezone.utc).date() - timedelta(days=6)
    spend = [e["value"] for e in mine if e["type"] == "purchase" and e["value"] is not None and e["occurredAt"].date() >= week]
    assert spend and m["spend_7d"] == sum(spend)
    assert attrs["lastActiveAt"] == max(e["occurredAt"] for e in mine).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [(x["experimentId"], x["variant"]) for x in section(body, "experiments")] == [
        ("exp_hero", "B"), ("exp_price", "control")]
    (onb,) = section(body, "journeys")
    assert (onb["status"], onb["step"], onb["enrolledAt"], onb["completedAt"]) == (
        "completed", "done", at(10).strftime("%Y-%m-%dT%H:%M:%S.000Z"), at(13).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    await check_customer_summary(client, history, {"C1": ("C1", "C2"), "C3": ("C3",)})
    items, total = await all_history(client, TENANT, customerId="C2")  # the history follows the merge
    assert sorted(i["id"] for i in items) == sorted(e["eventId"] for e in mine) and total == len(mine)
    for alias in ("C1", "email:ANN@x.com", "email:ann@x.com"):
        assert (await profile(client, alias, sections="identities"))[1]["customerId"] == "C1"


async def check_customer_summary(client, history, profiles: dict[str, tuple[str, ...]]):
    """groupBy=customer lists profiles (a merged one once, under its id), paged one at a time."""
    rows, cursor = [], None
    while True:
        query = {"groupBy": "customer", "limit": "1", **({"cursor": cursor} if cursor else {})}
        body = await (await client.get("/api/v1/interaction-summary", params=query,
                                       headers={"X-Tenant-Id": TENANT})).json()
        rows += body["summary"]
        if not body["nextCursor"]:
            break
        cursor = body["nextCursor"]
    per_customer = oracle.expected_summary(history, TENANT, "customer", 30)
    want = {}
    for pid, customers in profiles.items():
        mine = [per_customer[c] for c in customers if c in per_customer]
        if mine:
            want[pid] = {t: sum(m[t] for m in mine) for t in ("impression", "click", "dismiss", "convert", "total")}
    got = {r["customerId"]: {t: r[t] for t in ("impression", "click", "dismiss", "convert", "total")} for r in rows}
    assert got == want and len(rows) == len(want)
    offers = {pid: len({e["offerId"] for e in history if e["customerId"] in customers and e.get("offerId")
                        and e["type"] in oracle.OFFER_TYPES}) for pid, customers in profiles.items()}
    assert {r["customerId"]: r["uniqueActions"] for r in rows} == {p: offers[p] for p in want}


async def check_split(client, history):
    status, body = await profile(client, "C2", sections="attributes,interactions,experiments,journeys")
    assert status == 200 and body["customerId"] == "C2"
    assert [s["name"] for s in body["sections"]] == ["attributes", "interactions", "experiments", "journeys"]
    assert [(x["experimentId"], x["variant"]) for x in section(body, "experiments")] == [("exp_price", "control")]
    assert [(j["status"], j["step"], j["exitedAt"]) for j in section(body, "journeys")] == [("active", "welcome-email", None)]
    attrs = section(body, "attributes")
    assert attrs["firstName"] == "Annie" and attrs["attributes"] == {} and attrs["isSubscribed"] is False
    assert {i["customerId"] for i in section(body, "interactions")} == {"C2"}
    await check_customer_summary(client, history, {"C1": ("C1",), "C2": ("C2",), "C3": ("C3",)})
    items, total = await all_history(client, TENANT, customerId="C2")
    assert {i["customerId"] for i in items} == {"C2"} and total == sum(1 for e in history if e["customerId"] == "C2")
    status, c1 = await profile(client, "C1", sections="attributes")
    assert section(c1, "attributes")["firstName"] == "Ann" and section(c1, "attributes")["isSubscribed"] is True


async def test_profile_lookup_errors_and_the_keyed_shape(settings):
    await ensure_topics(settings)
    await publish_records(settings, PEOPLE)
    client = await api_client(settings)
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
        status, body = await profile(client, "nobody")
        assert status == 404 and body["error"]["field"] == "id"
        status, body = await profile(client, "C1", sections="identities,bogus")
        assert status == 400 and body["error"]["field"] == "sections"
        assert "bogus" in body["error"]["message"] and "identities" in body["error"]["message"]
        status, body = await profile(client, "C1", shape="keyed", sections="attributes,interactions")
        assert status == 200 and set(body) == {"customerId", "attributes", "interactions"}
        assert body["interactions"] == {"totalCount": 0, "recentInteractions": []}
        # seed 001's attributes: one flat map of the traits (no profile object)
        assert body["attributes"] == {"email": "ann@x.com", "firstName": "Annie", "tier": "gold"}, body["attributes"]
        # an Identify naming an invalid email is dead-lettered whole: no C4, no broken@nowhere
        for ident in ("C4", "email:broken@nowhere"):
            assert (await profile(client, ident, sections="identities"))[0] == 404
        other = await client.get("/api/v1/customers/C1/unified-profile", headers={"X-Tenant-Id": "someone-else"})
        assert other.status == 404
    finally:
        await client.close()


async def test_the_tenant_link_threshold_regroups_its_profiles(settings):
    await ensure_topics(settings)
    await publish_records(settings, PEOPLE)
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=60)
        await check_membership(settings, PEOPLE)
        await publish_records(settings, [configured("t1", 30, 0.5)])  # C3's 0.5 link to the email now merges
        await wait_caught_up(settings, timeout=60)
        await check_membership(settings, PEOPLE, threshold=0.5)
        await check_overview(settings, TENANT)
        await publish_records(settings, [configured("t0", 29, 0.9)])  # older: loses to t1
        await publish_records(settings, [UNLINK])  # applied with the stored threshold
        await wait_caught_up(settings, timeout=60)
        await check_membership(settings, PEOPLE + [UNLINK], threshold=0.5)
        await publish_records(settings, [configured("t2", 40, 0.8, region="AE")])
        await wait_caught_up(settings, timeout=60)
        await check_membership(settings, PEOPLE + [UNLINK])
        # the event's own region reads a national phone number: C9 joins C3's +971 number
        await publish_records(settings, [("Identify", {**identify("i9", 41, ("customer_id", "C9"), ("phone", "050 123 4567"))[1],
                                                       "defaultRegion": "AE"})])
        await wait_caught_up(settings, timeout=60)
        await check_overview(settings, TENANT)
    client = await api_client(settings)
    try:  # a lookup reads a national number with the tenant's region
        for ident in ("C9", "phone:050-123-4567", "phone:+971501234567"):
            status, body = await profile(client, ident, sections="identities")
            assert status == 200 and body["customerId"] == "C3", (ident, body)
    finally:
        await client.close()


A1_A2 = [identify("a1", 1, ("customer_id", "A1"), ("phone", "+971501234567")),
         identify("a2", 2, ("customer_id", "A2"), ("phone", "+971 50 123 4567"))]


def unlink_a2(eid: str, minutes: int, region: str | None) -> tuple[str, dict]:
    name, rec = link("Unlink", eid, minutes, ("phone", "050 123 4567"), ("customer_id", "A2"))
    return name, {**rec, "defaultRegion": region}


async def test_an_unlink_whose_phone_cannot_be_read_is_dead_lettered_not_half_applied(settings):
    """Only the event's own region reads a national number, whatever the tenant's (set here
    before the unlink is applied, which must not matter: the tables depend on the events alone)."""
    unread, read = unlink_a2("u-a2", 3, None), unlink_a2("u-a2-ae", 4, "AE")
    await ensure_topics(settings)
    await publish_records(settings, [configured("t-ae", 0, 0.8, region="AE")])
    await publish_records(settings, A1_A2 + [unread])
    async with InProcessWorker(settings) as worker:
        await wait_caught_up(settings, timeout=60)
        assert worker.stats.dead == 1
        await check_membership(settings, A1_A2 + [unread])  # A1 and A2 still one; no node "phone:050 123 4567"
        (letter,) = await read_topic(settings, settings.topic("dlq"), 1)
        meta = origin_of(letter.headers)
        assert meta["p360.reason"] == "invalid_event" and meta["p360.origin.topic"] == settings.topic("identity")
        assert "Unlink.identifier.value" in meta["p360.detail"] and "defaultRegion" in meta["p360.detail"]
        await publish_records(settings, [read])
        await wait_caught_up(settings, timeout=60)
        await check_membership(settings, A1_A2 + [unread, read])
    client = await api_client(settings)
    try:
        assert (await profile(client, "A2", sections="identities"))[1]["customerId"] == "A2"
        assert (await profile(client, "phone:+971501234567", sections="identities"))[1]["customerId"] == "A1"
    finally:
        await client.close()
