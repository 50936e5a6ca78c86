"""Writes identity, consent, experiment and journey events: nodes, edges, profile membership,
and facts.

Runs inside the worker's batch transaction (``writer.apply_batch``). Contract:
- Nodes keep their earliest sighting, edges and facts their last writer (by
  ``(occurred_at, event_id)``), so any order, duplicate or replay leaves the same rows.
- Membership is recomputed for the profiles the batch may change: every stored identifier the
  batch names (its nodes and its edges' ends, ``identity.seeds``) plus every member of the
  profiles they belonged to, grouped by the merging edges among them (see
  ``projections.identity``). An identifier no node stands for (named only in unlinks) is in
  no profile. A transaction-scoped advisory lock per tenant, taken in tenant
  order, serialises these steps between workers, so two batches never regroup from stale edges.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import asyncpg
import orjson

from profile360.events.people import PersonEvent
from profile360.projections import identity, traits

_NODE_UPSERT = """
    INSERT INTO identity_nodes AS n (tenant_id, key, id_type, id_value, original, valid, problem, region,
                                     occurred_at, event_id, profile_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[],
                         $8::text[], $9::timestamptz[], $10::text[], $11::text[])
    ON CONFLICT (tenant_id, key) DO UPDATE SET original = EXCLUDED.original, valid = EXCLUDED.valid,
        problem = EXCLUDED.problem, region = EXCLUDED.region, occurred_at = EXCLUDED.occurred_at,
        event_id = EXCLUDED.event_id
    WHERE (n.occurred_at, n.event_id) > (EXCLUDED.occurred_at, EXCLUDED.event_id)"""

_EDGE_UPSERT = """
    INSERT INTO identity_edges AS e (tenant_id, a, b, linked, confidence, eligible, occurred_at, event_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::float8[], $6::bool[], $7::timestamptz[], $8::text[])
    ON CONFLICT (tenant_id, a, b) DO UPDATE SET linked = EXCLUDED.linked, confidence = EXCLUDED.confidence,
        eligible = EXCLUDED.eligible, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
    WHERE (e.occurred_at, e.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)"""

_FACT_UPSERT = """
    INSERT INTO profile_facts AS f (tenant_id, key, kind, name, value, source, occurred_at, event_id)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[], $8::text[])
    ON CONFLICT (tenant_id, key, kind, name) DO UPDATE SET value = EXCLUDED.value, source = EXCLUDED.source,
        occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
    WHERE (f.occurred_at, f.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)"""


def _columns(rows: list[tuple]) -> list[list]:
    return [list(c) for c in zip(*rows)] if rows else []


def _node_row(n: identity.Node) -> tuple:
    i = n.ident  # a new node starts as a profile of its own: the id it had before any link (a customer's bare id)
    return (n.tenant_id, n.key, i.type, i.value, i.original, i.valid, i.problem, i.region, n.occurred_at, n.event_id,
            identity.canonical([n.key]))


async def _upsert_facts(conn: asyncpg.Connection, facts: list[traits.Fact]) -> None:
    won = traits.winners(facts)
    for first in (False, True):
        rows = [(f.tenant_id, f.key, f.kind, f.name, orjson.dumps(f.value).decode(), f.source, f.occurred_at, f.event_id)
                for k, f in sorted(won.items()) if (f.kind in traits.FIRST_WINS) == first]
        if rows:
            await conn.execute(_FACT_UPSERT.replace(" < (EXCLUDED", " > (EXCLUDED") if first else _FACT_UPSERT,
                               *_columns(rows))


async def lock_tenant(conn: asyncpg.Connection, tenant_id: str) -> None:
    """The tenant's identity-and-segments lock in the generation being written, held until the
    transaction ends (re-entrant)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('profile360.identity:' || current_schema()), hashtext($1))",
                       tenant_id)


