"""Seed 003 end to end: organization customers created and updated as commands, listed with
the seed's parameters, read your own writes, and their feedback, highlights, insights and
issues; search on 100,000 customers runs on the trigram index; search folds case and names sort
linguistically in every script, on their indexes."""
from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from profile360.cli.produce import send_records
from profile360.store.org_reads import SEARCHED, CustomerQuery, customer_queries

from . import workload
from .harness import InProcessWorker, group_members, wait_caught_up, wait_until
from .test_pipeline import CODEC, api_client
from .test_profiles import publish_records

pytestmark = pytest.mark.integration
H = {"X-Tenant-Id": "acme"}
BASE = "/api/v1/organizations/acme/customers"


async def test_create_update_and_read_your_writes(settings):
    async with InProcessWorker(settings):
        # the write waits P360_COMMAND_WAIT_MS for the worker: let it join its group first (as
        # the first test of a session it could take longer, and the answer was a 202)
        await wait_until(lambda: group_members(settings, 1), 60, "the worker in its group")
        client = await api_client(settings)
        try:
            resp = await client.post(BASE, json={"full_name": "Alice Johnson", "email": "Alice@Example.COM",
                                                  "role": "Marketing Manager"}, headers=H)
            assert resp.status == 201, await resp.text()
            created = (await resp.json())["customers"][0]
            position = resp.headers["X-P360-Position"]
            assert created["full_name"] == "Alice Johnson" and created["email"] == "Alice@example.com"
            assert created["organization_uuid"] == "acme" and created["persona_uuid"] is None
            uuid = created["uuid"]
            resp = await client.get(f"{BASE}/{uuid}", headers={**H, "X-P360-Min-Position": position})
            assert (resp.status, (await resp.json())["total_customer_count"]) == (200, 1)

            resp = await client.put(f"{BASE}/{uuid}", json={"full_name": "Alice J.", "persona_uuid": "persona-5678"}, headers=H)
            updated = (await resp.json())["customers"][0]
            assert resp.status == 200 and (updated["full_name"], updated["email"], updated["role"], updated["persona_uuid"]) == (
                "Alice J.", "Alice@example.com", "Marketing Manager", "persona-5678"), "fields not sent are kept"
            assert updated["created_date"] == created["created_date"] < updated["updated_date"]

            for body, field in (({"full_name": "x", "nickname": "y"}, "nickname"), ({"email": "not-an-email"}, "email"),
                                ({}, "full_name"), ({"role": 7}, "role")):
                resp = await client.post(BASE, json=body, headers=H)
                assert (resp.status, (await resp.json())["error"]["field"]) == (400, field), body
            resp = await client.post(BASE, json={"full_name": "x", "nickname": "y", "age": "z"}, headers=H)
            err = (await resp.json())["error"]
            assert resp.status == 400 and "nickname" in err["message"] and "age" in err["message"], err
            resp = await client.post(BASE, data=b"[1, 2", headers={**H, "Content-Type": "application/json"})
            assert (resp.status, (await resp.json())["error"]["field"]) == (400, "body")
            assert (await client.get("/api/v1/organizations/other/customers", headers=H)).status == 404
            assert (await client.put(f"{BASE}/nobody", json={"role": "x"}, headers=H)).status == 404
        finally:
            await client.close()


