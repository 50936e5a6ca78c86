"""Read queries behind the unified profile: resolve a profile, then read what its identifiers hold.

A profile is read, never stored whole: its identifiers come from ``identity_nodes``, and each
section reads the rows kept under those identifiers (history under its customer ids, facts
under every identifier). A customer id seen only in interactions is a profile of its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import asyncpg
import orjson

from profile360.events.people import RawIdentifier
from profile360.projections import traits
from profile360.projections.buckets import Bucket
from profile360.projections.identifiers import normalize, parse_key
from profile360.projections.identity import CUSTOMER_PREFIX
from profile360.projections.metrics import Row, merge_rows


@dataclass(frozen=True)
class ProfileRef:
    """A resolved profile: its id and the identifier keys (``type:value``) it is made of."""

    tenant_id: str
    profile_id: str
    keys: tuple[str, ...]
    cache: dict = field(default_factory=dict, compare=False, repr=False)  # reads shared by sections

    @property
    def customer_ids(self) -> list[str]:
        return sorted(k[len(CUSTOMER_PREFIX):] for k in self.keys if k.startswith(CUSTOMER_PREFIX))


async def _profile_of(conn: asyncpg.Connection, tenant_id: str, ident: str) -> str | None:
    """The profile id of the node ``ident`` names: a customer id first, then ``type:value``
    normalized (phones with the tenant's default region)."""
    sql = "SELECT profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = $2"
    profile_id = await conn.fetchval(sql, tenant_id, CUSTOMER_PREFIX + ident)
    parsed = parse_key(ident)
    if profile_id is None and parsed:
        region = await conn.fetchval("SELECT default_region FROM tenant_settings WHERE tenant_id = $1", tenant_id)
        profile_id = await conn.fetchval(sql, tenant_id, normalize(RawIdentifier(*parsed), region).key)
    return profile_id


async def _keys(conn: asyncpg.Connection, tenant_id: str, profile_id: str) -> tuple[str, ...]:
    rows = await conn.fetch("SELECT key FROM identity_nodes WHERE tenant_id = $1 AND profile_id = $2 ORDER BY key",
                            tenant_id, profile_id)
    return tuple(r["key"] for r in rows)


async def resolve(conn: asyncpg.Connection, tenant_id: str, ident: str) -> ProfileRef | None:
    """The profile ``ident`` (profile id, customer id or ``type:value``) belongs to, or None."""
    profile_id = await _profile_of(conn, tenant_id, ident)
    if profile_id is not None:
        return ProfileRef(tenant_id, profile_id, await _keys(conn, tenant_id, profile_id))
    seen = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM interaction_history WHERE tenant_id = $1 AND customer_id = $2)",
                               tenant_id, ident)
    return ProfileRef(tenant_id, ident, (CUSTOMER_PREFIX + ident,)) if seen else None


async def customer_ids_of(conn: asyncpg.Connection, tenant_id: str, ident: str) -> list[str]:
    """The customer ids of ``ident``'s profile; a customer id no identity event names is alone."""
    profile_id = await _profile_of(conn, tenant_id, ident)
    if profile_id is None:
        return [ident]
    return ProfileRef(tenant_id, profile_id, await _keys(conn, tenant_id, profile_id)).customer_ids


async def identity_rows(conn: asyncpg.Connection, ref: ProfileRef) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """The profile's nodes, and every edge with an end among them (merging or not); read once
    per request."""
    if "identity" in ref.cache:
        return ref.cache["identity"]
    nodes = await conn.fetch("SELECT * FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[]) ORDER BY key",
                             ref.tenant_id, list(ref.keys))
    edges = await conn.fetch("""SELECT * FROM identity_edges WHERE tenant_id = $1
                                AND (a = ANY($2::text[]) OR b = ANY($2::text[])) ORDER BY a, b""",
                             ref.tenant_id, list(ref.keys))
    ref.cache["identity"] = nodes, edges
    return nodes, edges


async def facts(conn: asyncpg.Connection, ref: ProfileRef, *kinds: str) -> list[traits.Fact]:
    """Every fact of the given kinds kept under the profile's identifiers."""
    rows = await conn.fetch("""SELECT key, kind, name, value::text AS value, source, occurred_at, event_id
                               FROM profile_facts WHERE tenant_id = $1 AND key = ANY($2::text[]) AND kind = ANY($3::text[])""",
                            ref.tenant_id, list(ref.keys), list(kinds))
    return [traits.Fact(ref.tenant_id, r["key"], r["kind"], r["name"], orjson.loads(r["value"]), r["occurred_at"],
                        r["event_id"], r["source"]) for r in rows]


async def recent_interactions(conn: asyncpg.Connection, ref: ProfileRef, limit: int = 20) -> list[asyncpg.Record]:
    return await conn.fetch("""SELECT event_id, customer_id, interaction_type, occurred_at, channel, channel_id, offer_id,
                                      creative_id, campaign_id, workflow_id, value, metadata::text AS metadata
                               FROM interaction_history WHERE tenant_id = $1 AND customer_id = ANY($2::text[])
                               ORDER BY occurred_at DESC, event_id DESC LIMIT $3""",
                            ref.tenant_id, ref.customer_ids, limit)


async def bucket_rows(conn: asyncpg.Connection, tenant_id: str, customer_ids: list[str],
                      since: date | None = None) -> dict[str, list[Row]]:
    """Each customer's daily buckets (from ``since``, else every day), as (day, type, Bucket)."""
    sql = """SELECT customer_id, day, type, n, value_n, value_sum, value_min, value_max, latest_at, latest_event_id,
                    latest_value, offers FROM customer_daily WHERE tenant_id = $1 AND customer_id = ANY($2::text[])"""
    rows = await (conn.fetch(sql, tenant_id, customer_ids) if since is None else
                  conn.fetch(sql + " AND day >= $3", tenant_id, customer_ids, since))
    out: dict[str, list[Row]] = {}
    for r in rows:
        latest = (r["latest_at"], r["latest_event_id"], r["latest_value"]) if r["latest_at"] else None
        b = Bucket(r["n"], r["value_n"], r["value_sum"], r["value_min"], r["value_max"], latest, frozenset(r["offers"]))
        out.setdefault(r["customer_id"], []).append((r["day"], r["type"], b))
    return out


async def buckets(conn: asyncpg.Connection, ref: ProfileRef) -> list[Row]:
    """The profile's daily buckets per (day, type), merged across its customer ids; read once
    per request (several sections use them)."""
    if "buckets" not in ref.cache:
        per_customer = await bucket_rows(conn, ref.tenant_id, ref.customer_ids)
        ref.cache["buckets"] = merge_rows(r for rows in per_customer.values() for r in rows)
    return ref.cache["buckets"]


async def activity(conn: asyncpg.Connection, ref: ProfileRef) -> tuple[datetime | None, datetime | None]:
    """(first, last) interaction time of the profile: two index probes per customer id."""
    row = await conn.fetchrow(
        """SELECT min(f.t) AS first, max(l.t) AS last FROM unnest($2::text[]) AS c(id)
           CROSS JOIN LATERAL (SELECT occurred_at AS t FROM interaction_history WHERE tenant_id = $1 AND customer_id = c.id
                               ORDER BY occurred_at LIMIT 1) f
           CROSS JOIN LATERAL (SELECT occurred_at AS t FROM interaction_history WHERE tenant_id = $1 AND customer_id = c.id
                               ORDER BY occurred_at DESC LIMIT 1) l""", ref.tenant_id, ref.customer_ids)
    return row["first"], row["last"]
