"""The derived counting tables of a batch (``generations.PROJECTIONS["overview"]``): after the
batch's base rows are written, the profiles it touched get their overview row
(``overview_counters``) and window rows (``windows``) recomputed, in the batch transaction,
under the tenant locks the writer holds."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Iterable, Mapping, Sequence

import asyncpg

from profile360.events.model import Interaction
from profile360.projections.overview import CounterKey
from profile360.store import overview_counters, windows


async def refresh(conn: asyncpg.Connection, touched: Iterable[Mapping[str, set[str]]], fresh: Sequence[Interaction],
                  today: date | None = None) -> None:
    """Recompute the rows of the ``touched`` profiles (tenant -> profile ids, from each mapping)
    and of the profiles of the customers with ``fresh`` interactions; windows end ``today``
    (UTC, default now)."""
    today = today or datetime.now(timezone.utc).date()
    profiles: dict[str, set[str]] = {}
    for m in touched:
        for tenant_id, pids in m.items():
            profiles.setdefault(tenant_id, set()).update(pids)
    customers: dict[str, set[str]] = {}
    for e in fresh:
        customers.setdefault(e.tenant_id, set()).add(e.customer_id)
    change: dict[CounterKey, int] = {}
    for tenant_id in sorted(set(profiles) | set(customers)):
        keys = await overview_counters.keys_of(conn, tenant_id, profiles.get(tenant_id, ()), customers.get(tenant_id, ()))
        for k, n in (await overview_counters.replace(conn, tenant_id, keys)).items():
            change[k] = change.get(k, 0) + n
        await windows.rebase(conn, tenant_id, today)
        await windows.replace(conn, tenant_id, keys)
    await overview_counters.add_counters(conn, change)


async def refresh_all(conn: asyncpg.Connection, tenant_id: str, today: date | None = None) -> None:
    """Recompute every derived row of ``tenant_id`` (the end of a rebuild)."""
    await overview_counters.refresh_all(conn, tenant_id)
    await conn.execute("DELETE FROM window_bases WHERE tenant_id = $1", tenant_id)
    await windows.rebase(conn, tenant_id, today or datetime.now(timezone.utc).date())