async def test_a_read_is_never_older_than_the_writer_asked_for(settings):
    """Without a worker the write answers 202 with its position; a read that names it is 503
    until the worker has applied it, then 200 with the write."""
    settings_fast = replace(settings, command_wait_ms=300)
    client = await api_client(settings_fast)
    try:
        resp = await client.post(BASE, json={"full_name": "Bob"}, headers=H)
        assert resp.status == 202
        body, position = await resp.json(), resp.headers["X-P360-Position"]
        assert body["location"] == f"{BASE}/{body['uuid']}" and body["position"] == position
        read = await client.get(body["location"], headers={**H, "X-P360-Min-Position": position})
        assert (read.status, (await read.json())["error"]["code"]) == (503, "not_yet_applied")
        assert read.headers["Retry-After"] == "1"
        async with InProcessWorker(settings):
            await wait_caught_up(settings)
            read = await client.get(body["location"], headers={**H, "X-P360-Min-Position": position})
            assert read.status == 200 and (await read.json())["customers"][0]["full_name"] == "Bob"
        bad = await client.get(BASE, headers={**H, "X-P360-Min-Position": "elsewhere/0/1"})
        assert (bad.status, (await bad.json())["error"]["field"]) == (400, "X-P360-Min-Position")
    finally:
        await client.close()


async def test_lists_filters_and_what_customers_said(settings):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3)
    records = workload.organizations("acme", t0, random.Random(5))
    await publish_records(settings, records)
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    client = await api_client(settings)
    try:
        async def get(path, **query):
            resp = await client.get(path, params=query, headers=H)
            assert resp.status == 200, await resp.text()
            return await resp.json()

        page = await get(BASE, page_size="5")
        assert page["total_customer_count"] == 12 and len(page["customers"]) == 5
        dates = [c["last_interacted_date"] for c in page["customers"]]
        assert dates == sorted(dates, reverse=True), "default: last_interacted_date desc"
        everyone = (await get(BASE, page_size="100", sort_by="full_name", sort_direction="asc"))["customers"]
        assert [c["full_name"] for c in everyone] == sorted(c["full_name"] for c in everyone)
        assert all(c["full_name"].endswith("Renamed") and c["role"] == "Buyer" for c in everyone), "latest versions"
        second = await get(BASE, page_size="5", page_number="2", sort_by="full_name", sort_direction="asc")
        assert [c["uuid"] for c in second["customers"]] == [c["uuid"] for c in everyone[5:10]]
        assert (await get(BASE, uuids="oc-1,oc-2,nobody"))["total_customer_count"] == 2
        assert {c["uuid"] for c in (await get(BASE, search="person 1"))["customers"]} == {"oc-1", "oc-10", "oc-11"}
        assert [c["uuid"] for c in (await get(BASE, search="P3@EXAMPLE"))["customers"]] == ["oc-3"]
        assert (await get(BASE, personas="persona-0"))["total_customer_count"] == 4
        assert (await get(BASE, company_uuids="comp-1,comp-2"))["total_customer_count"] == 6
        assert (await get(BASE, search="100%_"))["total_customer_count"] == 0

        fb = await get(f"{BASE}/oc-0/feedbacks", page_size="2")
        assert fb["total_feedback_count"] == 3 and len(fb["feedbacks"]) == 2
        assert fb["feedbacks"][0]["feedback_contents"].startswith("feedback") and fb["feedbacks"][0]["organization_uuid"] == "acme"
        by_sentiment = (await get(f"{BASE}/oc-0/feedbacks", sort_by="sentiment", sort_direction="asc"))["feedbacks"]
        assert [f["sentiment"] for f in by_sentiment] == sorted(f["sentiment"] for f in by_sentiment)
        hl = await get(f"{BASE}/oc-0/feedback_highlights")
        assert hl["total_highlight_count"] == 3 and hl["highlights"][0]["sentiment_score"] == 0.5
        insights = await get(f"{BASE}/oc-2/insights")
        # the latest version of each finding decides whom it is about (v1 named oc-k and oc-k+1, v2 oc-k+2)
        assert [i["title"] for i in insights["insights"]] == ["InsightRecorded 0 v2"]
        assert (await get(f"{BASE}/oc-1/insights"))["total_insight_count"] == 0
        issues = await get(f"{BASE}/oc-3/issues")
        assert [(i["title"], i["average_sentiment"]) for i in issues["issues"]] == [("IssueRecorded 1 v2", -0.5)]
        assert (await client.get(f"{BASE}/oc-12/feedbacks", headers=H)).status == 404, "feedback without a customer"
        bad = await client.get(BASE, params={"sort_by": "age"}, headers=H)
        assert (bad.status, (await bad.json())["error"]["field"]) == (400, "sort_by")
    finally:
        await client.close()
    await _erase_one(settings, records)


