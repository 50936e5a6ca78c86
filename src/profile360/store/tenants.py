"""Tenant settings (TenantConfigured events): last writer wins per tenant, read with defaults."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import asyncpg

from profile360.events.definitions import TenantConfigured
from profile360.projections import lww
from profile360.projections.identity import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class TenantSettings:
    tenant_id: str
    is_customer360: bool = False
    link_threshold: float = DEFAULT_THRESHOLD
    default_region: str | None = None


async def apply_tenant_settings(conn: asyncpg.Connection, events: Sequence[TenantConfigured]) -> set[str]:
    """Store the winners; returns the tenants whose link threshold changed (their profiles must
    be regrouped)."""
    won = lww.winners(events, lambda e: e.tenant_id)
    changed = set()
    for tenant_id, e in sorted(won.items()):
        before = (await settings_of(conn, [tenant_id]))[tenant_id].link_threshold
        await conn.execute(
            """INSERT INTO tenant_settings AS t (tenant_id, is_customer360, link_threshold, default_region, occurred_at, event_id)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant_id) DO UPDATE SET is_customer360 = EXCLUDED.is_customer360,
                 link_threshold = EXCLUDED.link_threshold, default_region = EXCLUDED.default_region,
                 occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
               WHERE (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)""",
            tenant_id, e.is_customer360, e.link_threshold, e.default_region, e.occurred_at, e.event_id)
        if (await settings_of(conn, [tenant_id]))[tenant_id].link_threshold != before:
            changed.add(tenant_id)
    return changed


async def settings_of(conn: asyncpg.Connection, tenants: Iterable[str]) -> dict[str, TenantSettings]:
    ids = sorted(set(tenants))
    if not ids:  # an interaction-only batch asks for none: no round trip
        return {}
    rows = await conn.fetch("SELECT * FROM tenant_settings WHERE tenant_id = ANY($1::text[])", ids)
    found = {r["tenant_id"]: TenantSettings(r["tenant_id"], r["is_customer360"], r["link_threshold"], r["default_region"])
             for r in rows}
    return {t: found.get(t, TenantSettings(t)) for t in ids}
