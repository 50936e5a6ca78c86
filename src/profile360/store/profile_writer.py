"""The profile side of a batch: tenant settings, identity and facts, definitions, then segment
membership of every profile that changed. Runs inside ``writer.apply_batch``'s transaction."""
from __future__ import annotations

from typing import Sequence

import asyncpg

from profile360.events.definitions import MetricDefined, SegmentDefined, TenantConfigured
from profile360.events.model import Event, Interaction
from profile360.events.people import PERSON_EVENTS
from profile360.store import read_models, segments, tenants
from profile360.store.definitions import apply_definitions
from profile360.store.identity import apply_people, lock_tenant, regroup_tenant

Touched = dict[str, set[str]]


async def apply_profile_side(conn: asyncpg.Connection, events: Sequence[Event], fresh: Sequence[Interaction]) -> Touched:
    """Apply the batch's profile side; returns, per tenant, the profile ids whose identifiers or
    facts changed (old ids of regrouped profiles included). Every tenant of ``fresh`` and of the
    profile events stays locked (``lock_tenant``) until the transaction ends."""
    people = [e for e in events if isinstance(e, PERSON_EVENTS)]
    defining = {e.tenant_id for e in events if isinstance(e, (MetricDefined, SegmentDefined, TenantConfigured))}
    # every tenant lock this transaction may take, taken first and in order (no lock cycles); a
    # tenant with new interactions too, so a segment defined meanwhile waits for this batch
    # instead of evaluating without its rows
    for tenant_id in sorted({e.tenant_id for e in people} | defining | {e.tenant_id for e in fresh}):
        await lock_tenant(conn, tenant_id)
    touched, rethreshold = await _identity(conn, events, people)
    await read_models.refresh_profiles(conn, touched)
    redefined = rethreshold | {e.tenant_id for e in events if isinstance(e, MetricDefined)}
    await apply_definitions(conn, [e for e in events if isinstance(e, MetricDefined)])
    redefined |= await segments.apply_segment_definitions(conn, [e for e in events if isinstance(e, SegmentDefined)])
    await _memberships(conn, touched, redefined, fresh)
    return touched


async def _identity(conn: asyncpg.Connection, events: Sequence[Event], people: list) -> tuple[Touched, set[str]]:
    """Settings first (a changed link threshold regroups the whole tenant), then identity and
    facts with each tenant's threshold. Returns the profiles touched and the regrouped tenants."""
    rethreshold = await tenants.apply_tenant_settings(conn, [e for e in events if isinstance(e, TenantConfigured)])
    settings = await tenants.settings_of(conn, {e.tenant_id for e in people} | rethreshold)
    touched: Touched = {t: await regroup_tenant(conn, t, settings[t].link_threshold) for t in sorted(rethreshold)}
    if people:
        thresholds = {t: s.link_threshold for t, s in settings.items()}
        for tenant_id, pids in (await apply_people(conn, people, thresholds)).items():
            touched[tenant_id] = touched.get(tenant_id, set()) | pids
    return touched, rethreshold


async def _memberships(conn: asyncpg.Connection, touched: Touched, redefined: set[str],
                       fresh: Sequence[Interaction]) -> None:
    candidates = set(touched) | redefined | {e.tenant_id for e in fresh}
    for tenant_id in await segments.tenants_with_segments(conn, candidates):
        if tenant_id in redefined:
            await segments.refresh(conn, tenant_id, None)
            continue
        pids = touched.get(tenant_id, set()) | await segments.profiles_of_customers(
            conn, tenant_id, (e.customer_id for e in fresh if e.tenant_id == tenant_id))
        await segments.refresh(conn, tenant_id, pids)
