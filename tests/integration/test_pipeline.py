"""Events through the real broker and worker into PostgreSQL, read back through the API, and
checked against an independent fold of the same events."""
from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from profile360.api.app import create_app
from profile360.bootstrap import load_codec
from profile360.cli.produce import send_records
from profile360.topics import ensure_topics

from . import oracle, workload
from .api_auth import KeyedClient
from .harness import InProcessWorker, table, wait_caught_up

pytestmark = pytest.mark.integration
CODEC = load_codec()


async def publish(settings, catalog, interactions):
    await ensure_topics(settings)
    await send_records(settings, CODEC, settings.topic("catalog"), catalog)
    await send_records(settings, CODEC, settings.topic("interactions"), [("InteractionEvent", r) for r in interactions])


async def api_client(settings, role: str = "admin") -> KeyedClient:
    """The API in-process; requests naming a tenant carry a key of that tenant with ``role``."""
    client = KeyedClient(TestServer(create_app(settings)), settings.database_url, role)
    await client.start_server()
    return client


async def all_history(client, tenant, **filters):
    items, cursor = [], None
    while True:
        query = {**filters, "limit": "37", **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/api/v1/interaction-history", params=query, headers={"X-Tenant-Id": tenant})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        items += body["data"]
        if not body["hasMore"]:
            return items, body["total"]
        cursor = body["nextCursor"]


_HISTORY_FIELDS = {"customer_id": "customerId", "interaction_type": "type", "occurred_at": "occurredAt",
                   "offer_id": "offerId", "creative_id": "creativeId", "channel_id": "channelId",
                   "channel": "channel", "campaign_id": "campaignId", "value": "value"}


async def check_tables_match_oracle(settings, events, catalog=None):
    conn = await asyncpg.connect(settings.database_url)
    try:
        history = await table(conn, "interaction_history", "tenant_id, event_id")
        daily = await table(conn, "interaction_summary_daily", "tenant_id, dimension, key, day")
        totals = await table(conn, "interaction_totals", "tenant_id, scope, key")
        customers = await table(conn, "customer_daily", "tenant_id, customer_id, day, type")
        offers = await table(conn, "offers", "tenant_id, offer_id")
    finally:
        await conn.close()
    # Check every event id is stored exactly once, with the values it was sent with
    expected = oracle.expected_history(events)
    assert {(r["tenant_id"], r["event_id"]) for r in history} == set(expected)
    assert len(history) == len(expected)
    for row in history:
        sent = expected[(row["tenant_id"], row["event_id"])]
        assert {col: row[col] for col in _HISTORY_FIELDS} == {col: sent.get(f) for col, f in _HISTORY_FIELDS.items()}
    if catalog is not None:
        # Check the catalog holds the last writer of each offer
        want = {k: v for k, v in oracle.expected_catalog(catalog).items() if k[0] == "Offer"}
        assert {("Offer", r["tenant_id"], r["offer_id"]): (r["name"], r["event_id"]) for r in offers} == \
            {k: (v["name"], v["eventId"]) for k, v in want.items()}
    # Check the daily summary equals the independent fold, row for row
    got = {(r["tenant_id"], r["dimension"], r["key"], r["day"]): [r["impression"], r["click"], r["dismiss"], r["convert"]]
           for r in daily}
    assert got == {k: v for k, v in oracle.expected_daily(events).items() if k[1] != "customer"}
    assert oracle.bucket_rows(customers) == oracle.expected_customer_daily(events)
    # Check the history totals the API reports without counting
    assert {(r["tenant_id"], r["scope"], r["key"]): r["n"] for r in totals} == oracle.expected_totals(events)


async def test_events_flow_to_history_and_summary_api(settings):
    tenant = "acme"
    events = workload.interactions(tenant, 600) + workload.interactions("other", 50, seed=9)
    # An event dated in the future is history, but in no summary window yet
    events.append({**events[0], "eventId": "from-the-future", "occurredAt": events[0]["occurredAt"] + timedelta(days=7)})
    catalog = workload.catalog(tenant, events[0]["occurredAt"])
    await publish(settings, catalog, events)
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    await check_tables_match_oracle(settings, events, catalog)

    client = await api_client(settings)
    try:
        # Check paging through the whole history returns every event of the tenant once, newest first
        items, total = await all_history(client, tenant)
        mine = [e for e in events if e["tenantId"] == tenant]
        assert total == len(mine) == len(items)
        assert {i["id"] for i in items} == {e["eventId"] for e in mine}
        keys = [(i["timestamp"], i["id"]) for i in items]
        assert keys == sorted(keys, reverse=True)
        # Check embedded catalog objects, as in seed 001
        sample = next(i for i in items if i["offerId"] == "offer_1")
        assert sample["offer"] == {"id": "offer_1", "name": "Offer 1"}
        assert sample["creative"]["id"] == "creative_1" and sample["creative"]["name"] == "Creative 1"
        assert sample["creative"]["channel"]["id"] == "ch_1" and sample["creative"]["channel"]["name"] == "Channel 1"
        # Check filters
        clicks, n = await all_history(client, tenant, customerId="cust_3", type="click")
        assert n == len(clicks) == sum(1 for e in mine if e["customerId"] == "cust_3" and e["type"] == "click")
        by_alias, n = await all_history(client, tenant, actionId="offer_2", treatmentId="creative_2")
        assert {i["id"] for i in by_alias} == {e["eventId"] for e in mine if e["offerId"] == "offer_2"}
        assert n == len(by_alias)
        for filters in ({"offerId": "offer_3"}, {"creativeId": "creative_4"}, {"type": "dismiss"}):
            items, n = await all_history(client, tenant, **filters)
            assert n == len(items) > 0, filters

        for group_by in ("action", "treatment", "channel", "customer"):
            resp = await client.get("/api/v1/interaction-summary", params={"groupBy": group_by, "days": "30"},
                                    headers={"X-Tenant-Id": tenant})
            assert resp.status == 200
            body = await resp.json()
            assert (body["groupBy"], body["days"]) == (group_by, 30)
            expected = oracle.expected_summary(events, tenant, group_by, 30)
            id_field = "customerId" if group_by == "customer" else "id"
            got = {g[id_field]: g for g in body["summary"]}
            assert set(got) == set(expected)
            for key, exp in expected.items():
                assert {k: got[key][k] for k in exp} == exp
                if group_by != "customer" and exp["impression"]:
                    assert got[key]["ctr"] == round(100 * exp["click"] / exp["impression"], 2)
                    assert got[key]["cvr"] == round(100 * exp["convert"] / exp["impression"], 2)
        # Check customers page in id order, and rank by total on request
        expected = oracle.expected_summary(events, tenant, "customer", 30)
        paged, cursor = [], None
        while True:
            query = {"groupBy": "customer", "limit": "7", **({"cursor": cursor} if cursor else {})}
            body = await (await client.get("/api/v1/interaction-summary", params=query, headers={"X-Tenant-Id": tenant})).json()
            paged += body["summary"]
            if not (cursor := body["nextCursor"]):
                break
        assert [g["customerId"] for g in paged] == sorted(expected)
        ranked = await (await client.get("/api/v1/interaction-summary", params={"groupBy": "customer", "sort": "total"},
                                         headers={"X-Tenant-Id": tenant})).json()
        totals = [g["total"] for g in ranked["summary"]]
        assert totals == sorted(totals, reverse=True) and len(totals) == len(expected)
        action = (await (await client.get("/api/v1/interaction-summary", headers={"X-Tenant-Id": tenant})).json())["summary"]
        offer4 = next(g for g in action if g["id"] == "offer_4")
        assert (offer4["name"], offer4["issue"], offer4["group"], offer4["status"], offer4["priority"]) == \
            ("Offer 4", "Cards", "Premium", "active", 40)
        # Check readiness reports the worker's stored progress
        ready = await (await client.get("/readyz")).json()
        assert ready["consumers"][settings.consumer_group]["offsetsApplied"] == len(events) + len(catalog)
        # Check tenant isolation: the other tenant sees only its own events
        _, other_total = await all_history(client, "other")
        assert other_total == 50
    finally:
        await client.close()


async def test_resent_events_and_restarted_worker_count_nothing_twice(settings):
    events = workload.interactions("acme", 300)
    await publish(settings, [], events[:200])
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    # The producer retries: the same events again (new offsets, same ids), plus new ones
    await publish(settings, [], events[100:300])
    async with InProcessWorker(settings) as worker:
        await wait_caught_up(settings)
    assert worker.stats.consumed == 200, "a restarted worker resumes from the stored positions"
    await check_tables_match_oracle(settings, events)


async def test_a_batch_that_skips_past_the_stored_position_is_fenced_off(settings):
    """A stale worker (or one that missed a switch or a replay) holds records beyond the
    stored position: its transaction applies nothing of that partition and reports where the
    partition must resume; other partitions of the batch are applied."""
    from profile360.events.model import from_record
    from profile360.store.writer import Entry, apply_batch

    events = workload.interactions("acme", 40)
    entries = [Entry("t", i % 2, i // 2, from_record("InteractionEvent", CODEC.decode(CODEC.encode("InteractionEvent", e)).record))
               for i, e in enumerate(events)]
    p0, p1 = [e for e in entries if e.partition == 0], [e for e in entries if e.partition == 1]
    conn = await asyncpg.connect(settings.database_url)
    try:
        await apply_batch(conn, settings.consumer_group, p0[:5] + p1[:5])
        late = await apply_batch(conn, settings.consumer_group, p0[8:] + p1[5:])  # p0 5..7 never applied
        assert late.gaps == {("t", 0): 5}
        assert late.positions == {("t", 1): 20}
        assert late.new_interactions == 15
        rest = await apply_batch(conn, settings.consumer_group, p0[5:])
        assert (rest.gaps, rest.new_interactions) == ({}, 15)
    finally:
        await conn.close()
    await check_tables_match_oracle(settings, events)


async def test_redelivered_batch_changes_nothing(settings):
    from profile360.store.writer import Entry, apply_batch
    from profile360.events.model import from_record

    events = workload.interactions("acme", 50)
    entries = [Entry("t", 0, i, from_record("InteractionEvent", CODEC.decode(CODEC.encode("InteractionEvent", e)).record))
               for i, e in enumerate(events)]
    conn = await asyncpg.connect(settings.database_url)
    try:
        first = await apply_batch(conn, settings.consumer_group, entries[:30])
        again = await apply_batch(conn, settings.consumer_group, entries)  # 0..29 redelivered
        assert (first.new_interactions, again.skipped, again.new_interactions) == (30, 30, 20)
        assert (await apply_batch(conn, settings.consumer_group, entries)).skipped == 50
    finally:
        await conn.close()
    await check_tables_match_oracle(settings, events)


async def test_pages_are_stable_while_events_arrive(settings):
    from datetime import timedelta

    from profile360.events.model import from_record
    from profile360.store.writer import Entry, apply_batch

    def entries(records, first_offset):
        return [Entry("t", 0, first_offset + i, from_record("InteractionEvent", CODEC.decode(CODEC.encode("InteractionEvent", r)).record))
                for i, r in enumerate(records)]

    events = workload.interactions("acme", 60)
    conn = await asyncpg.connect(settings.database_url)
    client = await api_client(settings)
    try:
        await apply_batch(conn, settings.consumer_group, entries(events, 0))
        page1 = await (await client.get("/api/v1/interaction-history", params={"limit": "25"}, headers={"X-Tenant-Id": "acme"})).json()
        # Newer events and late (older) events arrive between two page requests
        newest = max(e["occurredAt"] for e in events)
        late = [{**e, "eventId": f"new-{i}", "occurredAt": newest + timedelta(minutes=1 + i)} for i, e in enumerate(events[:5])]
        late += [{**e, "eventId": f"late-{i}", "occurredAt": min(x["occurredAt"] for x in events) - timedelta(days=1)}
                 for i, e in enumerate(events[:3])]
        await apply_batch(conn, settings.consumer_group, entries(late, 60))
        rest, cursor = [], page1["nextCursor"]
        while cursor:
            page = await (await client.get("/api/v1/interaction-history", params={"limit": "25", "cursor": cursor},
                                           headers={"X-Tenant-Id": "acme"})).json()
            rest += page["data"]
            cursor = page["nextCursor"]
    finally:
        await client.close()
        await conn.close()
    seen = [i["id"] for i in page1["data"] + rest]
    # Check no row was served twice or skipped; the newer ones are not in the later pages
    assert len(seen) == len(set(seen))
    assert set(seen) == {e["eventId"] for e in events} | {f"late-{i}" for i in range(3)}


async def test_worker_and_api_refuse_an_unmigrated_database(stack):
    import uuid

    from profile360.bootstrap import open_pool
    from profile360.settings import Settings
    from profile360.store.migrations import SchemaMismatch

    name = f"empty_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.database)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    settings = Settings(kafka_bootstrap=stack.kafka, database_url=stack.database.rpartition("/")[0] + f"/{name}")
    with pytest.raises(SchemaMismatch, match="profile360 migrate"):
        await open_pool(settings)
    client = TestClient(TestServer(create_app(settings)))
    with pytest.raises(SchemaMismatch):
        await client.start_server()
    await client.close()
