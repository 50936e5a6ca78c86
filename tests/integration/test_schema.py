"""Invariants of the projection schema that queries rely on."""
from __future__ import annotations

import uuid

import asyncpg
import pytest

from profile360.resources import projections_dir
from profile360.store.migrations import apply_pending, load_migrations, migrate

from . import oracle, workload

pytestmark = pytest.mark.integration
_COLUMNS = ("tenant_id", "event_id", "customer_id", "interaction_type", "occurred_at", "offer_id", "value")


async def test_every_id_column_uses_the_c_collation(settings):
    """Ids are compared and ordered byte for byte (as the folds do), and joined across tables:
    one collation everywhere keeps those joins on their indexes."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("""
            SELECT table_name, column_name, collation_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type = 'text'
              AND (column_name LIKE '%\\_id' OR column_name = 'key')
              AND table_name NOT IN ('consumer_positions', 'schema_migrations')""")
    finally:
        await conn.close()
    assert len(rows) >= 20
    assert [(r["table_name"], r["column_name"]) for r in rows if r["collation_name"] != "C"] == []


async def test_migration_2_carries_customer_counts_over_from_history(stack):
    """A database that applied only migration 1 and holds events gets, from migration 2,
    per-customer rows equal to an independent fold of those events. The database predates
    generations too (tables in ``public``): ``migrate`` moves them into generation 1 first."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(stack.database)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    conn = await asyncpg.connect(f"{stack.database.rpartition('/')[0]}/{name}")
    try:
        first, *rest = load_migrations(projections_dir())
        await apply_pending(conn, [first])  # the layout of a release before generations
        events = workload.interactions("acme", 300) + [{**workload.interactions("acme", 1)[0], "eventId": "no-offer",
                                                         "type": "click", "offerId": None}]
        events[1]["value"], events[2]["value"] = 0.30000000000000004, 1e-300  # shortest forms need 17 digits
        await conn.copy_records_to_table("interaction_history", columns=_COLUMNS, records=[
            (e["tenantId"], e["eventId"], e["customerId"], e["type"], e["occurredAt"], e["offerId"], e["value"])
            for e in events])
        await migrate(conn, rest)
        assert await conn.fetchval("SELECT to_regclass('p360_g1.interaction_history') IS NOT NULL")
        assert await conn.fetchval("SELECT count(*) FROM interaction_history") == len(events)
        rows = await conn.fetch("SELECT * FROM customer_daily")
        assert oracle.bucket_rows(rows) == oracle.expected_customer_daily(events)
        assert await conn.fetchval("SELECT to_regclass('customer_action_days')") is None
    finally:
        await conn.close()
