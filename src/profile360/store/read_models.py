"""Keeps the materialized profile (``projections.read_models``) in ``profile_reads`` and
``customer_reads`` (``store.profiles.load`` reads it).

Contract: inside every transaction that changes a profile's identity nodes, the edges touching
them, its facts or its tenant's link threshold, ``refresh_profiles`` is called with that
profile's id (old and new ids of a regrouped profile); inside every transaction that adds
interactions, ``fold_interactions`` with exactly the events new to the history; one that
removes interactions calls ``refold_customers``. So each stored document equals the one
``from_scratch`` computes from the rows, at every commit.

Lock order: customer rows in key order, with the batch's other per-customer rows; profile rows
under the tenant's identity lock, which every writer of identity holds.
"""
from __future__ import annotations

from collections import defaultdict
from typing import AsyncIterator, Iterable, Mapping, Sequence

import asyncpg
import orjson

from profile360 import jsonfmt
from profile360.events.model import Interaction
from profile360.projections import read_models
from profile360.projections.identity import customer_ids
from profile360.store import tenants
from profile360.store.identity import facts_by_key

CustomerKey = tuple[str, str]  # (tenant_id, customer_id)


def history_interaction(r: Mapping) -> Interaction:
    """A row of ``interaction_history`` as the event it came from."""
    return Interaction(r["event_id"], r["tenant_id"], r["occurred_at"], r["customer_id"], r["interaction_type"],
                       r["channel"], r["channel_id"], r["offer_id"], r["creative_id"], r["campaign_id"],
                       r["workflow_id"], r["value"], orjson.loads(r["metadata"]) if r["metadata"] else {})


# --- customer documents ---------------------------------------------------------------------

async def _store_customers(conn: asyncpg.Connection, docs: Mapping[CustomerKey, dict]) -> None:
    keys = sorted(docs)
    if keys:
        await conn.execute(
            """INSERT INTO customer_reads AS r (tenant_id, customer_id, doc)
               SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
               ON CONFLICT (tenant_id, customer_id) DO UPDATE SET doc = EXCLUDED.doc, written_in = EXCLUDED.written_in""",
            [k[0] for k in keys], [k[1] for k in keys], [orjson.dumps(docs[k]) for k in keys])


async def fold_interactions(conn: asyncpg.Connection, fresh: Sequence[Interaction]) -> set[CustomerKey]:
    """Add ``fresh`` (events new to the history, each once) to their customers' documents;
    returns the customers whose first or last interaction day moved (``read_models.active_days``),
    new customers included."""
    groups: dict[CustomerKey, list[Interaction]] = defaultdict(list)
    for e in fresh:
        groups[(e.tenant_id, e.customer_id)].append(e)
    if not groups:
        return set()
    keys = sorted(groups)
    rows = await conn.fetch(
        """SELECT r.tenant_id, r.customer_id, r.doc FROM customer_reads r
           JOIN unnest($1::text[], $2::text[]) AS u(t, c) ON r.tenant_id = u.t AND r.customer_id = u.c
           ORDER BY 1, 2 FOR UPDATE OF r""", [k[0] for k in keys], [k[1] for k in keys])
    old = {(r["tenant_id"], r["customer_id"]): orjson.loads(r["doc"]) for r in rows}
    new = {k: read_models.fold_customer(old.get(k), groups[k]) for k in keys}
    await _store_customers(conn, new)
    return {k for k in keys if read_models.active_days(old.get(k)) != read_models.active_days(new[k])}


async def _history_docs(conn: asyncpg.Connection, tenant_id: str, customers: list[str]) -> dict[CustomerKey, dict]:
    rows = await conn.fetch("SELECT * FROM interaction_history WHERE tenant_id = $1 AND customer_id = ANY($2::text[])",
                            tenant_id, customers)
    groups: dict[CustomerKey, list[Interaction]] = defaultdict(list)
    for r in rows:
        groups[(tenant_id, r["customer_id"])].append(history_interaction(r))
    return {k: read_models.fold_customer(None, events) for k, events in groups.items()}


async def refold_customers(conn: asyncpg.Connection, tenant_id: str, customers: list[str]) -> None:
    """Fold ``customers``' documents again from what their history holds (after a removal)."""
    docs = await _history_docs(conn, tenant_id, customers)
    gone = sorted(set(customers) - {c for _, c in docs})
    if gone:
        await conn.execute("DELETE FROM customer_reads WHERE tenant_id = $1 AND customer_id = ANY($2::text[])",
                           tenant_id, gone)
    await _store_customers(conn, docs)


# --- profile documents ----------------------------------------------------------------------

