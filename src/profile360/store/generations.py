"""Generations of the projection tables (blue/green rebuilds).

Every generation is a PostgreSQL schema, ``p360_g<N>``, holding all projection tables, its
own ``schema_migrations`` and ``consumer_positions``. ``public.generations`` says which one is
*current*; ``public`` holds one view per table of the current generation, so readers (the API,
tools) use unqualified names and never see a generation change in the middle of a statement.

Contract between writers and the switch:
- A live writer transaction starts with ``enter_current``: it takes the generation lock in
  shared mode, then points its ``search_path`` at the current generation, so everything it
  writes, including the stored positions, lands in one generation.
- A switch takes the same lock exclusively (``hold_writers``): it waits for the live
  transactions in flight and keeps new ones out; then, in that transaction, ``switch_to`` hands
  every consumer the new generation's positions, marks it current and re-points the views. A live worker's next batch lands in the new generation and
  continues from its positions (``writer.apply_batch`` reports a gap and the worker re-seeks).
- A rebuild writes into a *building* generation through a pool whose ``search_path`` names it.
"""
from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass

import asyncpg
import orjson

from profile360.store.migrations import Migration, SchemaMismatch, apply_pending, build_version

PREFIX = "p360_g"

#: the tables of each projection, for ``rebuild --projection`` (erasures are always rebuilt)
PROJECTIONS = {
    "interactions": ("interaction_history", "customer_daily", "interaction_summary_daily", "interaction_totals",
                     "customer_reads"),
    "catalog": ("offers", "creatives", "channels"),
    "profiles": ("identity_nodes", "identity_edges", "profile_facts", "tenant_settings", "metric_definitions",
                 "profile_reads"),
    "overview": ("profile_activity", "overview_counts", "profile_windows", "window_bases"),  # derived: recomputed at a rebuild's end
    "segments": ("segment_definitions", "segment_members", "segment_counts"),
    "organizations": ("org_customers", "org_activity", "org_feedbacks", "org_highlights", "org_findings",
                      "org_finding_customers"),
}
_SWITCH_LOCK = 3_600_361  # advisory lock id: shared by live writers, exclusive for a switch
_REBUILD_LOCK = 3_600_362  # session lock: one rebuild at a time
VIEW_LOCK_TIMEOUT = 30.0


class RebuildConflict(RuntimeError):
    """Another rebuild holds the lock, or switched to the generation this one was building."""


async def one_rebuild_at_a_time(conn: asyncpg.Connection) -> None:
    """Take the rebuild lock for the life of ``conn``'s session, or fail at once."""
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _REBUILD_LOCK):
        raise RebuildConflict("another rebuild is running against this database; wait for it, or stop it first")


def schema_of(number: int) -> str:
    return f"{PREFIX}{number}"


@dataclass(frozen=True)
class Generation:
    number: int
    state: str  # building | current | retired

    @property
    def schema(self) -> str:
        return schema_of(self.number)


async def ensure_layout(conn: asyncpg.Connection) -> None:
    """Create ``public.generations`` and generation 1 on first use. A database laid out before
    generations existed (tables in ``public``) has its tables moved into generation 1."""
    if await conn.fetchval("SELECT to_regclass('public.generations') IS NOT NULL"):
        return
    async with conn.transaction():
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_of(1)}")
        legacy = await conn.fetch("""SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1""")
        for r in legacy:
            await conn.execute(f'ALTER TABLE public."{r["tablename"]}" SET SCHEMA {schema_of(1)}')
        await conn.execute("""CREATE TABLE public.generations (
            number integer PRIMARY KEY, state text NOT NULL CHECK (state IN ('building', 'current', 'retired')),
            created_at timestamptz NOT NULL DEFAULT now(), switched_at timestamptz,
            scope jsonb)""")  # a partial rebuild's projections and copy positions
        await conn.execute("CREATE UNIQUE INDEX generations_one_current ON public.generations (state) WHERE state = 'current'")
        await conn.execute("INSERT INTO public.generations (number, state, switched_at) VALUES (1, 'current', now())")


async def current(conn: asyncpg.Connection) -> Generation:
    number = await conn.fetchval("SELECT number FROM public.generations WHERE state = 'current'")
    return Generation(number, "current")


