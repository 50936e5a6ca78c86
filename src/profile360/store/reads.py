"""Read queries behind the API: plain SQL over the projection tables, always tenant-scoped."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from profile360.store import profiles, windows


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

_OFFER_TYPES = "('impression', 'click', 'dismiss', 'convert')"
_BUCKET_COUNTS = ", ".join(f"coalesce(sum(s.n) FILTER (WHERE s.type = '{t}'), 0)::bigint AS {t}"
                           for t in ("impression", "click", "dismiss", "convert"))


_IN_WINDOW = f"s.day BETWEEN $2 AND $3 AND s.type IN {_OFFER_TYPES}"
_NODE = "identity_nodes n ON n.tenant_id = $1 AND n.key = 'customer_id:' || {}"

# Customers with offer interactions in the window, in id order after $4, at most $5 (the
# LIMIT inside keeps the primary-key scan streaming), each with its profile and whether it is
# the profile's *head*: no other customer id of its profile sorts before it and has offer
# interactions in the window. Paging heads in id order lists every profile once.
_CANDIDATES = f"""
    SELECT c.customer_id AS head, coalesce(n.profile_id, c.customer_id) AS key,
           n.profile_id IS NULL OR NOT EXISTS (
               SELECT 1 FROM identity_nodes m JOIN customer_daily s
                 ON s.tenant_id = $1 AND s.customer_id = substr(m.key, 13) AND {_IN_WINDOW}
               WHERE m.tenant_id = $1 AND m.profile_id = n.profile_id AND m.key LIKE 'customer\\_id:%'
                 AND m.key < n.key) AS is_head
    FROM (SELECT s.customer_id FROM customer_daily s WHERE s.tenant_id = $1 AND s.customer_id > $4 AND {_IN_WINDOW}
          GROUP BY s.customer_id ORDER BY s.customer_id LIMIT $5) c
    LEFT JOIN {_NODE.format("c.customer_id")} ORDER BY c.customer_id"""

# every profile, ranked by its total over all of its customer ids (reads every customer)
_RANKED = f"""
    SELECT min(s.customer_id) AS head, coalesce(n.profile_id, s.customer_id) AS key
    FROM customer_daily s LEFT JOIN {_NODE.format("s.customer_id")}
    WHERE s.tenant_id = $1 AND {_IN_WINDOW} GROUP BY 2 ORDER BY sum(s.n) DESC, 2 LIMIT $4"""

# The page's profiles ($4 heads, $5 profile ids), each with the offer-interaction counts of all
# of its customer ids, then their distinct offers (kept apart: unnesting offers beside the sums
# would multiply them)
_PAGE = f"""
    WITH heads AS (SELECT * FROM unnest($4::text[], $5::text[]) AS h(head, key)),
         members AS (SELECT h.head, h.key, coalesce(substr(m.key, 13), h.head) AS customer_id FROM heads h
                     LEFT JOIN identity_nodes m ON m.tenant_id = $1 AND m.profile_id = h.key
                                               AND m.key LIKE 'customer\\_id:%'),
         page AS (SELECT mb.head, mb.key, {_BUCKET_COUNTS} FROM members mb
                  JOIN customer_daily s ON s.tenant_id = $1 AND s.customer_id = mb.customer_id AND {_IN_WINDOW}
                  GROUP BY mb.head, mb.key),
         u AS (SELECT d.head, count(*) AS unique_actions FROM (  -- distinct pairs hash; count(DISTINCT) sorts
                 SELECT DISTINCT mb.head, o.offer FROM members mb
                 JOIN customer_daily s ON s.tenant_id = $1 AND s.customer_id = mb.customer_id AND {_IN_WINDOW}
                 CROSS JOIN LATERAL unnest(s.offers) AS o(offer)) d GROUP BY d.head)
    SELECT page.*, coalesce(u.unique_actions, 0) AS unique_actions FROM page LEFT JOIN u USING (head)"""


async def _heads(conn: asyncpg.Connection, tenant_id: str, since: date, until: date, after: str,
                 limit: int) -> list[tuple[str, str]]:
    """(head, profile id) of the next ``limit`` profiles after ``after``, reading candidates in
    chunks (customers merged into an earlier head are skipped)."""
    heads: list[tuple[str, str]] = []
    while len(heads) < limit:
        rows = await conn.fetch(_CANDIDATES, tenant_id, since, until, after, max(limit, 100))
        heads += [(r["head"], r["key"]) for r in rows if r["is_head"]][:limit - len(heads)]
        if len(rows) < max(limit, 100):
            break
        after = rows[-1]["head"]
    return heads


async def summary(conn: asyncpg.Connection, tenant_id: str, group_by: str, since: date, until: date,
                  limit: int) -> list[asyncpg.Record]:
    """Offers, creatives or channels with counts summed over the days ``since`` to ``until``
    (inclusive), busiest first."""
    return await conn.fetch(_SUMMARY_SQL[group_by], tenant_id, since, limit, until)


# The heads and profiles of a page of the maintained windows (store/windows.py), in one
# statement: the tenant's base day, and the rows only if the windows end on $5 (else one row of
# NULLs beside the base)
_MAINTAINED = """
    SELECT b.as_of, p.* FROM (SELECT (SELECT as_of FROM window_bases WHERE tenant_id = $1) AS as_of) b
    LEFT JOIN LATERAL (SELECT head, profile_id AS key FROM profile_windows
                       WHERE tenant_id = $1 AND days = $2 AND {where} ORDER BY {order} LIMIT $4) p ON b.as_of = $5"""
_BY_HEAD = _MAINTAINED.format(where="head > $3", order="head")
_BY_TOTAL = _MAINTAINED.format(where="$3::text IS NULL", order="total DESC, profile_id")


async def _maintained(conn: asyncpg.Connection, tenant_id: str, days: int, until: date, limit: int,
                      after: str | None, by_total: bool) -> list[tuple[str, str]] | None:
    """(head, profile id) of the page from the maintained windows, or None when they do not end on ``until``."""
    rows = await conn.fetch(_BY_TOTAL if by_total else _BY_HEAD, tenant_id, days, None if by_total else after or "",
                            limit, until)
    return [(r["head"], r["key"]) for r in rows if r["key"] is not None] if rows[0]["as_of"] == until else None


async def _page_heads(conn: asyncpg.Connection, tenant_id: str, since: date, until: date, limit: int,
                      after: str | None, by_total: bool) -> list[tuple[str, str]]:
    days = (until - since).days + 1
    heads = await _maintained(conn, tenant_id, days, until, limit, after, by_total) if windows.served(days) else None
    if heads is not None:
        return heads
    if by_total:
        return [(r["head"], r["key"]) for r in await conn.fetch(_RANKED, tenant_id, since, until, limit)]
    return await _heads(conn, tenant_id, since, until, after or "", limit)


async def customer_summary(conn: asyncpg.Connection, tenant_id: str, since: date, until: date, limit: int,
                           after: str | None, by_total: bool) -> list[asyncpg.Record]:
    """Profiles with counts over the days ``since`` to ``until``, summed over all of their
    customer ids (a merged profile is one row, under its profile id): in order of their first
    customer id with interactions in the window, after ``after``, or ranked by total (then
    profile id). Rows carry ``head``, the position to pass as ``after`` for the next page.

    Windows of ``windows.WINDOWS`` days ending on the tenant's maintained base day (today,
    once the worker has rebased) take the page's profiles from one indexed range of
    ``profile_windows``; other windows find them in ``customer_daily`` (``sort=total`` then
    aggregates every customer of the window: slow for many). Either way the page's rows are
    counted from its own customers' ``customer_daily`` rows (bounded work)."""
    heads = await _page_heads(conn, tenant_id, since, until, limit, after, by_total)
    rows = await conn.fetch(_PAGE, tenant_id, since, until, [h for h, _ in heads], [k for _, k in heads]) if heads else []
    return sorted(rows, key=_busiest if by_total else _head)


def _busiest(r: asyncpg.Record) -> tuple[int, str]:
    return -(r["impression"] + r["click"] + r["dismiss"] + r["convert"]), r["key"]


def _head(r: asyncpg.Record) -> str:
    return r["head"]


async def readiness(conn: asyncpg.Connection) -> dict[str, Any]:
    """Per-consumer progress as stored with the data: partitions, events applied, last write."""
    rows = await conn.fetch("""SELECT consumer, count(*) AS partitions, sum(next_offset)::bigint AS applied_through,
                                      max(updated_at) AS last_applied_at
                               FROM consumer_positions GROUP BY consumer ORDER BY consumer""")
    return {r["consumer"]: {"partitions": r["partitions"], "offsetsApplied": r["applied_through"],
                            "lastAppliedAt": r["last_applied_at"].isoformat() if r["last_applied_at"] else None}
            for r in rows}
