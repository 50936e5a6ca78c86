"""Read queries behind seed 000's Customer 360 overview: counts of profiles, not of customer ids
(identifiers merged into one profile count once)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
import orjson

from profile360.store.overview_counters import MEMBERS

# One statement over the tenant's few counter rows (no profile is read). Active profiles: those
# whose last interaction day is in the window, plus the rare ones whose last day lies after it
# (future-dated events) and that have an interaction in the window too.
_COUNTS = f"""
    SELECT coalesce(sum(n) FILTER (WHERE metric = 'contacts'), 0)::bigint AS total,
           coalesce(sum(n) FILTER (WHERE metric = 'first_month' AND key >= $2), 0)::bigint AS new,
           coalesce(sum(n) FILTER (WHERE metric = 'last_day' AND key BETWEEN $3 AND $4), 0)::bigint + (
               SELECT count(*) FROM profile_activity p WHERE p.tenant_id = $1 AND p.last_day > $4::date
                 AND EXISTS (SELECT 1 FROM {MEMBERS.format(k="p.profile_id")} m JOIN customer_daily s
                             ON s.tenant_id = $1 AND s.customer_id = m.customer_id
                             AND s.day BETWEEN $3::date AND $4::date)) AS active,
           coalesce(jsonb_object_agg(key, n) FILTER (WHERE metric = 'reach' AND n > 0), '{{}}')::text AS reach
    FROM overview_counts WHERE tenant_id = $1"""


@dataclass(frozen=True)
class Counts:
    total: int  # every profile
    new: int  # profiles whose first event is in or after the month
    active: int  # profiles with an interaction in the window
    reach: dict[str, int]  # per channel, profiles whose latest marketing consent is granted


async def counts(conn: asyncpg.Connection, tenant_id: str, month_start: date, since: date, until: date) -> Counts:
    """The overview's counts from the maintained counters (``store.overview_counters``):
    profiles first seen from ``month_start`` (a month's first day, UTC) on, and profiles with
    an interaction from ``since`` to ``until`` (UTC days, inclusive)."""
    r = await conn.fetchrow(_COUNTS, tenant_id, month_start.strftime("%Y-%m"), since.isoformat(), until.isoformat())
    return Counts(r["total"], r["new"], r["active"], orjson.loads(r["reach"]))


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