async def building(conn: asyncpg.Connection) -> tuple[Generation, dict | None] | None:
    """The generation being built, if any, with the scope of its partial rebuild (or None)."""
    row = await conn.fetchrow("SELECT number, scope FROM public.generations WHERE state = 'building' "
                              "ORDER BY number DESC LIMIT 1")
    return (Generation(row["number"], "building"), orjson.loads(row["scope"]) if row["scope"] else None) if row else None


async def set_scope(conn: asyncpg.Connection, gen: Generation, scope: dict) -> None:
    await conn.execute("UPDATE public.generations SET scope = $2::jsonb WHERE number = $1", gen.number,
                       orjson.dumps(scope).decode())


async def all_generations(conn: asyncpg.Connection) -> list[Generation]:
    return [Generation(r["number"], r["state"])
            for r in await conn.fetch("SELECT number, state FROM public.generations ORDER BY number")]


async def migrate_generation(conn: asyncpg.Connection, gen: Generation, migrations: list[Migration]) -> list[str]:
    """Apply pending migrations inside ``gen``'s schema; re-point the views if it is current."""
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {gen.schema}")
    await conn.execute(f"SET search_path TO {gen.schema}")
    try:
        applied = await apply_pending(conn, migrations)
    finally:
        await conn.execute("RESET search_path")
    if gen.state == "current" and (applied or not await _views_point_to(conn, gen)):
        async with conn.transaction():
            await _point_views(conn, gen)
    return applied


async def create_building(conn: asyncpg.Connection, migrations: list[Migration]) -> Generation:
    """A new, empty generation with the whole schema, not yet visible to readers."""
    number = await conn.fetchval(
        "INSERT INTO public.generations (number, state) SELECT coalesce(max(number), 0) + 1, 'building' "
        "FROM public.generations RETURNING number")
    gen = Generation(number, "building")
    await conn.execute(f"DROP SCHEMA IF EXISTS {gen.schema} CASCADE")
    await migrate_generation(conn, gen, migrations)
    return gen


class GenerationMismatch(SchemaMismatch):
    """The current generation has another schema than this build writes (a rebuild by another
    release switched to it): this process must stop and be replaced by that release."""


_CHECKED: "weakref.WeakKeyDictionary[asyncpg.Connection, int]" = weakref.WeakKeyDictionary()


async def enter_current(conn: asyncpg.Connection) -> int:
    """Inside a transaction: hold off any switch until commit and write to the current
    generation, if its schema is the one this build writes (else ``GenerationMismatch``).
    Returns its number."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", _SWITCH_LOCK)
    number = (await conn.fetchrow(
        "SELECT number, set_config('search_path', $1 || number::text || ', public', true) "
        "FROM public.generations WHERE state = 'current'", PREFIX))["number"]
    raw = getattr(conn, "_con", None) or conn  # a pool hands out a new proxy per acquire
    if _CHECKED.get(raw) != number:
        found = await conn.fetchval("SELECT max(version) FROM schema_migrations")
        if found != build_version():
            raise GenerationMismatch(f"the current generation {number} has schema version {found}, this build writes "
                                     f"{build_version()}: run the release that built it")
        _CHECKED[raw] = number
    return number


async def hold_writers(conn: asyncpg.Connection) -> dict[tuple[str, int], int]:
    """Inside a transaction: wait for the live writers in flight and keep new ones out until
    commit. Returns how far the current generation got per partition (over all consumers)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _SWITCH_LOCK)
    old = await current(conn)
    rows = await conn.fetch(f"SELECT topic, partition, max(next_offset) AS o FROM {old.schema}.consumer_positions "
                            "GROUP BY topic, partition")
    return {(r["topic"], r["partition"]): r["o"] for r in rows}


