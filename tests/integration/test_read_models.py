"""The materialized profile (``profile_reads``, ``customer_reads``) equals the documents computed
from scratch for any order, batching and re-delivery of the same events: merges, splits,
threshold changes and erasure included; so do the overview's maintained rows and counters. Batches are applied by the worker's transaction
(``apply_batch``) on the real PostgreSQL, without Kafka (the order is the test's to choose)."""
from __future__ import annotations

import random
from datetime import timedelta

import asyncpg
import pytest

from profile360.events.model import from_record
from profile360.store.writer import Entry, apply_batch

from . import workload
from .full_check import assert_documents_match
from .overview_check import assert_overview_exact, windows
from .test_pipeline import CODEC


def _event(name: str, record: dict):
    try:
        return from_record(name, CODEC.decode(CODEC.encode(name, record)).record)
    except Exception:  # the worker dead-letters it: an entry without an event
        return None


def _events(seed: int) -> list:
    """People and interactions of a week ago (so later interactions move profiles' last days)."""
    early = [dict(r, occurredAt=r["occurredAt"] - timedelta(days=7)) for r in workload.interactions("acme", 300, seed=seed)]
    records = [*workload.people("acme", seed=seed), *(("InteractionEvent", r) for r in early)]
    return [_event(name, record) for name, record in records]


async def _apply_shuffled(conn: asyncpg.Connection, events: list, rnd: random.Random, topic: str = "t") -> None:
    """Every event once or twice, in a shuffled order, in batches of random sizes, as the
    records of ``topic`` from offset 0 (a topic's offsets are applied once)."""
    order = events + rnd.sample(events, len(events) // 5)
    rnd.shuffle(order)
    offset = 0
    while offset < len(order):
        size = rnd.randint(1, 60)
        await apply_batch(conn, "g", [Entry(topic, 0, offset + i, e) for i, e in enumerate(order[offset:offset + size])])
        offset += size


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_documents_equal_a_fold_from_scratch_in_any_order(settings, seed):
    conn = await asyncpg.connect(settings.database_url)
    try:
        await _apply_shuffled(conn, _events(seed), random.Random(seed))
        # then this week's interactions alone, some of customers nobody has seen: deltas keep them
        late = workload.interactions("acme", 60, seed=seed + 100, customers=30, prefix="late")
        await _apply_shuffled(conn, [_event("InteractionEvent", r) for r in late], random.Random(seed), "late")
        assert await conn.fetchval("SELECT count(*) FROM interaction_history WHERE event_id LIKE 'late-%'") == 60
        assert await conn.fetchval("SELECT count(*) FROM profile_reads") > 10
        assert await conn.fetchval("SELECT count(*) FROM customer_reads") > 10
        await assert_documents_match(conn)
        await assert_overview_exact(conn, "acme", windows())
    finally:
        await conn.close()
