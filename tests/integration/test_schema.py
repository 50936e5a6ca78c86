"""Invariants of the projection schema that queries rely on."""
from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.integration


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
