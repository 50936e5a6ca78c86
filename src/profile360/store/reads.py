"""Read queries behind the API: plain SQL over the projection tables, always tenant-scoped."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from profile360.store import profiles


@dataclass(frozen=True)
class HistoryFilter:
    tenant_id: str
    customer_id: str | None = None  # a customer id or any identifier of a profile: the whole profile's history
    offer_id: str | None = None
    creative_id: str | None = None
    type: str | None = None


def _where(f: HistoryFilter, customers: list[str] | None) -> tuple[str, list[Any]]:
    clauses, args = ["h.tenant_id = $1"], [f.tenant_id]
    if customers is not None and len(customers) != 1:
        args.append(customers)
        clauses.append(f"h.customer_id = ANY(${len(args)}::text[])")
    for column, value in (("customer_id", customers[0] if customers and len(customers) == 1 else None), ("offer_id", f.offer_id),
                          ("creative_id", f.creative_id), ("interaction_type", f.type)):
        if value is not None:
            args.append(value)
            clauses.append(f"h.{column} = ${len(args)}")
    return " AND ".join(clauses), args


_HISTORY_SELECT = """
SELECT h.event_id, h.customer_id, h.interaction_type, h.occurred_at, h.channel, h.channel_id, h.offer_id,
       h.creative_id, h.campaign_id, h.workflow_id, h.value, h.metadata::text AS metadata,
       o.name AS offer_name, c.name AS creative_name, coalesce(c.channel_id, h.channel_id) AS resolved_channel_id,
       ch.name AS channel_name, ch.medium AS channel_medium
FROM interaction_history h
LEFT JOIN offers o ON o.tenant_id = h.tenant_id AND o.offer_id = h.offer_id
LEFT JOIN creatives c ON c.tenant_id = h.tenant_id AND c.creative_id = h.creative_id
LEFT JOIN channels ch ON ch.tenant_id = h.tenant_id AND ch.channel_id = coalesce(c.channel_id, h.channel_id)
"""


def _total_sql(f: HistoryFilter, customers: list[str] | None, where: str, args: list[Any]) -> str:
    """The total matching the filter, as a scalar subquery that counts no history row where a
    maintained counter holds the answer: a customer's (all of its profile's customer ids), or
    filtered by type, from the per-day buckets of ``customer_daily`` (a few hundred rows for
    years of a busy customer); a tenant's, or filtered by one of offer, creative and type, from
    ``interaction_totals``. Other filters are counted (they are selective). Appends its
    parameters to ``args``."""
    scoped = [(scope, key) for scope, key in (("offer", f.offer_id), ("creative", f.creative_id), ("type", f.type))
              if key is not None]
    if customers is not None and f.offer_id is None and f.creative_id is None:
        args.append(customers)
        clause = f"customer_id = ANY(${len(args)}::text[])"
        if f.type is not None:
            args.append(f.type)
            clause += f" AND type = ${len(args)}"
        return f"(SELECT coalesce(sum(n), 0)::bigint FROM customer_daily WHERE tenant_id = $1 AND {clause})"
    if customers is None and len(scoped) <= 1:
        args += scoped[0] if scoped else ("all", "")
        return (f"coalesce((SELECT n FROM interaction_totals WHERE tenant_id = $1 AND scope = ${len(args) - 1} "
                f"AND key = ${len(args)}), 0)")
    return f"(SELECT count(*) FROM interaction_history h WHERE {where})"


async def history_page(conn: asyncpg.Connection, f: HistoryFilter, after: tuple[datetime, str] | None,
                       limit: int) -> tuple[list[asyncpg.Record], int]:
    """Newest first, keyset-paginated on (occurred_at, event_id); returns up to ``limit + 1``
    rows (the extra one says there is more) and the total matching the filter, both read
    by one statement (one snapshot, one round trip). A customer filter reads the history of
    every customer id of that customer's profile, resolved in the same snapshot."""
    if f.customer_id is None:
        return await _page_and_total(conn, f, None, after, limit)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        customers = await profiles.customer_ids_of(conn, f.tenant_id, f.customer_id)
        return await _page_and_total(conn, f, customers, after, limit)


