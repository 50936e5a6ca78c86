"""Segments through the real broker and worker: membership and counts follow the rules, the
identity merges and unmerges, and definition changes; checked against plain predicates over
the same events (an independent reading, not the rule engine)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import asyncpg
import pytest

from profile360.topics import ensure_topics

from . import oracle_people, workload
from .harness import InProcessWorker, wait_caught_up, wait_until
from .test_pipeline import api_client
from .test_profiles import PEOPLE, TENANT, UNLINK, at, profile, publish_records

pytestmark = pytest.mark.integration


def segment(sid: str, minutes: int, rule: str, deleted: bool = False, version: int = 1):
    return "SegmentDefined", {"eventId": f"seg-{sid}-{minutes}", "tenantId": TENANT, "occurredAt": at(minutes),
                              "segmentId": sid, "name": sid.title(), "rule": rule, "description": None,
                              "version": version, "deleted": deleted}


SEGMENTS = [
    segment("annies", 0, 'trait.firstName = "Annie"'),
    segment("buyers", 0, "count(purchase) >= 3"),
    segment("reachable", 0, "consent.email.marketing = true"),
    segment("doomed", 0, "count(purchase) >= 0"),
]


def interactions():
    base = workload.interactions(TENANT, 30)
    return [{**e, "customerId": f"C{1 + i % 3}", "type": "purchase" if i % 3 != 2 or i < 12 else e["type"]}
            for i, e in enumerate(base)]


def expected(records, history) -> dict[str, set[str]]:
    profiles = oracle_people.profiles(records)
    members: dict[str, set[str]] = {}
    for key, pid in profiles.items():
        members.setdefault(pid, set()).add(key)
    for e in history:  # customers seen only in interactions are profiles of their own
        key = f"customer_id:{e['customerId']}"
        if key not in profiles:
            members.setdefault(e["customerId"], set()).add(key)

    def purchases(keys):
        return sum(1 for e in history if f"customer_id:{e['customerId']}" in keys and e["type"] == "purchase")

    return {
        "annies": {p for p, k in members.items() if oracle_people.latest_trait(records, k, "firstName") == "Annie"},
        "buyers": {p for p, k in members.items() if purchases(k) >= 3},
        "reachable": {p for p, k in members.items() if oracle_people.latest_consent(records, k, "email", "marketing")},
    }


async def stored(settings) -> tuple[dict[str, set[str]], dict[str, int]]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT segment_id, profile_id FROM segment_members WHERE tenant_id = $1", TENANT)
        counts = await conn.fetch("SELECT segment_id, members FROM segment_counts WHERE tenant_id = $1", TENANT)
    finally:
        await conn.close()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["segment_id"], set()).add(r["profile_id"])
    return out, {r["segment_id"]: r["members"] for r in counts if r["members"]}


async def test_membership_follows_rules_merges_and_definitions(settings):
    history = interactions()
    await ensure_topics(settings)
    await publish_records(settings, SEGMENTS + PEOPLE[:3])
    await publish_records(settings, [("InteractionEvent", r) for r in history])
    await publish_records(settings, PEOPLE[3:] + [segment("doomed", 5, "count(purchase) >= 0", deleted=True)])
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=60)
        members, counts = await stored(settings)
        want = expected(PEOPLE, history)
        assert {k: v for k, v in members.items()} == {k: v for k, v in want.items() if v}
        assert counts == {k: len(v) for k, v in want.items() if v}
        assert "C1" in members["annies"] and "C1" in members["reachable"], "C2's trait and the email's consent merged"
        await publish_records(settings, [UNLINK, segment("buyers", 30, "count(purchase) >= 4", version=2)])
        await wait_caught_up(settings, timeout=60)
        members, counts = await stored(settings)
        want = expected(PEOPLE + [UNLINK], history)
        want["buyers"] = {p for p in want["buyers"] if sum(1 for e in history if e["customerId"] == p
                                                           and e["type"] == "purchase") >= 4}
        assert members == {k: v for k, v in want.items() if v}
        assert counts == {k: len(v) for k, v in want.items() if v}
        assert members["annies"] == {"C2"}, "the unmerged C2 keeps its own trait"


async def test_windowed_segments_are_re_evaluated_as_days_pass(settings):
    settings = replace(settings, segment_refresh_seconds=0.3)
    buys = [{**e, "customerId": "C7", "type": "purchase", "occurredAt": datetime.now(timezone.utc)}
            for e in workload.interactions(TENANT, 2)]
    await ensure_topics(settings)
    await publish_records(settings, [segment("recent", 0, "count(purchase, 3) >= 1"),
                                    segment("ever", 0, "count(purchase) >= 1")])
    await publish_records(settings, [("InteractionEvent", r) for r in buys])
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=60)
        assert (await stored(settings))[0] == {"recent": {"C7"}, "ever": {"C7"}}
        conn = await asyncpg.connect(settings.database_url)
        try:  # ten days pass for C7's buckets, with no new event
            await conn.execute("UPDATE customer_daily SET day = day - 10 WHERE tenant_id = $1", TENANT)
        finally:
            await conn.close()

        async def left():
            members, counts = await stored(settings)
            return members if "recent" not in members and "recent" not in counts else None

        assert await wait_until(left, timeout=30, what="the scheduled refresh") == {"ever": {"C7"}}


async def test_segments_api_defines_lists_pages_and_deletes(settings):
    history = interactions()
    await ensure_topics(settings)
    await publish_records(settings, PEOPLE)
    await publish_records(settings, [("InteractionEvent", r) for r in history])
    headers = {"X-Tenant-Id": TENANT}
    client = await api_client(settings)
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
            buyers = expected(PEOPLE, history)["buyers"]
            resp = await client.put("/api/v1/segments/buyers", json={"name": "Buyers", "rule": "count(purchase) >= 3"},
                                    headers=headers)
            body = await resp.json()
            assert resp.status == 201, body
            assert (body["version"], body["memberCount"], body["windowed"]) == (1, len(buyers), False)
            for bad, field, words in (({"name": "x", "rule": "count(purchase) >= "}, "body.rule", "column 20"),
                                      ({"name": "x", "rule": "metric.nope > 1"}, "body.rule", "unknown metric nope"),
                                      ({"rule": "tags contains \"a\""}, "body.name", "non-empty string")):
                resp = await client.put("/api/v1/segments/x", json=bad, headers=headers)
                err = (await resp.json())["error"]
                assert resp.status == 400 and err["field"] == field and words in err["message"], err
            listed = await (await client.get("/api/v1/segments", headers=headers)).json()
            assert [(s["id"], s["memberCount"]) for s in listed["data"]] == [("buyers", len(buyers))]
            seen, cursor = [], None
            while True:
                page = await (await client.get("/api/v1/segments/buyers/members", headers=headers,
                                               params={"limit": "1", **({"cursor": cursor} if cursor else {})})).json()
                seen += [m["customerId"] for m in page["data"]]
                if not page["hasMore"]:
                    break
                cursor = page["nextCursor"]
            assert seen == sorted(buyers) and page["total"] == len(buyers)
            status, prof = await profile(client, "C2", sections="segments")
            assert [s["segmentId"] for s in prof["sections"][0]["data"]] == ["buyers"]
            status, keyed = await profile(client, "C2", sections="segments", shape="keyed")
            assert (status, keyed["segments"]) == (200, ["buyers"]), "seed 001: a list of segment ids"
            before = await (await client.get("/api/v1/segments/buyers/members", headers=headers)).json()
            resp = await client.put("/api/v1/segments/buyers", json={"name": "Buyers", "rule": "count(purchase) >= 3"},
                                    headers=headers)
            body = await resp.json()
            assert resp.status == 200 and body["version"] == 1 and body.get("changed") is False, body
            assert "X-P360-Position" not in resp.headers, "an identical definition publishes nothing"
            after = await (await client.get("/api/v1/segments/buyers/members", headers=headers)).json()
            assert after == before, "memberSince stays"
            resp = await client.put("/api/v1/segments/buyers", json={"name": "Big buyers", "rule": "count(purchase) >= 100"},
                                    headers=headers)
            body = await resp.json()
            assert resp.status == 200 and (body["version"], body["memberCount"], body["name"]) == (2, 0, "Big buyers")
            assert body["changed"] is True
            assert (await client.get("/api/v1/segments", headers={"X-Tenant-Id": "other"})).status == 200
            assert (await (await client.get("/api/v1/segments", headers={"X-Tenant-Id": "other"})).json())["data"] == []
            resp = await client.delete("/api/v1/segments/buyers", headers=headers)
            assert resp.status == 200 and (await resp.json())["deleted"] is True
            assert (await client.get("/api/v1/segments/buyers", headers=headers)).status == 404
            assert (await client.get("/api/v1/segments/buyers/members", headers=headers)).status == 404
    finally:
        await client.close()


async def test_merges_move_memberships_whatever_the_order_of_topics(settings):
    """A customer known only from interactions is a member under its own id; a later identity
    event (or a lowered link threshold) that merges it away moves the membership and the count."""
    from .test_profiles import configured, identify, link

    def buys(customer: str, n: int):
        return [("InteractionEvent", {**e, "eventId": f"{customer}-buy-{i}", "customerId": customer, "type": "purchase"})
                for i, e in enumerate(workload.interactions(TENANT, n))]

    await ensure_topics(settings)
    async with InProcessWorker(settings):
        await publish_records(settings, [segment("buyers", 0, "count(purchase) >= 1")])
        await wait_caught_up(settings, timeout=60)
        await publish_records(settings, buys("C0", 1) + buys("C1", 1) + buys("C5", 1))
        await publish_records(settings, [link("Link", "w1", 1, ("customer_id", "C0"), ("customer_id", "C1"), 0.5)])
        await wait_caught_up(settings, timeout=60)
        assert await stored(settings) == ({"buyers": {"C0", "C1", "C5"}}, {"buyers": 3})
        await publish_records(settings, [configured("t1", 2, 0.5)])  # the weak link now merges C1 into C0
        await wait_caught_up(settings, timeout=60)
        assert await stored(settings) == ({"buyers": {"C0", "C5"}}, {"buyers": 2})
        await publish_records(settings, [identify("i1", 3, ("customer_id", "C5"), ("customer_id", "C0"))])
        await wait_caught_up(settings, timeout=60)
        assert await stored(settings) == ({"buyers": {"C0"}}, {"buyers": 1})
