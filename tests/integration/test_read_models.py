"""The materialized profile (``profile_reads``, ``customer_reads``) equals the documents computed
from scratch for any order, batching and re-delivery of the same events: merges, splits,
threshold changes and erasure included. Batches are applied by the worker's transaction
(``apply_batch``) on the real PostgreSQL, without Kafka (the order is the test's to choose)."""
from __future__ import annotations

import random

import asyncpg
import pytest

from profile360.events.model import from_record
from profile360.store.writer import Entry, apply_batch

from . import workload
from .full_check import assert_documents_match
from .test_pipeline import CODEC


def _event(name: str, record: dict):
    try:
        return from_record(name, CODEC.decode(CODEC.encode(name, record)).record)
    except Exception:  # the worker dead-letters it: an entry without an event
        return None


def _events(seed: int) -> list:
    records = [*workload.people("acme", seed=seed), *(("InteractionEvent", r) for r in workload.interactions("acme", 300, seed=seed))]
    return [_event(name, record) for name, record in records]


async def _apply_shuffled(conn: asyncpg.Connection, events: list, rnd: random.Random) -> None:
    """Every event once or twice, in a shuffled order, in batches of random sizes."""
    order = events + rnd.sample(events, len(events) // 5)
    rnd.shuffle(order)
    offset = 0
    while offset < len(order):
        size = rnd.randint(1, 60)
        await apply_batch(conn, "g", [Entry("t", 0, offset + i, e) for i, e in enumerate(order[offset:offset + size])])
        offset += size


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_documents_equal_a_fold_from_scratch_in_any_order(settings, seed):
    conn = await asyncpg.connect(settings.database_url)
    try:
        await _apply_shuffled(conn, _events(seed), random.Random(seed))
        assert await conn.fetchval("SELECT count(*) FROM profile_reads") > 10
        assert await conn.fetchval("SELECT count(*) FROM customer_reads") > 10
        await assert_documents_match(conn)
    finally:
        await conn.close()