async def _erase_one(settings, records) -> None:
    """Erasing oc-0 removes it, its feedback and highlights; old events sent again stay out;
    its insights' other customers keep theirs."""
    async with InProcessWorker(settings):
        client = await api_client(settings)
        try:
            resp = await client.delete(f"{BASE}/oc-0", headers=H)
            assert resp.status == 200, await resp.text()
            deleted = (await resp.json())["deleted"]
            assert deleted.items() >= {"orgCustomers": 1, "feedbacks": 3, "highlights": 3}.items(), deleted
            await publish_records(settings, [r for r in records if r[1].get("customerUuid") == "oc-0"])
            await wait_caught_up(settings)
            assert (await client.get(f"{BASE}/oc-0", headers=H)).status == 404
            assert (await client.delete(f"{BASE}/oc-0", headers=H)).status == 404
            assert (await (await client.get(BASE, headers=H)).json())["total_customer_count"] == 11
        finally:
            await client.close()
    conn = await asyncpg.connect(settings.database_url)
    try:
        left = [await conn.fetchval(f"SELECT count(*) FROM {t} WHERE customer_uuid = 'oc-0'")
                for t in ("org_customers", "org_feedbacks", "org_highlights", "org_activity")]
    finally:
        await conn.close()
    assert left == [0, 0, 0, 0]


async def test_search_on_100000_customers_uses_the_index(settings):
    """1,000 customers come through Kafka and the worker; 99,000 more are copies of one of them
    made in SQL (the index and the plan are the subject here, not the fold, which the other tests
    check: ingesting 100,000 events cost a minute of the suite)."""
    n, folded = 100_000, 1_000
    at = datetime.now(timezone.utc).replace(microsecond=0)
    records = [("OrgCustomerUpserted", {"eventId": f"bulk-{i}", "tenantId": "big", "occurredAt": at, "customerUuid": f"c-{i}",
                                        "fullName": f"Customer {i:06d}", "email": f"user{i}@example.com", "role": None,
                                        "personaUuid": None, "companyUuid": None}) for i in range(folded)]
    await send_records(settings, CODEC, settings.topic("customers"), records)
    async with InProcessWorker(settings):
        await wait_caught_up(settings, timeout=120)
    conn = await asyncpg.connect(settings.database_url)
    try:
        gen = await conn.fetchval("SELECT 'p360_g' || number FROM public.generations WHERE state = 'current'")
        # every column of the folded row c-0, with a new uuid, name and e-mail (whatever columns the table has)
        await conn.execute(f"""
            INSERT INTO {gen}.org_customers
            SELECT (jsonb_populate_record(NULL::{gen}.org_customers, to_jsonb(o) || jsonb_build_object(
                'customer_uuid', 'c-' || g, 'full_name', 'Customer ' || lpad(g::text, 6, '0'),
                'email', 'user' || g || '@example.com', 'event_id', 'copy-' || g))).*
            FROM {gen}.org_customers o, generate_series({folded}, {n - 1}) g
            WHERE o.tenant_id = 'big' AND o.customer_uuid = 'c-0'""")
        assert await conn.fetchval(f"SELECT count(*) FROM {gen}.org_customers WHERE tenant_id = 'big'") == n
        await conn.execute(f"ANALYZE {gen}.org_customers")  # as autovacuum does after a bulk load (not the view)
        plan = "\n".join(r[0] for r in await conn.fetch(
            f"EXPLAIN SELECT * FROM org_customers WHERE tenant_id = 'big' AND {SEARCHED} LIKE '%user424@%'"))
    finally:
        await conn.close()
    assert "org_customers_search" in plan, plan
    client = await api_client(settings)
    try:
        t0 = time.perf_counter()
        resp = await client.get("/api/v1/organizations/big/customers", params={"search": "user424@"}, headers={"X-Tenant-Id": "big"})
        seconds = time.perf_counter() - t0
        body = await resp.json()
    finally:
        await client.close()
    assert [c["uuid"] for c in body["customers"]] == ["c-424"]  # a folded one, found among the 100,000
    print(f"search over {n:,} customers: {seconds * 1000:.0f} ms (plan: index)")


