"""The overview's maintained rows and counters against counts from scratch: the queries the
overview ran before it had counters (every profile of the tenant read at request time), kept
here as an independent check that works for any workload (erasures, rebuilds included)."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import asyncpg

_FIRSTS = """
    WITH firsts AS (
        SELECT n.profile_id AS p, min(n.occurred_at) AS t FROM identity_nodes n WHERE n.tenant_id = $1 GROUP BY 1
        UNION ALL
        SELECT coalesce(n.profile_id, c.customer_id), min(c.day)::timestamp AT TIME ZONE 'UTC'
        FROM customer_daily c
        LEFT JOIN identity_nodes n ON n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id
        WHERE c.tenant_id = $1 GROUP BY 1),
    profiles AS (SELECT p, min(t) AS first_at FROM firsts GROUP BY p)"""
_LAST = """SELECT coalesce(n.profile_id, c.customer_id) AS p, max(c.day) AS last_day FROM customer_daily c
           LEFT JOIN identity_nodes n ON n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id
           WHERE c.tenant_id = $1 GROUP BY 1"""
_REACH = """SELECT p, array_agg(channel ORDER BY channel) AS reach FROM (
             SELECT DISTINCT ON (n.profile_id, f.name) n.profile_id AS p, split_part(f.name, '/', 1) AS channel, f.value
             FROM profile_facts f JOIN identity_nodes n ON n.tenant_id = f.tenant_id AND n.key = f.key
             WHERE f.tenant_id = $1 AND f.kind = 'consent' AND split_part(f.name, '/', 2) = 'marketing'
             ORDER BY n.profile_id, f.name, f.occurred_at DESC, f.event_id DESC) latest
           WHERE value = 'true'::jsonb GROUP BY p"""
_ACTIVE = """SELECT count(DISTINCT coalesce(n.profile_id, c.customer_id))
           FROM (SELECT DISTINCT customer_id FROM customer_daily WHERE tenant_id = $1 AND day BETWEEN $2 AND $3) c
           LEFT JOIN identity_nodes n ON n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id"""


async def from_scratch(conn: asyncpg.Connection, tenant: str) -> dict[str, tuple]:
    """profile id -> (first_at, last_day, granted marketing channels), read from the base tables."""
    firsts = {r["p"]: r["first_at"] for r in await conn.fetch(f"{_FIRSTS} SELECT * FROM profiles", tenant)}
    last = {r["p"]: r["last_day"] for r in await conn.fetch(_LAST, tenant)}
    reach = {r["p"]: list(r["reach"]) for r in await conn.fetch(_REACH, tenant)}
    return {p: (t, last.get(p), reach.get(p, [])) for p, t in firsts.items()}


async def assert_overview_exact(conn: asyncpg.Connection, tenant: str, windows: list[tuple[date, date]] = ()) -> None:
    """``profile_activity`` and ``overview_counts`` of ``tenant`` equal a count from scratch,
    and so does the active count of each (since, until) in ``windows``."""
    from profile360.store import overview  # the API's reader

    want = await from_scratch(conn, tenant)
    got = {r["profile_id"]: (r["first_at"], r["last_day"], list(r["reach"])) for r in await conn.fetch(
        "SELECT * FROM profile_activity WHERE tenant_id = $1", tenant)}
    assert got == want
    counts: Counter = Counter()
    for first_at, last_day, reach in want.values():
        counts.update([("contacts", ""), ("first_month", first_at.astimezone(timezone.utc).strftime("%Y-%m"))]
                      + ([("last_day", last_day.isoformat())] if last_day else []) + [("reach", c) for c in reach])
    stored = {(r["metric"], r["key"]): r["n"] for r in await conn.fetch(
        "SELECT metric, key, n FROM overview_counts WHERE tenant_id = $1 AND n <> 0", tenant)}
    assert stored == dict(counts), {k: (stored.get(k), counts.get(k)) for k in set(stored) | set(counts) if stored.get(k) != counts.get(k)}
    for since, until in windows:
        read = await overview.counts(conn, tenant, datetime.now(timezone.utc).date().replace(day=1), since, until)
        assert read.active == await conn.fetchval(_ACTIVE, tenant, since, until), (since, until)


def windows() -> list[tuple[date, date]]:
    """The overview's 30 days, and two days before today (profiles active today lie after them)."""
    today = datetime.now(timezone.utc).date()
    return [(today - timedelta(days=29), today), (today - timedelta(days=2), today - timedelta(days=1))]


async def check_overview(settings, tenant: str, windows: list[tuple[date, date]] = ()) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):  # one snapshot
            await assert_overview_exact(conn, tenant, windows)
    finally:
        await conn.close()