async def _profile_docs(conn: asyncpg.Connection, tenant_id: str, pids: list[str]) -> dict[str, dict]:
    """The documents of those of ``pids`` that have identity nodes, from the rows."""
    nodes = await conn.fetch("SELECT * FROM identity_nodes WHERE tenant_id = $1 AND profile_id = ANY($2::text[]) "
                             "ORDER BY profile_id, key", tenant_id, pids)
    if not nodes:
        return {}
    keys = [n["key"] for n in nodes]
    edges = await conn.fetch("""SELECT * FROM identity_edges WHERE tenant_id = $1
                                AND (a = ANY($2::text[]) OR b = ANY($2::text[])) ORDER BY a, b""", tenant_id, keys)
    facts = await facts_by_key(conn, tenant_id, keys)
    threshold = (await tenants.settings_of(conn, [tenant_id]))[tenant_id].link_threshold
    by_profile: dict[str, list] = defaultdict(list)
    for n in nodes:
        by_profile[n["profile_id"]].append(n)
    owner = {n["key"]: n["profile_id"] for n in nodes}
    edges_of: dict[str, list] = defaultdict(list)
    for e in edges:
        for pid in {owner.get(e["a"]), owner.get(e["b"])} - {None}:
            edges_of[pid].append(e)
    facts_of: dict[str, list] = defaultdict(list)
    for key, found in facts.items():
        facts_of[owner[key]].extend(found)
    return {pid: read_models.profile_doc(pid, members, edges_of[pid], facts_of[pid], threshold)
            for pid, members in by_profile.items()}


async def refresh_profiles(conn: asyncpg.Connection, touched: Mapping[str, Iterable[str]]) -> None:
    """Write again the documents of the ``touched`` profiles (tenant -> profile ids); a profile
    left without identity nodes loses its row."""
    for tenant_id in sorted(touched):
        pids = sorted(set(touched[tenant_id]))
        docs = await _profile_docs(conn, tenant_id, pids)
        gone = sorted(set(pids) - set(docs))
        if gone:  # regrouped away, or erased
            await conn.execute("DELETE FROM profile_reads WHERE tenant_id = $1 AND profile_id = ANY($2::text[])",
                               tenant_id, gone)
        if docs:
            ids = sorted(docs)
            await conn.execute(
                """INSERT INTO profile_reads AS r (tenant_id, profile_id, customer_ids, doc)
                   SELECT $1, p, ARRAY(SELECT jsonb_array_elements_text(c)), d
                   FROM unnest($2::text[], $3::jsonb[], $4::bytea[]) AS u(p, c, d)
                   ON CONFLICT (tenant_id, profile_id) DO UPDATE SET customer_ids = EXCLUDED.customer_ids,
                     doc = EXCLUDED.doc""",
                tenant_id, ids, [orjson.dumps(customer_ids(docs[p]["keys"])).decode() for p in ids],
                [jsonfmt.dumps(docs[p]) for p in ids])


# --- from scratch (the migration's backfill, and the tests' reference) -----------------------

async def _chunks(conn: asyncpg.Connection, sql: str, size: int = 2000) -> AsyncIterator[tuple[str, list[str]]]:
    """(tenant, ids) chunks of the (tenant_id, id) pairs ``sql`` selects, in order."""
    rows = await conn.fetch(sql)
    for i in range(0, len(rows), size):
        chunk = rows[i:i + size]
        for tenant_id in sorted({r[0] for r in chunk}):
            yield tenant_id, [r[1] for r in chunk if r[0] == tenant_id]


async def from_scratch(conn: asyncpg.Connection) -> tuple[dict[tuple[str, str], bytes], dict[CustomerKey, bytes]]:
    """Every profile and customer document as computed from the rows alone, stored form."""
    profiles: dict[tuple[str, str], bytes] = {}
    async for tenant_id, pids in _chunks(conn, "SELECT DISTINCT tenant_id, profile_id FROM identity_nodes ORDER BY 1, 2"):
        profiles.update({(tenant_id, p): jsonfmt.dumps(d) for p, d in (await _profile_docs(conn, tenant_id, pids)).items()})
    customers: dict[CustomerKey, bytes] = {}
    async for tenant_id, ids in _chunks(conn, "SELECT DISTINCT tenant_id, customer_id FROM customer_daily ORDER BY 1, 2"):
        customers.update({k: orjson.dumps(d) for k, d in (await _history_docs(conn, tenant_id, ids)).items()})
    return profiles, customers


async def backfill(conn: asyncpg.Connection) -> None:
    """Fill both tables from the rows (after the migration that creates them)."""
    async for tenant_id, pids in _chunks(conn, "SELECT DISTINCT tenant_id, profile_id FROM identity_nodes ORDER BY 1, 2"):
        await refresh_profiles(conn, {tenant_id: pids})
    async for tenant_id, ids in _chunks(conn, "SELECT DISTINCT tenant_id, customer_id FROM customer_daily ORDER BY 1, 2"):
        await refold_customers(conn, tenant_id, ids)
