"""The derived counting tables of a batch (``generations.PROJECTIONS["overview"]``): overview
rows and counters (``overview_counters``) and summary windows (``windows``), kept in the batch
transaction under the tenant locks the writer holds (``apply_profile_side`` takes them for every
tenant with identity changes or new interactions, erasures for theirs).

Two paths, so a batch that only adds interactions stays cheap:
- profiles whose identity changed (merge, unmerge, regroup, erasure: the ids the writer reports,
  old and new) are recomputed from the base tables;
- every other profile with new interactions gets commutative deltas
  (``projections.window_deltas``), one upsert per table; a profile whose windows a new day
  recomputed (``windows.rebase``) already counts them and gets no window delta.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone
from typing import Iterable, Mapping, Sequence

import asyncpg

from profile360.events.model import Interaction
from profile360.projections.window_deltas import activity_spans, window_deltas
from profile360.store import overview_counters, windows


def _union(touched: Iterable[Mapping[str, set[str]]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in touched:
        for tenant_id, pids in m.items():
            out.setdefault(tenant_id, set()).update(pids)
    return out


async def refresh(conn: asyncpg.Connection, touched: Iterable[Mapping[str, set[str]]], fresh: Sequence[Interaction],
                  moved: set[tuple[str, str]], today: date | None = None) -> None:
    """Keep the derived rows after the batch's base rows are written: recompute the ``touched``
    profiles (tenant -> profile ids whose identity changed, from each mapping), add the deltas of
    the ``fresh`` interactions of every other profile; windows end ``today`` (UTC, default now).
    ``moved`` holds the (tenant, customer id)s whose first or last interaction day the batch
    moved: only their profiles' activity rows can widen."""
    today = today or datetime.now(timezone.utc).date()
    full = _union(touched)  # a customer's first node starts as the profile of its bare id: its lone row is in
    key = await overview_counters.profiles_of(conn, ((e.tenant_id, e.customer_id) for e in fresh))
    profile_of = lambda e: key[(e.tenant_id, e.customer_id)]  # noqa: E731
    added = [e for e in fresh if profile_of(e) not in full.get(e.tenant_id, ())]
    change: Counter = Counter()
    for tenant_id, keys in sorted(full.items()):
        change.update(await overview_counters.replace(conn, tenant_id, sorted(keys)))
    widening = [e for e in added if (e.tenant_id, e.customer_id) in moved]
    change.update(await overview_counters.stretch(conn, activity_spans(widening, profile_of)))
    as_of: dict[str, date] = {}
    for tenant_id in sorted(set(full) | {e.tenant_id for e in fresh}):
        as_of[tenant_id], rebased = await windows.rebase(conn, tenant_id, today)
        await windows.replace(conn, tenant_id, full.get(tenant_id, set()) - rebased)
        added = [e for e in added if e.tenant_id != tenant_id or profile_of(e) not in rebased]
    await windows.add(conn, window_deltas(added, profile_of, as_of))
    await overview_counters.add_counters(conn, {k: n for k, n in change.items() if n})


async def refresh_all(conn: asyncpg.Connection, tenant_id: str, today: date | None = None) -> None:
    """Recompute every derived row of ``tenant_id`` (the end of a rebuild)."""
    await overview_counters.refresh_all(conn, tenant_id)
    await conn.execute("DELETE FROM window_bases WHERE tenant_id = $1", tenant_id)
    await windows.rebase(conn, tenant_id, today or datetime.now(timezone.utc).date())
