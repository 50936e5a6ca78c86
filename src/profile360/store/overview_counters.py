"""Maintains seed 000's overview counters (``profile_activity``, ``overview_counts``; the rule
is ``projections.overview``) inside the worker's batch transaction.

Contract:
- A profile is an identity profile (keyed by its profile id), or a customer id with
  interactions that no identity node names (keyed by that id), as the overview counted them
  before: ``profile_activity`` holds one row per profile, a function of ``identity_nodes``,
  ``customer_daily`` and ``profile_facts``.
- ``counters.refresh`` recomputes (``replace``), from those tables, the rows of the profiles a batch may have changed
  (the profile ids identity and erasure report, old and new, and the profiles of the customers
  with new interactions, resolved in the same statement) and adds the difference to the
  tenant's counters. It runs under the tenant's identity lock (``identity.lock_tenant``), taken
  by the writer before: the last transaction that touches a profile recomputes it from
  everything committed before it, so concurrent lanes leave exact rows.
- ``refresh_all`` recomputes a whole tenant (the end of a rebuild).
"""
from __future__ import annotations

from datetime import date
from typing import Iterable, Mapping

import asyncpg

from profile360.projections.overview import Activity, CounterKey, deltas, stretched
from profile360.store.identity import lock_tenant

#: the customer ids of the profile keyed ``{k}`` (an SQL expression), as rows of ``customer_id``
MEMBERS = """(SELECT substr(n.key, 13) AS customer_id FROM identity_nodes n
              WHERE n.tenant_id = $1 AND n.profile_id = {k} AND n.key LIKE 'customer\\_id:%'
              UNION ALL
              SELECT {k} WHERE NOT EXISTS (SELECT 1 FROM identity_nodes n
                                           WHERE n.tenant_id = $1 AND n.key = 'customer_id:' || {k}))"""

# per (tenant, customer id): the key of its profile
_PROFILES_OF = """SELECT u.t, u.c, coalesce(n.profile_id, u.c) AS k FROM unnest($1::text[], $2::text[]) AS u(t, c)
                  LEFT JOIN identity_nodes n ON n.tenant_id = u.t AND n.key = 'customer_id:' || u.c"""
# the rows of the profiles $2, from the base tables
_INSERT = f"""
    WITH keys AS (SELECT DISTINCT k FROM unnest($2::text[]) AS k),
         nodes AS (SELECT n.profile_id AS k, min(n.occurred_at) AS t FROM identity_nodes n JOIN keys
                   ON n.tenant_id = $1 AND n.profile_id = keys.k GROUP BY 1),
         days AS (SELECT keys.k, min(x.lo) AS lo, max(x.hi) AS hi FROM keys,
                  LATERAL {MEMBERS.format(k="keys.k")} m,
                  LATERAL (SELECT min(day) AS lo, max(day) AS hi FROM customer_daily c
                           WHERE c.tenant_id = $1 AND c.customer_id = m.customer_id) x GROUP BY keys.k),
         latest AS (SELECT DISTINCT ON (n.profile_id, f.name) n.profile_id AS k, split_part(f.name, '/', 1) AS channel, f.value
                    FROM keys JOIN identity_nodes n ON n.tenant_id = $1 AND n.profile_id = keys.k
                    JOIN profile_facts f ON f.tenant_id = $1 AND f.key = n.key AND f.kind = 'consent'
                    WHERE split_part(f.name, '/', 2) = 'marketing'
                    ORDER BY n.profile_id, f.name, f.occurred_at DESC, f.event_id DESC),
         reach AS (SELECT k, array_agg(channel ORDER BY channel) AS channels FROM latest
                   WHERE value = 'true'::jsonb GROUP BY k)
    INSERT INTO profile_activity (tenant_id, profile_id, first_at, last_day, reach)
    SELECT $1, keys.k, least(nodes.t, days.lo::timestamp AT TIME ZONE 'UTC'), days.hi, coalesce(reach.channels, '{{}}')
    FROM keys LEFT JOIN nodes USING (k) LEFT JOIN days USING (k) LEFT JOIN reach USING (k)
    WHERE nodes.t IS NOT NULL OR days.lo IS NOT NULL
    RETURNING first_at, last_day, reach"""

_ALL_KEYS = """SELECT DISTINCT profile_id FROM identity_nodes WHERE tenant_id = $1
               UNION SELECT DISTINCT customer_id FROM customer_daily c WHERE tenant_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM identity_nodes n WHERE n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id)"""


