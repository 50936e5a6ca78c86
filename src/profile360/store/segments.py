"""Segment definitions and membership, written inside the worker's batch transaction.

Contract:
- Definitions keep their last writer per segment id. A deleted segment loses its members and
  count at once; a new or changed rule re-evaluates every profile of the tenant.
- After a batch, the profiles it touched (the profiles of its interactions' customers, and
  every profile an identity batch regrouped, old ids included) are re-evaluated against the
  tenant's live segments; members and ``segment_counts`` change in the same transaction, under
  the tenant's lock (the one identity changes take), so concurrent writers never interleave.
- ``member_since`` is a function of the data, not of when the worker ran: the latest of the
  rule's version time, the times of the trait, tag and consent facts the rule reads, and the
  profile's first event. A replay or a rebuild gives the same value.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

import asyncpg

from profile360.events.definitions import SegmentDefined
from profile360.projections import lww, rule_syntax, segment_rules
from profile360.store import definitions
from profile360.store.identity import lock_tenant
from profile360.store.subjects import load_subjects

CHUNK = 1000


@dataclass(frozen=True)
class Segment:
    segment_id: str
    rule: rule_syntax.Rule
    occurred_at: datetime


async def apply_segment_definitions(conn: asyncpg.Connection, events: Sequence[SegmentDefined]) -> set[str]:
    """Store the winners; returns the tenants whose segments changed."""
    won = lww.winners(events, lambda e: (e.tenant_id, e.segment_id))
    changed = set()
    for (tenant_id, segment_id), e in sorted(won.items()):
        status = await conn.execute(
            """INSERT INTO segment_definitions AS d (tenant_id, segment_id, name, rule, description, version, deleted,
                                                    windowed, occurred_at, event_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (tenant_id, segment_id) DO UPDATE SET name = EXCLUDED.name, rule = EXCLUDED.rule,
                 description = EXCLUDED.description, version = EXCLUDED.version, deleted = EXCLUDED.deleted,
                 windowed = EXCLUDED.windowed, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
               WHERE (d.occurred_at, d.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)""",
            tenant_id, segment_id, e.name, e.rule, e.description, e.version, e.deleted,
            rule_syntax.windowed(rule_syntax.parse(e.rule)), e.occurred_at, e.event_id)
        if status.endswith(" 1"):
            changed.add(tenant_id)
            await lock_tenant(conn, tenant_id)
            await conn.execute("DELETE FROM segment_members WHERE tenant_id = $1 AND segment_id = $2", tenant_id, segment_id)
            await conn.execute("DELETE FROM segment_counts WHERE tenant_id = $1 AND segment_id = $2", tenant_id, segment_id)
    return changed


async def live_segments(conn: asyncpg.Connection, tenant_id: str, windowed_only: bool = False) -> list[Segment]:
    rows = await conn.fetch("""SELECT segment_id, rule, occurred_at FROM segment_definitions
                               WHERE tenant_id = $1 AND NOT deleted AND (windowed OR NOT $2) ORDER BY segment_id""",
                            tenant_id, windowed_only)
    return [Segment(r["segment_id"], rule_syntax.parse(r["rule"]), r["occurred_at"]) for r in rows]


async def tenants_with_segments(conn: asyncpg.Connection, tenants: Iterable[str]) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT tenant_id FROM segment_definitions WHERE tenant_id = ANY($1::text[]) "
                            "AND NOT deleted ORDER BY tenant_id", sorted(set(tenants)))
    return [r["tenant_id"] for r in rows]


async def profiles_of_customers(conn: asyncpg.Connection, tenant_id: str, customer_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(customer_ids))
    rows = await conn.fetch("SELECT key, profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[])",
                            tenant_id, ["customer_id:" + c for c in ids])
    merged = {r["key"][len("customer_id:"):]: r["profile_id"] for r in rows}
    return {merged.get(c, c) for c in ids}


async def all_profiles(conn: asyncpg.Connection, tenant_id: str) -> list[str]:
    rows = await conn.fetch(
        """SELECT profile_id AS p FROM identity_nodes WHERE tenant_id = $1
           UNION SELECT DISTINCT c.customer_id FROM customer_daily c WHERE c.tenant_id = $1 AND NOT EXISTS
             (SELECT 1 FROM identity_nodes n WHERE n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id)
           ORDER BY 1""", tenant_id)
    return [r["p"] for r in rows]


async def _everyone(conn: asyncpg.Connection, tenant_id: str) -> set[str]:
    """Every profile, and every profile id that still holds a membership (merged away ones too)."""
    held = await conn.fetch("SELECT DISTINCT profile_id FROM segment_members WHERE tenant_id = $1", tenant_id)
    return set(await all_profiles(conn, tenant_id)) | {r["profile_id"] for r in held}


async def refresh(conn: asyncpg.Connection, tenant_id: str, profile_ids: Iterable[str] | None,
                  windowed_only: bool = False) -> None:
    """Re-evaluate the tenant's live segments for ``profile_ids`` (None: every profile)."""
    await lock_tenant(conn, tenant_id)
    segs = await live_segments(conn, tenant_id, windowed_only)
    if not segs:
        return
    # the loads below take arrays of a different size each time: a cached generic plan was
    # measured to flip between index and sequential scans; plan them per call until commit
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    pids = sorted(set(profile_ids) if profile_ids is not None else await _everyone(conn, tenant_id))
    rules = [s.rule for s in segs]
    metrics = await definitions.metrics_of(conn, tenant_id)
    today = datetime.now(timezone.utc).date()
    for i in range(0, len(pids), CHUNK):
        chunk = pids[i:i + CHUNK]
        subjects = await load_subjects(conn, tenant_id, chunk, rules, metrics, today)
        desired = {(s.segment_id, pid): max(s.occurred_at, since(s.rule))
                   for pid, (subject, since) in subjects.items() for s in segs
                   if segment_rules.evaluate(s.rule, subject)}
        await _write(conn, tenant_id, chunk, [s.segment_id for s in segs], desired)


async def forget(conn: asyncpg.Connection, tenant_id: str, profile_ids: Iterable[str]) -> int:
    """Remove every membership of ``profile_ids`` (counts follow); returns how many."""
    segs = await live_segments(conn, tenant_id)
    pids = sorted(set(profile_ids))
    if not segs or not pids:
        return 0
    n = await conn.fetchval("SELECT count(*) FROM segment_members WHERE tenant_id = $1 AND profile_id = ANY($2::text[])",
                            tenant_id, pids)
    await _write(conn, tenant_id, pids, [s.segment_id for s in segs], {})
    return n


async def _write(conn: asyncpg.Connection, tenant_id: str, pids: list[str], segment_ids: list[str],
                 desired: dict[tuple[str, str], datetime]) -> None:
    rows = await conn.fetch("""SELECT segment_id, profile_id, member_since FROM segment_members
                               WHERE tenant_id = $1 AND profile_id = ANY($2::text[]) AND segment_id = ANY($3::text[])""",
                            tenant_id, pids, segment_ids)
    existing = {(r["segment_id"], r["profile_id"]): r["member_since"] for r in rows}
    gone = sorted(set(existing) - set(desired))
    changed = sorted(k for k, v in desired.items() if existing.get(k) != v)
    if gone:
        await conn.execute("""DELETE FROM segment_members m USING unnest($2::text[], $3::text[]) AS u(s, p)
                              WHERE m.tenant_id = $1 AND m.segment_id = u.s AND m.profile_id = u.p""",
                           tenant_id, [s for s, _ in gone], [p for _, p in gone])
    if changed:
        await conn.execute("""INSERT INTO segment_members (tenant_id, segment_id, profile_id, member_since)
                              SELECT $1, * FROM unnest($2::text[], $3::text[], $4::timestamptz[])
                              ON CONFLICT (tenant_id, segment_id, profile_id) DO UPDATE SET member_since = EXCLUDED.member_since""",
                           tenant_id, [s for s, _ in changed], [p for _, p in changed], [desired[k] for k in changed])
    delta: dict[str, int] = {}
    for s, p in gone:
        delta[s] = delta.get(s, 0) - 1
    for s, p in changed:
        if (s, p) not in existing:
            delta[s] = delta.get(s, 0) + 1
    if delta:
        await _add_counts(conn, tenant_id, delta)


async def _add_counts(conn: asyncpg.Connection, tenant_id: str, delta: dict[str, int]) -> None:
    """Add to the counts (the caller holds the tenant lock: no one else inserts count rows)."""
    keys, values = sorted(delta), [delta[k] for k in sorted(delta)]
    await conn.execute("""UPDATE segment_counts c SET members = c.members + u.d FROM unnest($2::text[], $3::bigint[]) AS u(s, d)
                          WHERE c.tenant_id = $1 AND c.segment_id = u.s""", tenant_id, keys, values)
    await conn.execute("""INSERT INTO segment_counts (tenant_id, segment_id, members)
                          SELECT $1, u.s, u.d FROM unnest($2::text[], $3::bigint[]) AS u(s, d)
                          WHERE NOT EXISTS (SELECT 1 FROM segment_counts c WHERE c.tenant_id = $1 AND c.segment_id = u.s)""",
                       tenant_id, keys, values)
