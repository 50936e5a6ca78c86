"""Reads of a profile: ``load`` reads the materialized profile (``store.read_models``) in one
statement; ``resolve`` finds a profile's id and identifier keys (for routes that read other
rows under them, and for profile-section plugins).

A customer id seen only in interactions is a profile of its own.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import asyncpg
import orjson

from profile360.events.definitions import MetricDefined
from profile360.events.people import RawIdentifier
from profile360.projections import metrics, read_models
from profile360.projections.buckets import Bucket
from profile360.projections.identifiers import normalize, parse_key
from profile360.projections.identity import CUSTOMER_PREFIX, customer_ids
from profile360.projections.read_models import ProfileView


@dataclass(frozen=True)
class ProfileRef:
    """A resolved profile: its id and the identifier keys (``type:value``) it is made of."""

    tenant_id: str
    profile_id: str
    keys: tuple[str, ...]

    @property
    def customer_ids(self) -> list[str]:
        return customer_ids(self.keys)


async def _profile_of(conn: asyncpg.Connection, tenant_id: str, ident: str) -> str | None:
    """The profile id of the node ``ident`` names (see ``_candidate_keys``)."""
    return await conn.fetchval("""SELECT profile_id FROM identity_nodes WHERE tenant_id = $1 AND key = ANY($2::text[])
                                  ORDER BY array_position($2::text[], key::text) LIMIT 1""",
                               tenant_id, await _candidate_keys(conn, tenant_id, ident))


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


_LOAD = """
    WITH p AS (
        SELECT r.profile_id, r.customer_ids, r.doc FROM identity_nodes n
        JOIN profile_reads r ON r.tenant_id = n.tenant_id AND r.profile_id = n.profile_id
        WHERE n.tenant_id = $1 AND n.key = ANY($2::text[])
        ORDER BY array_position($2::text[], n.key::text) LIMIT 1)
    SELECT p.profile_id, p.doc,
           ARRAY(SELECT row(c.doc, c.written_in::text) FROM customer_reads c WHERE c.tenant_id = $1
                 AND c.customer_id = ANY(coalesce(p.customer_ids, ARRAY[$3::text])) ORDER BY c.customer_id) AS customers,
           ARRAY(SELECT row(d.day, d.type, d.n, d.value_n, d.value_sum, d.value_min, d.value_max, d.latest_at,
                            d.latest_event_id, d.latest_value)
                 FROM customer_daily d WHERE d.tenant_id = $1 AND d.customer_id = ANY(coalesce(p.customer_ids, ARRAY[$3::text]))
                 ORDER BY d.customer_id, d.day, d.type) AS days,
           ARRAY(SELECT row(m.segment_id, d.name, m.member_since) FROM segment_members m
                 JOIN segment_definitions d ON d.tenant_id = m.tenant_id AND d.segment_id = m.segment_id
                 WHERE m.tenant_id = $1 AND m.profile_id = coalesce(p.profile_id, $3) ORDER BY m.segment_id) AS segments,
           ARRAY(SELECT row(event_id, tenant_id, occurred_at, metric_id, aggregation, event_type, window_days,
                            description, deleted)
                 FROM metric_definitions WHERE tenant_id = $1 AND NOT deleted ORDER BY metric_id) AS definitions
    FROM (SELECT) AS one LEFT JOIN p ON true"""


def _bucket(r: Sequence) -> metrics.Row:
    latest = (r[7], r[8], r[9]) if r[7] is not None else None
    return r[0], r[1], Bucket(r[2], r[3], r[4], r[5], r[6], latest)


@dataclass(frozen=True)
class Loaded:
    """A profile as one read found it: the view, and a tag of everything it was computed from
    (equal tags: equal answers, on the same UTC day)."""

    view: ProfileView
    tag: str


async def _candidate_keys(conn: asyncpg.Connection, tenant_id: str, ident: str) -> list[str]:
    """The node keys ``ident`` may name, in order: a customer id, then ``type:value`` normalized
    (phones with the tenant's default region, looked up only for phones)."""
    keys = [CUSTOMER_PREFIX + ident]
    parsed = parse_key(ident)
    if parsed:
        region = await conn.fetchval("SELECT default_region FROM tenant_settings WHERE tenant_id = $1",
                                     tenant_id) if parsed[0] == "phone" else None
        keys.append(normalize(RawIdentifier(*parsed), region).key)
    return keys


async def load(conn: asyncpg.Connection, tenant_id: str, ident: str) -> Loaded | None:
    """The materialized profile ``ident`` (customer id or ``type:value``) belongs to, in one
    statement (plus a region lookup for a phone number), or None. A customer id no identity
    event names is a profile alone when it has interactions.

    The tag covers the documents, the segment memberships and metric definitions as read, and
    the transaction that last wrote each customer document (every transaction that changes a
    customer's daily buckets rewrites its document, so the buckets need not be hashed)."""
    row = await conn.fetchrow(_LOAD, tenant_id, await _candidate_keys(conn, tenant_id, ident), ident)
    if row["doc"] is None and not row["customers"]:
        return None
    doc = orjson.loads(row["doc"]) if row["doc"] is not None else read_models.lone_customer_doc(ident)
    view = ProfileView(row["profile_id"] or ident, doc, [orjson.loads(c[0]) for c in row["customers"]],
                       [_bucket(d) for d in row["days"]],
                       [{"segmentId": s[0], "segmentName": s[1], "memberSince": s[2]} for s in row["segments"]],
                       [MetricDefined(*d) for d in row["definitions"]])
    digest = hashlib.blake2b(row["doc"] or ident.encode(), digest_size=12)
    for part in (*(c[0] + c[1].encode() for c in row["customers"]), repr(row["segments"]).encode(),
                 repr(row["definitions"]).encode()):
        digest.update(part)
    return Loaded(view, digest.hexdigest())