def _activity(tenant_id: str, r: asyncpg.Record) -> Activity:
    return Activity(tenant_id, r["first_at"], r["last_day"], tuple(r["reach"]))


async def profiles_of(conn: asyncpg.Connection, customers: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(tenant, customer id) -> the key of its profile as identity holds it now, in one statement."""
    pairs = sorted(set(customers))
    rows = await conn.fetch(_PROFILES_OF, [p[0] for p in pairs], [p[1] for p in pairs]) if pairs else []
    return {(r["t"], r["c"]): r["k"] for r in rows}


async def replace(conn: asyncpg.Connection, tenant_id: str, keys: list[str]) -> dict[CounterKey, int]:
    """Recompute the rows of one tenant's profiles ``keys``; returns the counters' change."""
    old = [_activity(tenant_id, r) for r in await conn.fetch(
        "DELETE FROM profile_activity WHERE tenant_id = $1 AND profile_id = ANY($2::text[]) RETURNING first_at, last_day, reach",
        tenant_id, keys)]
    new = [_activity(tenant_id, r) for r in await conn.fetch(_INSERT, tenant_id, keys)] if keys else []
    return deltas(old, new)


# Stretch the rows of profiles to the spans of their new interactions (a new lone customer gets
# its row); returns the rows changed with what they were before (NULL: no row), one statement:
# the outer query reads profile_activity as it was before the CTE's upsert (one snapshot), by
# its primary key (a join of two CTEs would be a nested loop over both: quadratic in the batch).
_STRETCH = """
    WITH new AS (INSERT INTO profile_activity AS p (tenant_id, profile_id, first_at, last_day, reach)
                 SELECT t, k, lo::timestamp AT TIME ZONE 'UTC', hi, '{}'
                 FROM unnest($1::text[], $2::text[], $3::date[], $4::date[]) AS u(t, k, lo, hi)
                 ON CONFLICT (tenant_id, profile_id) DO UPDATE
                 SET first_at = least(p.first_at, EXCLUDED.first_at), last_day = greatest(p.last_day, EXCLUDED.last_day)
                 WHERE p.first_at > EXCLUDED.first_at OR p.last_day IS NULL OR p.last_day < EXCLUDED.last_day
                 RETURNING tenant_id, profile_id, first_at, last_day, reach)
    SELECT new.*, old.first_at AS old_first_at, old.last_day AS old_last_day, old.reach AS old_reach
    FROM new LEFT JOIN profile_activity old USING (tenant_id, profile_id)"""


async def stretch(conn: asyncpg.Connection, spans: Mapping[tuple[str, str], tuple[date, date]]) -> dict[CounterKey, int]:
    """Widen the rows of the profiles ``spans`` names to their (first, last) interaction days
    (under their tenants' locks); returns the counters' change."""
    keys = sorted(spans)
    if not keys:
        return {}
    rows = await conn.fetch(_STRETCH, [k[0] for k in keys], [k[1] for k in keys], [spans[k][0] for k in keys],
                            [spans[k][1] for k in keys])
    return stretched((Activity(r["tenant_id"], r["old_first_at"], r["old_last_day"], tuple(r["old_reach"]))
                      if r["old_first_at"] is not None else None, _activity(r["tenant_id"], r)) for r in rows)


async def add_counters(conn: asyncpg.Connection, change: Mapping[CounterKey, int]) -> None:
    """Add ``change`` to the counters, in one lock order."""
    if change:
        keys = sorted(change)
        await conn.execute("""INSERT INTO overview_counts AS c (tenant_id, metric, key, n)
                              SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
                              ON CONFLICT (tenant_id, metric, key) DO UPDATE SET n = c.n + EXCLUDED.n""",
                           *[[k[i] for k in keys] for i in range(3)], [change[k] for k in keys])


async def refresh_all(conn: asyncpg.Connection, tenant_id: str) -> None:
    """Recompute every row and counter of ``tenant_id`` (in the caller's transaction)."""
    await lock_tenant(conn, tenant_id)
    await conn.execute("DELETE FROM profile_activity WHERE tenant_id = $1", tenant_id)
    await conn.execute("DELETE FROM overview_counts WHERE tenant_id = $1", tenant_id)
    keys = [r[0] for r in await conn.fetch(_ALL_KEYS, tenant_id)]
    await add_counters(conn, await replace(conn, tenant_id, keys))
