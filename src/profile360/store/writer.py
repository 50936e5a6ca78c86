"""Applies a batch of consumed events to the projection tables in ONE transaction that also
advances the stored Kafka positions.

Contract (exactly-once effect on top of at-least-once delivery):
- The position rows of the batch's partitions are locked first (``FOR UPDATE``, in a fixed
  order), so two workers that briefly own the same partition during a rebalance serialise.
- An entry whose offset is below the stored ``next_offset`` was already applied: it is skipped.
- An interaction counts in the summaries only if its (tenant, event id) was not yet in the
  history table, so a re-sent event (same id, new offset) changes nothing either.
- A partition's entries are applied only if they continue from its stored position: a
  batch that starts *beyond* it (a stale worker after a rebalance, a generation switch, a
  ``replay`` that moved the position back) is not applied; its partition is reported in
  ``ApplyStats.gaps`` with the stored position, and the worker re-seeks there. So a late
  transaction of a fenced-off worker can neither skip events nor overwrite newer state.
- Positions only move forward. Either everything above is committed, or nothing is.
- A live writer (``live=True``) writes into the current generation and holds off a switch
  until it commits (``generations.enter_current``); a rebuild writes wherever its
  connection's ``search_path`` points.

Lock order, the same in every writer (so concurrent lanes and workers cannot deadlock):
position rows, the tenants' erasure locks (sorted), the batch's own history and customer rows
(sorted), catalog and organization rows, the tenant locks of identity and segments (sorted),
then the rows every writer shares: summary rows and totals (sorted), last, so others wait for
them only until this transaction commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import asyncpg
import orjson

from profile360.events.definitions import SegmentDefined
from profile360.events.model import Channel, Creative, Event, Interaction, Offer
from profile360.projections import buckets, catalog, interactions
from profile360.events.erasure import ErasureRequested
from profile360.events.organizations import ORG_EVENTS
from profile360.store import counters, erasure, generations, organizations, read_models
from profile360.store.outcomes import outcomes
from profile360.store.profile_writer import apply_profile_side

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Entry:
    """One consumed record: its origin and the event, or ``None`` if it was dead-lettered."""

    topic: str
    partition: int
    offset: int
    event: Event | None


@dataclass(frozen=True)
class ApplyStats:
    consumed: int
    skipped: int
    new_interactions: int
    positions: dict[TopicPartition, int]  # of the partitions applied
    gaps: dict[TopicPartition, int]  # partitions not applied: where their stored position is
    outcomes: dict[tuple[str, str], int] = field(default_factory=dict)  # (topic, outcome): records (``store.outcomes``)


_HISTORY_COLUMNS = ("tenant_id", "event_id", "customer_id", "interaction_type", "occurred_at", "channel",
                    "channel_id", "offer_id", "creative_id", "campaign_id", "workflow_id", "value", "metadata")


async def load_positions(conn: asyncpg.Connection, consumer: str, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
    rows = await conn.fetch(
        """SELECT topic, partition, next_offset FROM consumer_positions
           WHERE consumer = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))""",
        consumer, [t for t, _ in tps], [p for _, p in tps])
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def _lock_positions(conn: asyncpg.Connection, consumer: str,
                          tps: list[TopicPartition]) -> tuple[dict[TopicPartition, int], set[TopicPartition]]:
    """Lock the position rows of ``tps`` (creating missing ones at 0); returns the stored
    positions and the partitions that had none."""
    topics, parts = [t for t, _ in tps], [p for _, p in tps]
    created = await conn.fetch(
        """INSERT INTO consumer_positions (consumer, topic, partition, next_offset)
           SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int[]) AS u(t, p) ORDER BY t, p
           ON CONFLICT DO NOTHING RETURNING topic, partition""", consumer, topics, parts)
    rows = await conn.fetch(
        """SELECT topic, partition, next_offset FROM consumer_positions
           WHERE consumer = $1 AND (topic, partition) IN (SELECT * FROM unnest($2::text[], $3::int[]))
           ORDER BY topic, partition FOR UPDATE""", consumer, topics, parts)
    return ({(r["topic"], r["partition"]): r["next_offset"] for r in rows},
            {(r["topic"], r["partition"]) for r in created})


async def _save_positions(conn: asyncpg.Connection, consumer: str, positions: dict[TopicPartition, int]) -> None:
    await conn.execute(
        """UPDATE consumer_positions c SET next_offset = GREATEST(c.next_offset, u.o), updated_at = now()
           FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, o)
           WHERE c.consumer = $1 AND c.topic = u.t AND c.partition = u.p""",
        consumer, [t for t, _ in positions], [p for _, p in positions], list(positions.values()))


async def skip_to(conn: asyncpg.Connection, consumer: str, tp: TopicPartition, offset: int, live: bool = True) -> None:
    """Move a stored position forward to ``offset`` (records below it can no longer be read)."""
    async with conn.transaction():
        if live:
            await generations.enter_current(conn)
        await conn.execute("UPDATE consumer_positions SET next_offset = $4, updated_at = now() "
                           "WHERE consumer = $1 AND topic = $2 AND partition = $3 AND next_offset < $4",
                           consumer, tp[0], tp[1], offset)


def _history_row(e: Interaction) -> tuple:
    return (e.tenant_id, e.event_id, e.customer_id, e.type, e.occurred_at, e.channel, e.channel_id, e.offer_id,
            e.creative_id, e.campaign_id, e.workflow_id, e.value, orjson.dumps(e.metadata).decode())


async def _insert_history(conn: asyncpg.Connection, events: list[Interaction]) -> list[Interaction]:
    """Insert the events (distinct ids) not yet in history; return exactly those.

    Existing ids are looked up first and the rest is COPYed straight into the table. A
    concurrent worker that inserts the same id between the two steps makes the COPY fail with
    a unique violation, which the worker treats as transient and retries.
    """
    if not events:
        return []
    rows = await conn.fetch(
        """SELECT h.tenant_id, h.event_id FROM interaction_history h
           JOIN unnest($1::text[], $2::text[]) AS u(t, e) ON h.tenant_id = u.t AND h.event_id = u.e""",
        [e.tenant_id for e in events], [e.event_id for e in events])
    known = {(r["tenant_id"], r["event_id"]) for r in rows}
    fresh = [e for e in events if interactions.event_key(e) not in known]
    if fresh:
        await conn.copy_records_to_table("interaction_history", records=[_history_row(e) for e in fresh],
                                         columns=_HISTORY_COLUMNS)
    return fresh


_SUMMARY_UPSERT = """
    INSERT INTO interaction_summary_daily AS s (tenant_id, dimension, key, day, impression, click, dismiss, convert)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
    ON CONFLICT (tenant_id, dimension, key, day) DO UPDATE SET
      impression = s.impression + EXCLUDED.impression, click = s.click + EXCLUDED.click,
      dismiss = s.dismiss + EXCLUDED.dismiss, convert = s.convert + EXCLUDED.convert"""


async def add_counts(conn: asyncpg.Connection, deltas: dict[interactions.SummaryKey, interactions.Counts]) -> None:
    if deltas:
        keys = sorted(deltas)  # one lock order for every writer
        counts = [deltas[k] for k in keys]
        await conn.execute(_SUMMARY_UPSERT, *[[k[i] for k in keys] for i in range(4)],
                           *[[c[i] for c in counts] for i in range(4)])


async def add_totals(conn: asyncpg.Connection, deltas: dict[interactions.TotalKey, int]) -> None:
    if deltas:
        keys = sorted(deltas)
        await conn.execute(
            """INSERT INTO interaction_totals AS t (tenant_id, scope, key, n)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
               ON CONFLICT (tenant_id, scope, key) DO UPDATE SET n = t.n + EXCLUDED.n""",
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], [deltas[k] for k in keys])


_LATEST_WINS = "EXCLUDED.latest_at IS NOT NULL AND (s.latest_at IS NULL OR " \
               "(EXCLUDED.latest_at, EXCLUDED.latest_event_id) > (s.latest_at, s.latest_event_id))"
_BUCKET_UPSERT = f"""
    INSERT INTO customer_daily AS s (tenant_id, customer_id, day, type, n, value_n, value_sum, value_min, value_max,
                                     latest_at, latest_event_id, latest_value, offers)
    SELECT t, c, d, k, n, vn, vs, vmin, vmax, la, le, lv, ARRAY(SELECT jsonb_array_elements_text(o))
    FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::bigint[], $6::bigint[], $7::numeric[],
                $8::float8[], $9::float8[], $10::timestamptz[], $11::text[], $12::float8[], $13::jsonb[])
         AS u(t, c, d, k, n, vn, vs, vmin, vmax, la, le, lv, o)
    ON CONFLICT (tenant_id, customer_id, day, type) DO UPDATE SET
      n = s.n + EXCLUDED.n, value_n = s.value_n + EXCLUDED.value_n, value_sum = s.value_sum + EXCLUDED.value_sum,
      value_min = LEAST(s.value_min, EXCLUDED.value_min), value_max = GREATEST(s.value_max, EXCLUDED.value_max),
      latest_at = CASE WHEN {_LATEST_WINS} THEN EXCLUDED.latest_at ELSE s.latest_at END,
      latest_event_id = CASE WHEN {_LATEST_WINS} THEN EXCLUDED.latest_event_id ELSE s.latest_event_id END,
      latest_value = CASE WHEN {_LATEST_WINS} THEN EXCLUDED.latest_value ELSE s.latest_value END,
      offers = CASE WHEN EXCLUDED.offers <@ s.offers THEN s.offers
                    ELSE ARRAY(SELECT DISTINCT o FROM unnest(s.offers || EXCLUDED.offers) AS x(o) ORDER BY o) END"""


def _bucket_row(k: buckets.BucketKey, b: buckets.Bucket) -> tuple:
    latest = b.latest or (None, None, None)
    return (*k, b.n, b.value_n, b.value_sum, b.value_min, b.value_max, *latest, orjson.dumps(sorted(b.offers)).decode())


async def add_buckets(conn: asyncpg.Connection, deltas: dict[buckets.BucketKey, buckets.Bucket]) -> None:
    if deltas:
        rows = [_bucket_row(k, deltas[k]) for k in sorted(deltas)]  # one lock order for every writer
        await conn.execute(_BUCKET_UPSERT, *[list(c) for c in zip(*rows)])


_CATALOG_UPSERTS = {
    Offer: ("""INSERT INTO offers AS t (tenant_id, offer_id, name, issue, "group", status, priority, occurred_at, event_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::timestamptz[], $9::text[])
               ON CONFLICT (tenant_id, offer_id) DO UPDATE SET name = EXCLUDED.name, issue = EXCLUDED.issue,
                 "group" = EXCLUDED."group", status = EXCLUDED.status, priority = EXCLUDED.priority,
                 occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
               WHERE (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)""",
            lambda e: (e.tenant_id, e.offer_id, e.name, e.issue, e.group, e.status, e.priority, e.occurred_at, e.event_id)),
    Creative: ("""INSERT INTO creatives AS t (tenant_id, creative_id, name, offer_id, channel_id, occurred_at, event_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
               ON CONFLICT (tenant_id, creative_id) DO UPDATE SET name = EXCLUDED.name, offer_id = EXCLUDED.offer_id,
                 channel_id = EXCLUDED.channel_id, occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
               WHERE (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)""",
               lambda e: (e.tenant_id, e.creative_id, e.name, e.offer_id, e.channel_id, e.occurred_at, e.event_id)),
    Channel: ("""INSERT INTO channels AS t (tenant_id, channel_id, name, medium, occurred_at, event_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
               ON CONFLICT (tenant_id, channel_id) DO UPDATE SET name = EXCLUDED.name, medium = EXCLUDED.medium,
                 occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
               WHERE (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)""",
              lambda e: (e.tenant_id, e.channel_id, e.name, e.medium, e.occurred_at, e.event_id)),
}


async def _upsert_catalog(conn: asyncpg.Connection, events: list) -> None:
    winners = [w for _, w in sorted(catalog.latest(events).items())]  # one lock order for every writer
    for kind, (sql, row) in _CATALOG_UPSERTS.items():
        rows = [row(e) for e in winners if type(e) is kind]
        if rows:
            await conn.execute(sql, *map(list, zip(*rows, strict=True)))


async def _erasing(conn: asyncpg.Connection, events: list) -> tuple[list, dict[str, set[str]]]:
    """Apply the batch's erasures first, then keep out every event an erasure covers. Returns
    the events kept and, per tenant, the profile ids the erasures touched.

    Every batch holds its tenants' erasure locks until commit: shared, or exclusive for a
    tenant this batch erases. So an erasure waits for a concurrent batch that filtered its
    events before the erasure existed (and then deletes what it wrote), and a batch that
    starts later sees the erasure. (An erasure then takes its tenant's identity lock before
    its rows, against the lock order below: a rare deadlock with a concurrent lane is
    detected by PostgreSQL and the batch retried.)"""
    found = [e for e in events if isinstance(e, ErasureRequested)]
    erasing = {e.tenant_id for e in found}
    await erasure.lock_tenants(conn, {e.tenant_id for e in events}, erasing)
    touched = await erasure.apply_erasures(conn, found) if found else {}
    return await erasure.without_erased(conn, events), touched


def _positions_after(entries: Sequence[Entry]) -> dict[TopicPartition, int]:
    positions: dict[TopicPartition, int] = {}
    for e in entries:
        tp = (e.topic, e.partition)
        positions[tp] = max(positions.get(tp, 0), e.offset + 1)
    return positions


def _gaps(entries: Sequence[Entry], stored: dict[TopicPartition, int], fresh: set[TopicPartition]) -> dict[TopicPartition, int]:
    """Partitions whose first entry lies beyond the stored position (never for one with no
    stored position yet: a first batch may start at the log's start, whatever it is)."""
    first: dict[TopicPartition, int] = {}
    for e in entries:
        first.setdefault((e.topic, e.partition), e.offset)
    return {tp: stored[tp] for tp, o in first.items() if tp not in fresh and o > stored[tp]}


@dataclass(frozen=True)
class Scope:
    """A rebuild of some projections only (``rebuild --projection``): records below
    ``full_from`` (the position the other projections' copied tables stand at) are applied to
    the projections in ``only``; records from there on, to all of them."""

    only: frozenset[str]
    full_from: dict[TopicPartition, int]

    def applies(self, entry: Entry) -> bool:
        return (entry.offset >= self.full_from.get((entry.topic, entry.partition), 0)
                or isinstance(entry.event, ErasureRequested) or projection_of(entry.event) in self.only)


#: which projection each event type feeds (the tables of each: ``generations.PROJECTIONS``)
_PROJECTION_OF = {Interaction: "interactions", Offer: "catalog", Creative: "catalog", Channel: "catalog",
                  SegmentDefined: "segments", **{t: "organizations" for t in ORG_EVENTS}}


def projection_of(event: Event) -> str:
    return _PROJECTION_OF.get(type(event), "profiles")


async def apply_batch(conn: asyncpg.Connection, consumer: str, entries: Sequence[Entry], live: bool = True,
                      scope: Scope | None = None) -> ApplyStats:
    """Apply ``entries`` (any partitions, offsets ascending within each) atomically; see module
    doc. ``scope``: a rebuild of some projections only."""
    async with conn.transaction():
        if live:
            await generations.enter_current(conn)
        tps = sorted({(e.topic, e.partition) for e in entries})
        stored, created = await _lock_positions(conn, consumer, tps)
        gaps = _gaps(entries, stored, created)
        continuing = [e for e in entries if (e.topic, e.partition) not in gaps]
        todo = [e for e in continuing if e.offset >= stored[(e.topic, e.partition)]]
        positions = _positions_after(continuing)
        if scope is not None:
            todo = [e for e in todo if scope.applies(e)]
        events, erased = await _erasing(conn, [e.event for e in todo if e.event is not None])
        kept = [e for e in events if isinstance(e, Interaction)]
        fresh = await _insert_history(conn, interactions.dedupe(kept))
        # Customer rows belong to this batch's partitions alone (events are keyed by customer);
        # offer, creative and channel rows are shared by every writer: lock them last, so a
        # concurrent transaction waits for them only as long as this one takes to commit.
        await add_buckets(conn, buckets.customer_buckets(fresh))
        moved = await read_models.fold_interactions(conn, fresh)
        await _upsert_catalog(conn, [e for e in events if isinstance(e, (Offer, Creative, Channel))])
        await organizations.apply(conn, [e for e in events if isinstance(e, ORG_EVENTS)])
        touched = await apply_profile_side(conn, events, fresh)
        await counters.refresh(conn, (touched, erased), fresh, moved)
        await add_counts(conn, interactions.summary_deltas(fresh))
        await add_totals(conn, interactions.total_deltas(fresh))
        await _save_positions(conn, consumer, positions)
    redelivered = [e for e in continuing if e.offset < stored[(e.topic, e.partition)]]
    return ApplyStats(len(entries), len(entries) - len(todo), len(fresh), positions, gaps,
                      outcomes(redelivered, todo, events, kept, fresh))
