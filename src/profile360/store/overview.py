"""Read queries behind seed 000's Customer 360 overview: counts of profiles, not of customer ids
(identifiers merged into one profile count once)."""
from __future__ import annotations

from datetime import date, datetime

import asyncpg

# every profile of the tenant with its first event: identity sightings, and the first day of
# the interactions of its customer ids (customers no identity event names are profiles alone)
_FIRSTS = """
    WITH firsts AS (
        SELECT n.profile_id AS p, min(n.occurred_at) AS t FROM identity_nodes n WHERE n.tenant_id = $1 GROUP BY 1
        UNION ALL
        SELECT coalesce(n.profile_id, c.customer_id), min(c.day)::timestamp AT TIME ZONE 'UTC'
        FROM customer_daily c
        LEFT JOIN identity_nodes n ON n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id
        WHERE c.tenant_id = $1 GROUP BY 1),
    profiles AS (SELECT p, min(t) AS first_at FROM firsts GROUP BY p)"""


async def contacts(conn: asyncpg.Connection, tenant_id: str, month_start: datetime) -> tuple[int, int]:
    """(all profiles, profiles whose first event is at or after ``month_start``)."""
    row = await conn.fetchrow(f"""{_FIRSTS}
        SELECT count(*) AS total, count(*) FILTER (WHERE first_at >= $2) AS new FROM profiles""", tenant_id, month_start)
    return row["total"], row["new"]


async def active(conn: asyncpg.Connection, tenant_id: str, since: date, until: date) -> int:
    """Profiles with an interaction from ``since`` to ``until``."""
    return await conn.fetchval(
        """SELECT count(DISTINCT coalesce(n.profile_id, c.customer_id))
           FROM (SELECT DISTINCT customer_id FROM customer_daily WHERE tenant_id = $1 AND day BETWEEN $2 AND $3) c
           LEFT JOIN identity_nodes n ON n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id""",
        tenant_id, since, until)


async def channel_reach(conn: asyncpg.Connection, tenant_id: str, purpose: str = "marketing") -> dict[str, int]:
    """Per channel, the profiles whose latest consent for (channel, ``purpose``) is granted."""
    rows = await conn.fetch(
        """SELECT channel, count(*) AS n FROM (
             SELECT DISTINCT ON (n.profile_id, f.name) split_part(f.name, '/', 1) AS channel, f.value
             FROM profile_facts f JOIN identity_nodes n ON n.tenant_id = f.tenant_id AND n.key = f.key
             WHERE f.tenant_id = $1 AND f.kind = 'consent' AND split_part(f.name, '/', 2) = $2
             ORDER BY n.profile_id, f.name, f.occurred_at DESC, f.event_id DESC) latest
           WHERE value = 'true'::jsonb GROUP BY channel ORDER BY channel""", tenant_id, purpose)
    return {r["channel"]: r["n"] for r in rows}


async def events_page(conn: asyncpg.Connection, tenant_id: str, customer_ids: list[str],
                      after: tuple[datetime, str] | None, limit: int) -> list[asyncpg.Record]:
    """A profile's interactions, newest first, keyset-paginated; up to ``limit + 1`` rows."""
    args: list = [tenant_id, customer_ids, limit + 1]
    where = ""
    if after is not None:
        args += list(after)
        where = "AND (occurred_at, event_id) < ($4, $5)"
    return await conn.fetch(f"""SELECT event_id, customer_id, interaction_type, channel, campaign_id, workflow_id,
                                       metadata::text AS metadata, occurred_at FROM interaction_history
                                WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) {where}
                                ORDER BY occurred_at DESC, event_id DESC LIMIT $3""", *args)