NAMES = ["Zed Alice-Smith", "dave lowercase", "Émile Zola", "Ivan Иванов", "Straße Müller", "ΟΔΥΣΣΕΥΣ"]


async def test_search_folds_case_in_every_script_and_names_sort_linguistically(settings):
    at = datetime.now(timezone.utc).replace(microsecond=0)
    await send_records(settings, CODEC, settings.topic("customers"), [
        ("OrgCustomerUpserted", {"eventId": f"n-{i}", "tenantId": "acme", "occurredAt": at, "customerUuid": f"n-{i}",
                                 "fullName": name, "email": f"p{i}@example.com", "role": None, "personaUuid": None,
                                 "companyUuid": None}) for i, name in enumerate(NAMES)])
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    client = await api_client(settings)
    try:
        async def names(**query) -> list[str]:
            resp = await client.get(BASE, params=query, headers=H)
            assert resp.status == 200, await resp.text()
            return [c["full_name"] for c in (await resp.json())["customers"]]

        for term, found in (("émile", "Émile Zola"), ("Émile", "Émile Zola"), ("ÉMILE", "Émile Zola"),
                            ("иванов", "Ivan Иванов"), ("ИВАН", "Ivan Иванов"), ("strasse", "Straße Müller"),
                            ("MÜLLER", "Straße Müller"), ("οδυσσευς", "ΟΔΥΣΣΕΥΣ"), ("Οδυσσεύς"[:5], "ΟΔΥΣΣΕΥΣ")):
            assert await names(search=term) == [found], term
        linguistic = ["dave lowercase", "Émile Zola", "Ivan Иванов", "Straße Müller", "Zed Alice-Smith", "ΟΔΥΣΣΕΥΣ"]
        assert await names(sort_by="full_name", sort_direction="asc") == linguistic
        assert await names(sort_by="full_name", sort_direction="desc") == linguistic[::-1]
    finally:
        await client.close()
    *searches, by_name = await _plans(settings, CustomerQuery("acme", search="émile"),
                                      CustomerQuery("acme", search="иванов"),
                                      CustomerQuery("acme", sort_by="full_name", descending=False))
    for plan in searches:  # a term in Latin or only in Cyrillic letters: on the trigram index
        assert "Index Scan on org_customers_search" in plan, plan
    assert "org_customers_name" in by_name and "Sort" not in by_name, by_name


async def _plans(settings, *queries: CustomerQuery) -> list[str]:
    """The plans of the page queries the API runs for ``queries``, once the table holds enough
    rows for the planner to prefer an index (20,000 filler rows of the same tenant, written
    straight into the table: only the plan is under test here)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        gen = await conn.fetchval("SELECT 'p360_g' || number FROM public.generations WHERE state = 'current'")
        await conn.execute(f"""INSERT INTO {gen}.org_customers (tenant_id, customer_uuid, full_name, email, created_at,
                                                               occurred_at, event_id)
                               SELECT 'acme', 'f-' || i, 'Filler ' || i, 'f' || i || '@example.com', now(), now(), 'f-' || i
                               FROM generate_series(1, 20000) AS i""")
        await conn.execute(f"VACUUM ANALYZE {gen}.org_customers")  # as autovacuum does after a bulk load
        plans = []
        for q in queries:
            _, page, args = customer_queries(q)
            plans.append("\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {page}", *args)))
        return plans
    finally:
        await conn.close()
