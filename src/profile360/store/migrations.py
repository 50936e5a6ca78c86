"""Schema migrations: the numbered SQL files of ``projections/``, each applied once.

``migrate`` is idempotent and safe to run concurrently (an advisory lock serialises callers).
Worker and API call ``check_schema`` at start and refuse to run against an older schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

_LOCK_ID = 3_600_360


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


class SchemaMismatch(RuntimeError):
    pass


def load_migrations(directory: Path) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append(Migration(int(path.name[:4]), path.stem, path.read_text()))
    return found


async def migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Apply the migrations not applied yet, each in its own transaction; returns their names."""
    applied = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for m in migrations:
            if m.version in done:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
            applied.append(m.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return applied


async def check_schema(conn: asyncpg.Connection, migrations: list[Migration]) -> int:
    """Raise ``SchemaMismatch`` unless every migration is applied; return the schema version."""
    expected = max(m.version for m in migrations)
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    current = await conn.fetchval("SELECT max(version) FROM schema_migrations") if exists else None
    if current != expected:
        raise SchemaMismatch(f"database schema is at version {current}, this build needs {expected}: run `profile360 migrate`")
    return expected
