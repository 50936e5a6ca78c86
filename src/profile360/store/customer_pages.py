"""``groupBy=customer`` summaries (seed 001): profiles with their offer-interaction counts over
a window of UTC days, a page at a time in order of their *head* (their least customer id with
offer interactions in the window) or ranked by total.

Cost contract (what keeps a page cheap whatever the number of customers):
- a page's rows are always counted from its own profiles' ``customer_daily`` rows;
- which profiles make the page comes from ``profile_windows`` (``store.windows``) for windows of
  ``windows.WINDOWS`` days ending on the tenant's base day: one index range;
- ``sort=total`` over any other window inside the longest maintained one reads candidates in
  order of their longest-window total, an upper bound of any shorter window's, and stops when
  no candidate left can enter the top (``_ranked_within``);
- otherwise pages walk ``customer_daily`` in customer order, and ``sort=total`` aggregates
  every customer of the window (slow for many).
"""
from __future__ import annotations

from datetime import date

import asyncpg

from profile360.store import windows

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
# would multiply them). Each customer's rows are one range of customer_daily's primary key
# (a LATERAL subquery kept apart by OFFSET 0, so the planner cannot flatten it: whatever the
# table's statistics say, the plan cannot become a scan of the tenant's window joined to the
# page afterwards, which took 0.5 s at 20,000 customers before an ANALYZE).
_PAGE = f"""
    WITH heads AS (SELECT * FROM unnest($4::text[], $5::text[]) AS h(head, key)),
         members AS (SELECT h.head, h.key, coalesce(substr(m.key, 13), h.head) AS customer_id FROM heads h
                     LEFT JOIN identity_nodes m ON m.tenant_id = $1 AND m.profile_id = h.key
                                               AND m.key LIKE 'customer\\_id:%'),
         rows AS MATERIALIZED (
             SELECT mb.head, mb.key, s.type, s.n, s.offers FROM members mb
             CROSS JOIN LATERAL (SELECT s.type, s.n, s.offers FROM customer_daily s
                                 WHERE s.tenant_id = $1 AND s.customer_id = mb.customer_id AND {_IN_WINDOW}
                                 OFFSET 0) s),
         page AS (SELECT s.head, s.key, {_BUCKET_COUNTS} FROM rows s GROUP BY s.head, s.key),
         u AS (SELECT d.head, count(*) AS unique_actions FROM (  -- distinct pairs hash; count(DISTINCT) sorts
                 SELECT DISTINCT r.head, o.offer FROM rows r CROSS JOIN LATERAL unnest(r.offers) AS o(offer)) d
               GROUP BY d.head)
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


async def customer_summary(conn: asyncpg.Connection, tenant_id: str, since: date, until: date, limit: int,
                           after: str | None, by_total: bool) -> list[asyncpg.Record]:
    """Profiles with counts over the days ``since`` to ``until``, summed over all of their
    customer ids (a merged profile is one row, under its profile id): in order of their first
    customer id with interactions in the window, after ``after``, or ranked by total (then
    profile id). Rows carry ``head``, the position to pass as ``after`` for the next page.
    What each window costs: the module's contract."""
    days = (until - since).days + 1
    heads = await _maintained(conn, tenant_id, days, until, limit, after, by_total) if windows.served(days) else None
    if heads is None and by_total:
        ranked = await _ranked_within(conn, tenant_id, since, until, limit)
        if ranked is not None:
            return ranked
        heads = [(r["head"], r["key"]) for r in await conn.fetch(_RANKED, tenant_id, since, until, limit)]
    elif heads is None:
        heads = await _heads(conn, tenant_id, since, until, after or "", limit)
    rows = await conn.fetch(_PAGE, tenant_id, since, until, [h for h, _ in heads], [k for _, k in heads]) if heads else []
    return sorted(rows, key=_busiest if by_total else _head)


def _busiest(r: asyncpg.Record) -> tuple[int, str]:
    return -(r["impression"] + r["click"] + r["dismiss"] + r["convert"]), r["key"]


def _head(r: asyncpg.Record) -> str:
    return r["head"]


#: candidates read per step of ``_ranked_within``
CANDIDATES = 200

# the next candidates by their longest-window total, after ($3 total, $4 profile id) in that order
_BY_BOUND = """SELECT head, profile_id AS key, total FROM profile_windows
               WHERE tenant_id = $1 AND days = $2 AND (total < $3 OR (total = $3 AND profile_id > $4))
               ORDER BY total DESC, profile_id LIMIT $5"""


async def _ranked_within(conn: asyncpg.Connection, tenant_id: str, since: date, until: date,
                         limit: int) -> list[asyncpg.Record] | None:
    """The top ``limit`` profiles by total over ``since``..``until``, exact, when that window lies
    inside the longest maintained one (else None). Candidates come in order of their total over
    the longest window (no sub-window counts more) and are counted a step at a time; once the
    ``limit``-th best counted total exceeds the next candidate's bound, nobody left can enter."""
    as_of = await windows.base_of(conn, tenant_id)
    if as_of is None or not (windows.window_of(as_of, max(windows.WINDOWS))[0] <= since and until <= as_of):
        return None
    best: list[asyncpg.Record] = []
    after: tuple[int, str] = (2**62, "")
    while True:
        chunk = await conn.fetch(_BY_BOUND, tenant_id, max(windows.WINDOWS), *after, CANDIDATES)
        if chunk:
            best = sorted(best + await conn.fetch(_PAGE, tenant_id, since, until, [r["head"] for r in chunk],
                                                  [r["key"] for r in chunk]), key=_busiest)[:limit]
        if len(chunk) < CANDIDATES or (len(best) == limit and -_busiest(best[-1])[0] > chunk[-1]["total"]):
            return best
        after = (chunk[-1]["total"], chunk[-1]["key"])
