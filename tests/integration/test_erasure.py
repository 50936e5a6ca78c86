"""GDPR erasure end to end: the API command, what it removes, and that it survives late
events, replays and rebuilds; later events start a new profile."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from profile360.projections.erasure import subject_of
from profile360.worker.purge import purge
from profile360.worker.rebuild import rebuild
from profile360.worker.replay import replay_from

from . import workload
from .full_check import assert_documents_match
from .harness import InProcessWorker, topic_records, wait_caught_up
from .overview_check import check_overview, windows
from .test_pipeline import CODEC, api_client, check_tables_match_oracle, publish
from .test_profiles import PEOPLE, identify, profile, publish_records

pytestmark = pytest.mark.integration

# PEOPLE merges C1 and C2 (one email, spelled two ways) and links C3 below the threshold
ERASED = {"C1", "C2"}
ERASED_PEOPLE = {"i1", "i2", "l1", "k1", "k2", "k3"}  # the PEOPLE events about C1, C2 or their email
# dead-lettered (its email cannot be read), yet about C1: purge removes it from the topic too
DEAD_C1 = identify("dead-c1", 30, ("customer_id", "C1"), ("email", "not-an-email"))


def interactions() -> list[dict]:
    events = workload.interactions("acme", 200)
    for i, e in enumerate(events):
        e["customerId"] = ("C1", "C2", "C3", "C9")[i % 4]
    return events


async def rows(settings, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_erasure_removes_the_profile_and_stays_erased_through_replay_and_rebuild(settings):
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    catalog = workload.catalog("acme", datetime(2026, 11, 1, tzinfo=timezone.utc))
    events = interactions()
    kept = [e for e in events if e["customerId"] not in ERASED]
    await publish(settings, catalog, events)
    await publish_records(settings, PEOPLE + [DEAD_C1])
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
        client = await api_client(settings)
        try:
            resp = await client.delete("/api/v1/customers/C2", headers={"X-Tenant-Id": "acme"})
            assert resp.status == 200, await resp.text()
            body = await resp.json()
            assert body["success"] is True
            erased_events = [e for e in events if e["customerId"] in ERASED]
            assert body["deleted"]["interactionHistory"] == len(erased_events)
            assert body["deleted"]["impressions"] == sum(e["type"] == "impression" for e in erased_events)
            assert body["deleted"]["identities"] >= 3 and body["deleted"]["consent"] >= 1
            for ident in ("C1", "C2", "email:ann@x.com"):
                assert (await profile(client, ident))[0] == 404, ident
            assert (await profile(client, "C3"))[0] == 200
            assert (await client.delete("/api/v1/customers/C2", headers={"X-Tenant-Id": "acme"})).status == 404
            await check_erased(settings)
            await check_tables_match_oracle(settings, kept, catalog)
            await check_overview(settings, "acme", windows())

            # the same events again (a producer re-sends, an operator replays): still erased
            await publish(settings, [], [e for e in events if e["customerId"] in ERASED][:20])
            await publish_records(settings, PEOPLE)
            # a new event about C1 after the erasure: a new profile that holds only it
            after = {**events[0], "eventId": "after-erasure", "customerId": "C1",
                     "occurredAt": datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)}
            await publish(settings, [], [after])
            back = ("Identify", {"eventId": "back", "tenantId": "acme", "occurredAt": after["occurredAt"],
                                 "identifiers": [{"type": "customer_id", "value": "C2"}], "traits": {"firstName": "New"},
                                 "tagsAdded": [], "tagsRemoved": [], "defaultRegion": None})
            await publish_records(settings, [back])
            await wait_caught_up(settings)
            # a replay re-reads the erasure: applied once already, it leaves the new profile alone
            moved = await replay_from(settings, started)
            assert any(topic.endswith(".erasure") for topic, _ in moved), moved
            await wait_caught_up(settings)  # waits until every moved position is applied again
            assert [r["key"] for r in await rows(settings, "SELECT key FROM identity_nodes WHERE key = 'customer_id:C2'")] == [
                "customer_id:C2"], "the returning customer's node survives a replay of the erasure"
            await check_erased(settings, allowed={"after-erasure"}, returned={"customer_id:C2"})
            await check_tables_match_oracle(settings, kept + [after], catalog)
            await check_overview(settings, "acme", windows())
            assert (await profile(client, "C1"))[0] == 200

            # purge: the erased people's records leave the topics; the rest stays, once more
            before = await topic_event_ids(settings)
            report = await purge(settings, CODEC)
            erased_ids = {e["eventId"] for e in events if e["customerId"] in ERASED} | ERASED_PEOPLE | {"dead-c1"}
            assert report.removed == len(erased_events) + 20 + 2 * len(ERASED_PEOPLE) + 1
            after_purge = await topic_event_ids(settings)
            assert not erased_ids & set(after_purge)
            assert set(after_purge) == set(before) - erased_ids
            assert "after-erasure" in after_purge and after_purge.count("after-erasure") == 1
            await publish(settings, [], [{**after, "eventId": "after-purge"}])
            await wait_caught_up(settings)
            await check_tables_match_oracle(settings, kept + [after, {**after, "eventId": "after-purge"}], catalog)
        finally:
            await client.close()
        await rebuild(settings, CODEC)
        await wait_caught_up(settings)
    await check_erased(settings, allowed={"after-erasure", "after-purge"}, returned={"customer_id:C2"})
    await check_tables_match_oracle(settings, kept + [after, {**after, "eventId": "after-purge"}], catalog)
    await check_overview(settings, "acme", windows())


async def topic_event_ids(settings) -> list[str]:
    """The event ids in every projected topic but erasure, from the log start."""
    return [r["eventId"] for _, r in await topic_records(settings, skip=("erasure",))]


async def check_erased(settings, allowed: set[str] = frozenset(), returned: set[str] = frozenset()) -> None:
    """Nothing about C1, C2 or their email is left but events in ``allowed`` and what the
    identifiers in ``returned`` did after the erasure."""
    history = await rows(settings, "SELECT event_id FROM interaction_history WHERE customer_id = ANY($1::text[])", sorted(ERASED))
    assert {r["event_id"] for r in history} <= set(allowed)
    keys = {r["key"] for r in await rows(settings, "SELECT key FROM identity_nodes")}
    assert "email:ann@x.com" not in keys and ("customer_id:C2" not in keys or "customer_id:C2" in returned)
    facts = await rows(settings, "SELECT key, event_id FROM profile_facts WHERE key = ANY($1::text[])",
                       ["customer_id:C1", "customer_id:C2", "email:ann@x.com"])
    assert [(r["key"], r["event_id"]) for r in facts if r["key"] not in returned or r["event_id"] != "back"] == []
    log = await rows(settings, "SELECT * FROM erasure_log")
    assert len(log) == 1 and "C1" not in str(dict(log[0])) and "ann@" not in str(dict(log[0]))
    subjects = {r["subject"] for r in await rows(settings, "SELECT subject FROM erasures")}
    assert subject_of("acme", "customer_id:C2") in subjects and subject_of("acme", "email:ann@x.com") in subjects
    conn = await asyncpg.connect(settings.database_url)
    try:  # the materialized profiles lost what the erasure removed, and only that
        await assert_documents_match(conn)
    finally:
        await conn.close()


async def test_erasure_counts_a_journey_once(settings):
    """A journey is stored as two registers (state and enrolment); the erasure reports it as one."""
    from .test_profiles import identify, journey

    await publish_records(settings, [identify("j-i", 1, ("customer_id", "J1")),
                                     journey("j-1", 2, ("customer_id", "J1"), "onboarding", "active", "welcome")])
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
        client = await api_client(settings)
        try:
            resp = await client.delete("/api/v1/customers/J1", headers={"X-Tenant-Id": "acme"})
            body = await resp.json()
        finally:
            await client.close()
    assert resp.status == 200 and body["deleted"]["journeys"] == 1, body
