"""Maintained per-profile windows behind ``groupBy=customer`` summaries (seed 001) for the
windows callers name most (``WINDOWS`` days): one ``profile_windows`` row per profile with
offer interactions in the window, holding what orders the pages (``head``, ``total``), indexed
for the page order and for ``sort=total``; a page counts its own profiles' interactions.

Contract:
- Every row of a tenant is computed for windows ending on the tenant's ``window_bases.as_of``
  (UTC): a row is a function of ``customer_daily`` and ``identity_nodes`` (the profile's
  customer ids) on that day, exactly what ``customer_pages.customer_summary`` counts.
- The worker keeps the rows in its batch transaction, under the tenant's identity lock:
  ``rebase`` first moves ``as_of`` to today (recomputing only the profiles whose rows a new
  day changes: rows with a day leaving some window, and profiles with activity after the old
  ``as_of``, found through ``profile_activity.last_day``), then ``replace`` recomputes the
  profiles the batch touched. A tenant without a base is computed whole on first use. An idle
  worker rebases stale tenants too (``schedule.rebase_windows``), so no nightly job races with reads.
- A reader uses the rows only when ``as_of`` is its own today, else it counts (correct, slower).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable

import asyncpg
from profile360.events.model import OFFER_TYPES
from profile360.projections.window_deltas import WINDOWS, WindowDelta, WindowKey
from profile360.store.identity import lock_tenant
from profile360.store.overview_counters import MEMBERS

_TYPES = "(" + ", ".join(f"'{t}'" for t in OFFER_TYPES) + ")"
_COLUMNS = "tenant_id, days, profile_id, head, total, first_day"

_INSERT = f"""
    WITH keys AS (SELECT DISTINCT k FROM unnest($2::text[]) AS k)
    INSERT INTO profile_windows ({_COLUMNS})
    SELECT $1, w.days, keys.k, min(s.customer_id), sum(s.n), min(s.day)
    FROM keys, LATERAL {MEMBERS.format(k="keys.k")} m
    JOIN customer_daily s ON s.tenant_id = $1 AND s.customer_id = m.customer_id
                         AND s.day BETWEEN $3::date - {max(WINDOWS) - 1} AND $3::date AND s.type IN {_TYPES}
    JOIN unnest($4::int[]) AS w(days) ON s.day > $3::date - w.days
    GROUP BY w.days, keys.k"""


async def replace(conn: asyncpg.Connection, tenant_id: str, keys: Iterable[str]) -> None:
    """Recompute the rows of the profiles ``keys`` (under the tenant's lock; after ``rebase``)."""
    keys = sorted(set(keys))
    as_of = await conn.fetchval("SELECT as_of FROM window_bases WHERE tenant_id = $1", tenant_id)
    if keys and as_of is not None:
        await conn.execute("DELETE FROM profile_windows WHERE tenant_id = $1 AND profile_id = ANY($2::text[])", tenant_id, keys)
        await conn.execute(_INSERT, tenant_id, keys, as_of, list(WINDOWS))


_MOVED = """SELECT profile_id FROM profile_windows w WHERE tenant_id = $1 AND first_day <= $3::date - days
             UNION SELECT profile_id FROM profile_activity WHERE tenant_id = $1 AND last_day > $2"""
_ALL = f"""SELECT profile_id FROM profile_activity WHERE tenant_id = $1 AND last_day > $2::date - {max(WINDOWS)}"""


async def rebase(conn: asyncpg.Connection, tenant_id: str, today: date) -> tuple[date, set[str]]:
    """Move the tenant's windows to end on ``today`` (never back), under its lock; returns the
    day they end on and the profiles whose rows it recomputed (every profile with activity in the longest window, when
    the tenant had no base), from ``profile_activity`` as it stands: call it after that is kept."""
    await lock_tenant(conn, tenant_id)
    as_of = await conn.fetchval("SELECT as_of FROM window_bases WHERE tenant_id = $1", tenant_id)
    if as_of is not None and as_of >= today:
        return as_of, set()
    if as_of is None:
        await conn.execute("DELETE FROM profile_windows WHERE tenant_id = $1", tenant_id)
        keys = [r[0] for r in await conn.fetch(_ALL, tenant_id, today)]
    else:
        keys = [r[0] for r in await conn.fetch(_MOVED, tenant_id, as_of, today)]
    await conn.execute("""INSERT INTO window_bases (tenant_id, as_of) VALUES ($1, $2)
                          ON CONFLICT (tenant_id) DO UPDATE SET as_of = EXCLUDED.as_of""", tenant_id, today)
    await replace(conn, tenant_id, keys)
    return today, set(keys)


# sums and least: the row a recount gives (see projections.window_deltas)
_ADD = f"""
    INSERT INTO profile_windows AS w ({_COLUMNS})
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::date[])
    ON CONFLICT (tenant_id, days, profile_id) DO UPDATE SET
        head = least(w.head, EXCLUDED.head), total = w.total + EXCLUDED.total,
        first_day = least(w.first_day, EXCLUDED.first_day)"""


async def add(conn: asyncpg.Connection, deltas: dict[WindowKey, WindowDelta]) -> None:
    """Add ``deltas`` to the rows (in key order; under the tenants' locks, after ``rebase``)."""
    keys = sorted(deltas)
    if keys:
        ds = [deltas[k] for k in keys]
        await conn.execute(_ADD, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                           [d.head for d in ds], [d.total for d in ds], [d.first_day for d in ds])


async def stale(conn: asyncpg.Connection, today: date) -> list[str]:
    """The tenants whose windows end before ``today``."""
    return [r[0] for r in await conn.fetch("SELECT tenant_id FROM window_bases WHERE as_of < $1 ORDER BY 1", today)]


async def base_of(conn: asyncpg.Connection, tenant_id: str) -> date | None:
    return await conn.fetchval("SELECT as_of FROM window_bases WHERE tenant_id = $1", tenant_id)


def served(days: int) -> bool:
    return days in WINDOWS


def window_of(as_of: date, days: int) -> tuple[date, date]:
    return as_of - timedelta(days=days - 1), as_of
