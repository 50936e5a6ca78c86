"""Schema migrations: the numbered SQL files of ``projections/``, each applied once.

``migrate`` is idempotent and safe to run concurrently (an advisory lock serialises callers).
Worker and API call ``check_schema`` at start and refuse to run against an older schema.
"""
from __future__ import annotations

import functools
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


@functools.cache
def build_version() -> int:
    """The schema version this build writes: its newest migration."""
    from profile360.resources import projections_dir

    return max(m.version for m in load_migrations(projections_dir()))


def load_migrations(directory: Path) -> list[Migration]:
    """Every ``NNNN_name.sql`` of ``directory``, in order; ``FileNotFoundError`` when there is
    none (a package without its SQL must not "migrate" by applying nothing)."""
    found = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append(Migration(int(path.name[:4]), path.stem, path.read_text()))
    if not found:
        raise FileNotFoundError(f"no migrations (NNNN_name.sql) under {directory}")
    return found


async def migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Apply the migrations not applied yet to the current generation (creating generation 1
    on first use), each in its own transaction; returns their names. A generation being
    rebuilt gets them when the rebuild resumes."""
    from profile360.store import api_keys, generations, log_starts

    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await generations.ensure_layout(conn)
        await api_keys.ensure_table(conn)
        await log_starts.ensure_table(conn)
        return await generations.migrate_generation(conn, await generations.current(conn), migrations)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def apply_pending(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Apply the migrations missing from ``schema_migrations`` of the schema first on the
    connection's ``search_path``; the caller holds the migration lock."""
    applied = []
    await conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
    done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    for m in migrations:
        if m.version in done:
            continue
        async with conn.transaction():
            await conn.execute(m.sql)
            await _backfill(conn, m.version)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
        applied.append(m.name)
    return applied


async def _backfill(conn: asyncpg.Connection, version: int) -> None:
    """Fill what a migration creates from existing rows where SQL alone cannot (the derivation
    lives in Python), in the migration's transaction."""
    from profile360.store import read_models

    backfills = {12: read_models.backfill}
    if version in backfills:
        await backfills[version](conn)


async def locked(conn: asyncpg.Connection):
    """Take the migration lock (session level) on ``conn``; release with ``unlock``."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)


async def unlock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def check_schema(conn: asyncpg.Connection, migrations: list[Migration]) -> int:
    """Raise ``SchemaMismatch`` unless every migration is applied; return the schema version."""
    expected = max(m.version for m in migrations)
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    current = await conn.fetchval("SELECT max(version) FROM schema_migrations") if exists else None
    if current != expected:
        raise SchemaMismatch(f"database schema is at version {current}, this build needs {expected}: run `profile360 migrate`")
    return expected
