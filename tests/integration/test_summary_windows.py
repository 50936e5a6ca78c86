"""groupBy=customer summaries from the maintained windows (``store.windows``): the pages and
the ranking of the windows callers name most equal a fold of the events, for history spread
over months and into the future, across merged profiles, and after the days move on (a rebase
to a later day recomputes only what leaves or enters the windows, and equals the fold)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from profile360.store import customer_pages, windows
from profile360.topics import ensure_topics

from . import oracle_overview, workload
from .full_check import diff_rows
from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client
from .test_profiles import PEOPLE, TENANT, publish_records

pytestmark = pytest.mark.integration
PROFILES = {"C1": "C1", "C2": "C1"}  # PEOPLE merges C2 into C1


def history() -> list[dict]:
    """Offer interactions of C1..C5 over the last 100 days, and a few days ahead; and a burst of
    C6 in the last two days (the busiest of a short window, far from it over 90 days)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    events = workload.interactions(TENANT, 300)
    for i, e in enumerate(events):
        e.update(customerId=f"C{1 + i % 5}", occurredAt=now - timedelta(hours=(i * 37) % (100 * 24) - 72))
    burst = workload.interactions(TENANT, 30, prefix="burst")
    for i, e in enumerate(burst):
        e.update(customerId="C6", type="impression", occurredAt=now - timedelta(hours=i % 40))
    return events + burst


async def pages(client, days: int, **extra) -> list[dict]:
    rows, cursor = [], None
    while True:
        query = {"groupBy": "customer", "days": str(days), "limit": "2", **extra, **({"cursor": cursor} if cursor else {})}
        body = await (await client.get("/api/v1/interaction-summary", params=query, headers={"X-Tenant-Id": TENANT})).json()
        rows += body["summary"]
        if not (cursor := body["nextCursor"]):
            return rows


def want(records, events, days: int, today=None) -> dict[str, dict]:
    return {p: r for (_, d, p), r in oracle_overview.expected_answers(records, events, today, (days,)).items()}


async def ranking(client, days: int, limit: int) -> list[tuple[str, int]]:
    body = await (await client.get("/api/v1/interaction-summary", headers={"X-Tenant-Id": TENANT}, params={
        "groupBy": "customer", "days": str(days), "sort": "total", "limit": str(limit)})).json()
    return [(r["customerId"], r["total"]) for r in body["summary"]]


def top(expected: dict[str, dict], limit: int) -> list[tuple[str, int]]:
    return sorted(((p, r["total"]) for p, r in expected.items()), key=lambda x: (-x[1], x[0]))[:limit]


async def test_maintained_windows_page_and_rank_as_the_events_say(settings, monkeypatch):
    events = history()
    records = PEOPLE + [("InteractionEvent", e) for e in events]
    await ensure_topics(settings)
    await publish_records(settings, records)
    client = await api_client(settings)
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
        for days in windows.WINDOWS:
            expected = want(records, events, days)
            paged = await pages(client, days)
            assert [r["customerId"] for r in paged] == sorted(expected, key=lambda p: expected[p]["head"])
            assert {r["customerId"]: (r["impression"], r["click"], r["dismiss"], r["convert"], r["total"],
                                      r["uniqueActions"]) for r in paged} == {
                p: (r["impression"], r["click"], r["dismiss"], r["convert"], r["total"], r["unique_actions"])
                for p, r in expected.items()}
            ranked = (await (await client.get("/api/v1/interaction-summary", headers={"X-Tenant-Id": TENANT},
                                              params={"groupBy": "customer", "days": str(days), "sort": "total"})).json())
            assert [r["customerId"] for r in ranked["summary"]] == sorted(expected, key=lambda p: (-expected[p]["total"], p))
        # other windows: sort=total inside the longest maintained window reads candidates two at
        # a time here (so when to stop matters: C6 is ranked low over 90 days, top over 3); a
        # window reaching beyond it is counted in full
        monkeypatch.setattr(customer_pages, "CANDIDATES", 2)
        for days, limit in ((3, 1), (3, 2), (45, 1), (45, 3), (120, 2), (120, 9)):
            assert await ranking(client, days, limit) == top(want(records, events, days), limit), (days, limit)
        assert top(want(records, events, 3), 1)[0][0] == "C6" and top(want(records, events, 90), 9)[-1][0] == "C6"
        conn = await asyncpg.connect(settings.database_url)
        try:
            today = await windows.base_of(conn, TENANT)
            for later in (1, 2, 40):  # days pass: the rebase keeps every window exact
                async with conn.transaction():
                    await windows.rebase(conn, TENANT, today + timedelta(days=later))
                got = [dict(r) for r in await conn.fetch("SELECT * FROM profile_windows WHERE tenant_id = $1", TENANT)]
                expected = {(TENANT, d, p): r for (t, d, p), r in oracle_overview.expected_windows(
                    records, events, today + timedelta(days=later)).items()}
                assert not diff_rows("profile_windows", ("tenant_id", "days", "profile_id"), got, expected), later
        finally:
            await conn.close()
        # a window of the past is no longer served from the maintained rows: counted, and still right
        assert {r["customerId"] for r in await pages(client, 30)} == set(want(records, events, 30))
    finally:
        await client.close()



async def test_a_customer_with_interactions_before_its_identifier_is_seen_counts_once_after(settings):
    """C7 interacts as a lone customer (a profile of its own, keyed by its id), then an identify
    event links it to Ann's profile (C1): the overview counts one profile, though the batch that
    names C7 carries no interaction of it (a new node starts as the profile of its bare id, which
    the writer reports as touched)."""
    from .overview_check import check_overview, windows as overview_windows
    from .test_profiles import identify

    events = [dict(e, customerId="C7") for e in workload.interactions(TENANT, 5, prefix="c7-ev")]
    await ensure_topics(settings)
    async with InProcessWorker(settings):
        await publish_records(settings, PEOPLE + [("InteractionEvent", e) for e in events])
        await wait_caught_up(settings, timeout=60)
        await publish_records(settings, [identify("i7", 9, ("customer_id", "C7"), ("email", "ann@x.com"))])
        await wait_caught_up(settings, timeout=60)
    await check_overview(settings, TENANT, overview_windows())
