"""The one way to get a connection pool: to a database whose schema matches this build."""
from __future__ import annotations

from typing import Any

import asyncpg

from profile360.resources import projections_dir
from profile360.store.migrations import check_schema, load_migrations


async def open_checked_pool(database_url: str, size: int, **options: Any) -> tuple[asyncpg.Pool, int]:
    """A pool and the schema version; raises ``SchemaMismatch`` (pool closed) when the
    database is not migrated to what this build needs."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=size, **options)
    try:
        async with pool.acquire() as conn:
            version = await check_schema(conn, load_migrations(projections_dir()))
    except BaseException:
        await pool.close()
        raise
    return pool, version
