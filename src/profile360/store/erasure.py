"""Erasure in the store: recording an erasure, removing what the projections hold about its
subjects, and keeping erased events out (see ``projections.erasure`` for the rule).

Runs inside ``writer.apply_batch``'s transaction, first: the batch's erasures are recorded and
applied under their tenants' locks, then ``without_erased`` drops every event of the batch the
erasures (these or earlier ones) cover. A rebuild reads the erasure topic before the others
(``worker.rebuild``), so it never writes the erased records in the first place.

What is removed, for the identifiers whose hashes are the erasure's subjects: their history
rows up to the erasure time (and those rows' share of the summaries and totals), their
customer buckets (recomputed from the history that remains), their facts (traits, tags,
consent, experiments, journeys) and links last written up to then, their identity nodes, and
their profiles' segment memberships; the remaining identifiers of touched profiles are
regrouped.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import asyncpg
import orjson

from profile360.events.erasure import ErasureRequested
from profile360.events.model import Event
from profile360.projections import buckets, interactions
from profile360.projections.erasure import ORG_CUSTOMER_PREFIX, SEPARATOR, erased, keys_of, subject_of
from profile360.projections.identity import CUSTOMER_PREFIX
from profile360.store import read_models, segments, tenants
from profile360.store.identity import _regroup, lock_tenant
from profile360.store.read_models import history_interaction

_HASHED = f"encode(sha256(convert_to(tenant_id || '{SEPARATOR}' || {{col}}, 'UTF8')), 'hex')"


async def lock_tenants(conn: asyncpg.Connection, tenants: set[str], erasing: set[str]) -> None:
    """The erasure locks of ``tenants`` for this transaction, in one order: exclusive for the
    tenants in ``erasing``, shared for the others."""
    if not erasing:  # the common case: one round trip
        await conn.execute("SELECT count(pg_advisory_xact_lock_shared(hashtext('profile360.erasure:' || current_schema()), "
                           "hashtext(u.t))) FROM (SELECT t FROM unnest($1::text[]) AS u0(t) ORDER BY t COLLATE \"C\") u",
                           sorted(tenants))
        return
    for tenant_id in sorted(tenants):
        mode = "" if tenant_id in erasing else "_shared"
        await conn.execute(f"SELECT pg_advisory_xact_lock{mode}(hashtext('profile360.erasure:' || current_schema()), "
                           "hashtext($1))", tenant_id)


async def apply_erasures(conn: asyncpg.Connection, erasures: Sequence[ErasureRequested]) -> dict[str, set[str]]:
    """Apply the erasures not applied before; returns, per tenant, the profile ids they touched
    (before and after the regrouping)."""
    touched: dict[str, set[str]] = {}
    for tenant_id in sorted({e.tenant_id for e in erasures}):
        await lock_tenant(conn, tenant_id)
    done = {r["erasure_id"] for r in await conn.fetch(
        "SELECT erasure_id FROM erasure_log WHERE tenant_id = ANY($1::text[]) AND erasure_id = ANY($2::text[])",
        sorted({e.tenant_id for e in erasures}), [e.event_id for e in erasures])}
    for e in erasures:
        if e.event_id in done:
            continue  # applied before (a replay): what came after it must stay
        await conn.execute(
            """INSERT INTO erasures (tenant_id, subject, erased_at) SELECT $1, s, $3 FROM unnest($2::text[]) AS s
               ON CONFLICT (tenant_id, subject) DO UPDATE SET erased_at = GREATEST(erasures.erased_at, EXCLUDED.erased_at)""",
            e.tenant_id, list(e.subjects), e.occurred_at)
        deleted, profiles = await _erase(conn, e)
        touched.setdefault(e.tenant_id, set()).update(profiles)
        await conn.execute(
            """INSERT INTO erasure_log (tenant_id, erasure_id, erased_at, subjects, deleted, requested_by)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT DO NOTHING""",
            e.tenant_id, e.event_id, e.occurred_at, len(e.subjects), orjson.dumps(deleted).decode(), e.requested_by)
    return touched


async def without_erased(conn: asyncpg.Connection, events: list[Event]) -> list[Event]:
    """``events`` minus those an erasure covers (one query when the tenants have none)."""
    about = [e for e in events if not isinstance(e, ErasureRequested)]
    tenant_ids = sorted({e.tenant_id for e in about})
    if not tenant_ids or not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM erasures WHERE tenant_id = ANY($1::text[]))", tenant_ids):
        return events
    subjects = {id(e): [subject_of(e.tenant_id, k) for k in keys_of(e)] for e in about}
    rows = await conn.fetch("SELECT subject, erased_at FROM erasures WHERE tenant_id = ANY($1::text[]) AND subject = ANY($2::text[])",
                            tenant_ids, sorted({s for ss in subjects.values() for s in ss}))
    until = {r["subject"]: r["erased_at"] for r in rows}
    return [e for e in events if isinstance(e, ErasureRequested) or not erased(e.occurred_at, subjects[id(e)], until)]


async def _erase(conn: asyncpg.Connection, e: ErasureRequested) -> tuple[dict[str, int], set[str]]:
    subjects = list(e.subjects)
    # a node first sighted after the erasure belongs to the person's new profile
    nodes = await conn.fetch(f"SELECT key, profile_id FROM identity_nodes WHERE tenant_id = $1 AND occurred_at <= $3 "
                             f"AND {_HASHED.format(col='key')} = ANY($2::text[])", e.tenant_id, subjects, e.occurred_at)
    keys = sorted(r["key"] for r in nodes)
    customers = sorted({k[len(CUSTOMER_PREFIX):] for k in keys if k.startswith(CUSTOMER_PREFIX)}
                       | await _customers_without_node(conn, e.tenant_id, subjects))
    deleted = await _erase_interactions(conn, e, customers)
    facts = await conn.fetch("DELETE FROM profile_facts WHERE tenant_id = $1 AND key = ANY($2::text[]) AND occurred_at <= $3 "
                             "RETURNING kind, key, name", e.tenant_id, keys, e.occurred_at)
    kinds = Counter(r["kind"] for r in facts)
    # a journey is two registers (its state and its enrolment): count journeys, not registers
    journeys = {(r["key"], r["name"]) for r in facts if r["kind"] in ("journey", "journey_enrolled")}
    deleted.update(experimentAssignments=kinds["experiment"], consent=kinds["consent"],
                   traits=kinds["trait"] + kinds["tag"], journeys=len(journeys))
    links = await conn.fetch(
        "DELETE FROM identity_edges WHERE tenant_id = $1 AND (a = ANY($2::text[]) OR b = ANY($2::text[])) AND occurred_at <= $3 "
        "RETURNING a, b", e.tenant_id, keys, e.occurred_at)
    deleted["links"] = len(links)
    deleted["identities"] = len(keys)
    deleted["segmentMemberships"], profiles = await _erase_profiles(conn, e.tenant_id, nodes, customers)
    # profiles that only had a link to an erased identifier: their identities lost it
    linked = sorted({k for r in links for k in (r["a"], r["b"])} - set(keys))
    if linked:
        await read_models.refresh_profiles(conn, {e.tenant_id: {r["profile_id"] for r in await conn.fetch(
            "SELECT DISTINCT profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[])",
            e.tenant_id, linked)}})
    deleted.update(await _erase_org_customers(conn, e))
    return deleted, profiles


async def _erase_org_customers(conn: asyncpg.Connection, e: ErasureRequested) -> dict[str, int]:
    """Seed 003: the organization customers among the subjects, their feedback and highlights
    up to the erasure time; their last interaction is recomputed from what remains."""
    uuids = [r["customer_uuid"] for r in await conn.fetch(
        f"""SELECT customer_uuid FROM (SELECT customer_uuid FROM org_customers WHERE tenant_id = $1
                                       UNION SELECT customer_uuid FROM org_activity WHERE tenant_id = $1
                                       UNION SELECT customer_uuid FROM org_highlights WHERE tenant_id = $1) u
            WHERE encode(sha256(convert_to($1 || '{SEPARATOR}{ORG_CUSTOMER_PREFIX}' || customer_uuid, 'UTF8')), 'hex')
                  = ANY($2::text[])""", e.tenant_id, list(e.subjects))]
    if not uuids:
        return {}
    args = (e.tenant_id, uuids, e.occurred_at)
    counts = {name: int((await conn.execute(
        f"DELETE FROM {table} WHERE tenant_id = $1 AND customer_uuid = ANY($2::text[]) AND occurred_at <= $3", *args)).split()[-1])
        for name, table in (("orgCustomers", "org_customers"), ("feedbacks", "org_feedbacks"),
                            ("highlights", "org_highlights"))}
    await conn.execute("DELETE FROM org_activity WHERE tenant_id = $1 AND customer_uuid = ANY($2::text[])", *args[:2])
    await conn.execute("""INSERT INTO org_activity (tenant_id, customer_uuid, last_interacted_at)
                          SELECT tenant_id, customer_uuid, max(feedback_date) FROM org_feedbacks
                          WHERE tenant_id = $1 AND customer_uuid = ANY($2::text[]) GROUP BY 1, 2""", *args[:2])
    await conn.execute("""UPDATE org_customers c SET last_interacted_at = a.last_interacted_at FROM
                          (SELECT u AS customer_uuid, (SELECT last_interacted_at FROM org_activity x
                                                       WHERE x.tenant_id = $1 AND x.customer_uuid = u) AS last_interacted_at
                           FROM unnest($2::text[]) AS u) a
                          WHERE c.tenant_id = $1 AND c.customer_uuid = a.customer_uuid""", *args[:2])
    return counts


async def _customers_without_node(conn: asyncpg.Connection, tenant_id: str, subjects: list[str]) -> set[str]:
    """Customer ids only interactions name (no identity event did), whose key is a subject."""
    rows = await conn.fetch(
        f"""SELECT customer_id FROM (SELECT DISTINCT tenant_id, customer_id FROM customer_daily WHERE tenant_id = $1) c
            WHERE {_HASHED.format(col="'" + CUSTOMER_PREFIX + "' || customer_id")} = ANY($2::text[])""", tenant_id, subjects)
    return {r["customer_id"] for r in rows}


async def _erase_interactions(conn: asyncpg.Connection, e: ErasureRequested, customers: list[str]) -> dict[str, int]:
    from profile360.store.writer import add_buckets, add_counts, add_totals

    gone = [history_interaction(r) for r in await conn.fetch(
        """DELETE FROM interaction_history WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) AND occurred_at <= $3
           RETURNING *""", e.tenant_id, customers, e.occurred_at)]
    await add_counts(conn, {k: tuple(-n for n in c) for k, c in interactions.summary_deltas(gone).items()})
    await add_totals(conn, {k: -n for k, n in interactions.total_deltas(gone).items()})
    await conn.execute("DELETE FROM interaction_summary_daily WHERE tenant_id = $1 AND impression = 0 AND click = 0 "
                       "AND dismiss = 0 AND convert = 0", e.tenant_id)
    await conn.execute("DELETE FROM interaction_totals WHERE tenant_id = $1 AND n = 0", e.tenant_id)
    summary_rows = int((await conn.execute("DELETE FROM customer_daily WHERE tenant_id = $1 AND customer_id = ANY($2::text[])",
                                           e.tenant_id, customers)).split()[-1])
    kept = [history_interaction(r) for r in await conn.fetch(
        "SELECT * FROM interaction_history WHERE tenant_id = $1 AND customer_id = ANY($2::text[])", e.tenant_id, customers)]
    await add_buckets(conn, buckets.customer_buckets(kept))
    await read_models.refold_customers(conn, e.tenant_id, customers)
    return {"interactionHistory": len(gone), "interactionSummary": summary_rows,
            "impressions": sum(1 for i in gone if i.type == "impression")}


async def _erase_profiles(conn: asyncpg.Connection, tenant_id: str, nodes: list,
                          customers: list[str]) -> tuple[int, set[str]]:
    """Drop the erased nodes and their profiles' memberships; regroup what remains of those
    profiles and evaluate their segments again. Returns the memberships removed and the profile
    ids involved (the erased ones, the customers', and those of what remains)."""
    profiles = sorted({r["profile_id"] for r in nodes} | set(customers))
    await conn.execute("DELETE FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[])",
                       tenant_id, [r["key"] for r in nodes])
    rest = {r["key"] for r in await conn.fetch(
        "SELECT key FROM identity_nodes WHERE tenant_id = $1 AND profile_id = ANY($2::text[])", tenant_id, profiles)}
    regrouped = set()
    if rest:
        threshold = (await tenants.settings_of(conn, {tenant_id}))[tenant_id].link_threshold
        regrouped = await _regroup(conn, tenant_id, rest, threshold)
    await read_models.refresh_profiles(conn, {tenant_id: set(profiles) | regrouped})
    removed = await segments.forget(conn, tenant_id, profiles)
    alive = await segments.profiles_of_customers(conn, tenant_id, await _with_history(conn, tenant_id, customers))
    alive |= {r["profile_id"] for r in await conn.fetch(
        "SELECT DISTINCT profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[])", tenant_id, sorted(rest))}
    await segments.refresh(conn, tenant_id, alive)
    return removed, set(profiles) | alive


async def _with_history(conn: asyncpg.Connection, tenant_id: str, customers: list[str]) -> list[str]:
    rows = await conn.fetch("SELECT DISTINCT customer_id FROM customer_daily WHERE tenant_id = $1 AND customer_id = ANY($2::text[])",
                            tenant_id, customers)
    return [r["customer_id"] for r in rows]