async def _page_and_total(conn: asyncpg.Connection, f: HistoryFilter, customers: list[str] | None,
                          after: tuple[datetime, str] | None, limit: int) -> tuple[list[asyncpg.Record], int]:
    where, args = _where(f, customers)
    total = _total_sql(f, customers, where, args)
    if after is not None:
        args += [after[0], after[1]]
        where += f" AND (h.occurred_at, h.event_id) < (${len(args) - 1}, ${len(args)})"
    args.append(limit + 1)
    # the total's one row, joined to the page's rows (none: one row of NULLs beside the total)
    rows = await conn.fetch(f"""SELECT t.total, page.* FROM (SELECT {total} AS total) t LEFT JOIN (
                                  {_HISTORY_SELECT} WHERE {where} ORDER BY h.occurred_at DESC, h.event_id DESC
                                  LIMIT ${len(args)}) page ON true
                                ORDER BY page.occurred_at DESC, page.event_id DESC""", *args)
    return [r for r in rows if r["event_id"] is not None], rows[0]["total"]


_COUNTS = """sum(s.impression)::bigint AS impression, sum(s.click)::bigint AS click,
             sum(s.dismiss)::bigint AS dismiss, sum(s.convert)::bigint AS convert"""

_SUMMARY_SQL = {
    "action": f"""
        WITH g AS (SELECT s.key, {_COUNTS} FROM interaction_summary_daily s
                   WHERE s.tenant_id = $1 AND s.dimension = 'action' AND s.day BETWEEN $2 AND $4 GROUP BY s.key)
        SELECT g.*, o.name, o.issue, o."group", o.status, o.priority FROM g
        LEFT JOIN offers o ON o.tenant_id = $1 AND o.offer_id = g.key
        ORDER BY g.impression + g.click + g.dismiss + g.convert DESC, g.key LIMIT $3""",
    "treatment": f"""
        WITH g AS (SELECT s.key, {_COUNTS} FROM interaction_summary_daily s
                   WHERE s.tenant_id = $1 AND s.dimension = 'treatment' AND s.day BETWEEN $2 AND $4 GROUP BY s.key)
        SELECT g.*, c.name, c.offer_id, c.channel_id FROM g
        LEFT JOIN creatives c ON c.tenant_id = $1 AND c.creative_id = g.key
        ORDER BY g.impression + g.click + g.dismiss + g.convert DESC, g.key LIMIT $3""",
    "channel": f"""
        WITH g AS (SELECT s.key, {_COUNTS} FROM interaction_summary_daily s
                   WHERE s.tenant_id = $1 AND s.dimension = 'channel' AND s.day BETWEEN $2 AND $4 GROUP BY s.key)
        SELECT g.*, ch.name, ch.medium FROM g
        LEFT JOIN channels ch ON ch.tenant_id = $1 AND ch.channel_id = g.key
        ORDER BY g.impression + g.click + g.dismiss + g.convert DESC, g.key LIMIT $3""",
}

async def summary(conn: asyncpg.Connection, tenant_id: str, group_by: str, since: date, until: date,
                  limit: int) -> list[asyncpg.Record]:
    """Offers, creatives or channels with counts summed over the days ``since`` to ``until``
    (inclusive), busiest first."""
    return await conn.fetch(_SUMMARY_SQL[group_by], tenant_id, since, limit, until)


async def readiness(conn: asyncpg.Connection) -> dict[str, Any]:
    """Per-consumer progress as stored with the data: partitions, events applied, last write."""
    rows = await conn.fetch("""SELECT consumer, count(*) AS partitions, sum(next_offset)::bigint AS applied_through,
                                      max(updated_at) AS last_applied_at
                               FROM consumer_positions GROUP BY consumer ORDER BY consumer""")
    return {r["consumer"]: {"partitions": r["partitions"], "offsetsApplied": r["applied_through"],
                            "lastAppliedAt": r["last_applied_at"].isoformat() if r["last_applied_at"] else None}
            for r in rows}