async def switch_to(conn: asyncpg.Connection, gen: Generation, rebuild_consumer: str,
                    starts: dict[tuple[str, int], int]) -> Generation:
    """Inside the transaction of ``hold_writers``: make ``gen`` current; returns the generation
    it replaced. Every consumer that wrote the old generation continues from the rebuild's
    positions; partitions the rebuild never read continue from ``starts`` (their log start)."""
    old = await current(conn)
    if old.number == gen.number or await conn.fetchval(
            "SELECT state FROM public.generations WHERE number = $1", gen.number) != "building":
        raise RebuildConflict(f"generation {gen.number} is no longer being built (another rebuild switched to it?)")
    consumers = [r["consumer"] for r in await conn.fetch(f"SELECT DISTINCT consumer FROM {old.schema}.consumer_positions")]
    await conn.execute(f"""
        INSERT INTO {gen.schema}.consumer_positions (consumer, topic, partition, next_offset)
        SELECT c, u.topic, u.partition, coalesce(p.next_offset, u.start)
        FROM unnest($1::text[]) AS c,
             unnest($3::text[], $4::int[], $5::bigint[]) AS u(topic, partition, start)
             LEFT JOIN {gen.schema}.consumer_positions p
               ON p.consumer = $2 AND p.topic = u.topic AND p.partition = u.partition
        ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset""",
        consumers, rebuild_consumer, [t for t, _ in starts], [p for _, p in starts], list(starts.values()))
    await conn.execute("UPDATE public.generations SET state = 'retired' WHERE number = $1", old.number)
    await conn.execute("UPDATE public.generations SET state = 'current', switched_at = now() WHERE number = $1",
                       gen.number)
    await _point_views(conn, Generation(gen.number, "current"))
    return Generation(old.number, "retired")


async def copy_others(conn: asyncpg.Connection, new: Generation, keep: frozenset[str]) -> dict[tuple[str, int], int]:
    """Copy into ``new`` the tables of every projection not in ``keep``, from one snapshot of
    the current generation; returns the positions that snapshot stands at (per partition,
    over all consumers). Live writers are not held."""
    async with conn.transaction(isolation="repeatable_read"):
        old = await current(conn)
        rows = await conn.fetch(f"SELECT topic, partition, max(next_offset) AS o FROM {old.schema}.consumer_positions "
                                "GROUP BY topic, partition")
        for name, tables in PROJECTIONS.items():
            if name not in keep:
                for table in tables:
                    await conn.execute(f'INSERT INTO {new.schema}."{table}" SELECT * FROM {old.schema}."{table}"')
    return {(r["topic"], r["partition"]): r["o"] for r in rows}


async def drop(conn: asyncpg.Connection, gen: Generation) -> None:
    """Remove a retired or abandoned generation and its tables (never the current one: its
    state is read from the database, not from ``gen``)."""
    state = await conn.fetchval("SELECT state FROM public.generations WHERE number = $1", gen.number)
    if state == "current" or gen.state == "current":
        raise ValueError(f"generation {gen.number} is current: it cannot be dropped")
    await conn.execute(f"DROP SCHEMA IF EXISTS {gen.schema} CASCADE")
    await conn.execute("DELETE FROM public.generations WHERE number = $1", gen.number)


async def _tables(conn: asyncpg.Connection, schema: str) -> list[str]:
    return [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)]


async def _point_views(conn: asyncpg.Connection, gen: Generation) -> None:
    """One view in ``public`` per table of ``gen`` (inside the caller's transaction)."""
    views = [r["viewname"] for r in await conn.fetch(
        "SELECT viewname FROM pg_views WHERE schemaname = 'public' AND definition LIKE '%' || $1 || '%'", PREFIX)]
    await _lock_views(conn, views)
    for view in views:
        await conn.execute(f'DROP VIEW public."{view}"')
    for table in await _tables(conn, gen.schema):
        await conn.execute(f'CREATE VIEW public."{table}" AS SELECT * FROM {gen.schema}."{table}"')


async def _lock_views(conn: asyncpg.Connection, views: list[str]) -> None:
    """Lock every view at once, or none: a reader holding one view while it waits for another
    would otherwise deadlock with the switch. A short lock timeout makes the switch the one
    that backs off (and retries), never a reader."""
    if not views:
        return
    names = ", ".join(f'public."{v}"' for v in views)
    delay, deadline = 0.01, time.monotonic() + VIEW_LOCK_TIMEOUT
    while True:
        try:
            async with conn.transaction():  # a savepoint: a timed-out attempt leaves nothing behind
                await conn.execute("SET LOCAL lock_timeout = '50ms'")
                await conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
                await conn.execute("SET LOCAL lock_timeout = 0")
            return
        except asyncpg.LockNotAvailableError:
            if time.monotonic() > deadline:  # the caller's transaction aborts: live writers go on
                raise TimeoutError(f"readers held the views for {VIEW_LOCK_TIMEOUT:.0f}s; the switch was abandoned") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)


async def _views_point_to(conn: asyncpg.Connection, gen: Generation) -> bool:
    tables = set(await _tables(conn, gen.schema))
    views = {r["viewname"]: r["definition"] for r in await conn.fetch(
        "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'")}
    return all(t in views and f"{gen.schema}." in views[t] for t in tables)