async def _regroup(conn: asyncpg.Connection, tenant_id: str, seeds: set[str], threshold: float) -> set[str]:
    """Regroup the stored identifiers among ``seeds`` with every member of their profiles, and
    return every profile id involved, before and after."""
    old = await conn.fetch("SELECT DISTINCT profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[])",
                           tenant_id, sorted(seeds))
    members = await conn.fetch("SELECT key FROM identity_nodes WHERE tenant_id = $1 AND profile_id = ANY($2::text[])",
                               tenant_id, [r["profile_id"] for r in old])
    scope = sorted({r["key"] for r in members})  # the stored seeds are members of their own profiles
    rows = await conn.fetch("""SELECT * FROM identity_edges WHERE tenant_id = $1 AND a = ANY($2::text[])
                               AND b = ANY($2::text[]) AND linked AND eligible AND confidence >= $3""",
                            tenant_id, scope, threshold)
    edges = [identity.Edge(r["tenant_id"], r["a"], r["b"], r["linked"], r["confidence"], r["eligible"],
                           r["occurred_at"], r["event_id"]) for r in rows]
    profiles = identity.components(scope, edges, threshold)
    involved = {r["profile_id"] for r in old} | set(profiles.values())
    await conn.execute("""UPDATE identity_nodes n SET profile_id = u.p FROM unnest($2::text[], $3::text[]) AS u(k, p)
                          WHERE n.tenant_id = $1 AND n.key = u.k AND n.profile_id <> u.p""",
                       tenant_id, list(profiles), list(profiles.values()))
    return involved


async def regroup_tenant(conn: asyncpg.Connection, tenant_id: str, threshold: float) -> set[str]:
    """Regroup every identifier of the tenant (its link threshold changed)."""
    keys = {r["key"] for r in await conn.fetch("SELECT key FROM identity_nodes WHERE tenant_id = $1", tenant_id)}
    return await _regroup(conn, tenant_id, keys, threshold) if keys else set()


async def apply_people(conn: asyncpg.Connection, events: Sequence[PersonEvent],
                       thresholds: Mapping[str, float]) -> dict[str, set[str]]:
    """Apply person events (duplicates are harmless: the upserts are idempotent); returns, per
    tenant, the profile ids whose identifiers or facts changed, old ids of regrouped profiles
    included."""
    # array-sized lookups (seeds, scopes): plan per call, a cached generic plan was measured to
    # choose badly (the edge load took 9 % of the batch instead of 2 %)
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    stated = [identity.facts(e) for e in events]
    for tenant_id in sorted({e.tenant_id for e in events}):
        await lock_tenant(conn, tenant_id)
    first = identity.earliest_nodes(n for nodes, _ in stated for n in nodes)
    if first:
        await conn.execute(_NODE_UPSERT, *_columns([_node_row(first[k]) for k in sorted(first)]))
    last = identity.latest_edges(e for _, edges in stated for e in edges)
    edge_rows = [(e.tenant_id, e.a, e.b, e.linked, e.confidence, e.eligible, e.occurred_at, e.event_id)
                 for _, e in sorted(last.items())]
    if edge_rows:
        await conn.execute(_EDGE_UPSERT, *_columns(edge_rows))
    involved = {}
    for tenant_id in sorted({e.tenant_id for e in events}):
        seeds = identity.seeds((n for n in first.values() if n.tenant_id == tenant_id),
                               (e for e in last.values() if e.tenant_id == tenant_id))
        involved[tenant_id] = await _regroup(conn, tenant_id, seeds, thresholds.get(tenant_id, identity.DEFAULT_THRESHOLD))
    await _upsert_facts(conn, [f for e in events for f in traits.facts_of(e)])
    return involved


async def facts_by_key(conn: asyncpg.Connection, tenant_id: str, keys: list[str],
                       kinds: Sequence[str] | None = None) -> dict[str, list[traits.Fact]]:
    """The facts kept under each of ``keys`` (of ``kinds`` only, when given)."""
    sql = """SELECT key, kind, name, value::text AS value, source, occurred_at, event_id FROM profile_facts
             WHERE tenant_id = $1 AND key = ANY($2::text[])"""
    rows = await (conn.fetch(sql, tenant_id, keys) if kinds is None else
                  conn.fetch(sql + " AND kind = ANY($3::text[])", tenant_id, keys, list(kinds)))
    out: dict[str, list[traits.Fact]] = {}
    for r in rows:
        out.setdefault(r["key"], []).append(traits.Fact(tenant_id, r["key"], r["kind"], r["name"], orjson.loads(r["value"]),
                                                        r["occurred_at"], r["event_id"], r["source"]))
    return out
