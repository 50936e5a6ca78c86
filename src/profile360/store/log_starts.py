"""Where ``purge`` deliberately moved the start of a partition's log (``public.purged``).

A rebuild must read each topic from its first record. A log that starts later than the last
purge boundary lost records to something else (retention, a broker accident), and a rebuild
from it would silently drop them: ``worker.rebuild`` refuses that unless told otherwise.
"""
from __future__ import annotations

import asyncpg

TP = tuple[str, int]


async def ensure_table(conn: asyncpg.Connection) -> None:
    """Called by ``migrate`` (the table lives in ``public``, outside the generations)."""
    await conn.execute("""CREATE TABLE IF NOT EXISTS public.purged (
        topic text COLLATE "C" NOT NULL, partition integer NOT NULL, before_offset bigint NOT NULL,
        purged_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (topic, partition))""")


async def record(conn: asyncpg.Connection, tp: TP, before_offset: int) -> None:
    await conn.execute("""INSERT INTO public.purged (topic, partition, before_offset) VALUES ($1, $2, $3)
                          ON CONFLICT (topic, partition) DO UPDATE SET
                            before_offset = GREATEST(purged.before_offset, EXCLUDED.before_offset), purged_at = now()""",
                       tp[0], tp[1], before_offset)


async def truncated(conn: asyncpg.Connection, starts: dict[TP, int]) -> dict[TP, int]:
    """The partitions (with their log start) whose log starts beyond the last purge boundary."""
    bounds = {(r["topic"], r["partition"]): r["before_offset"]
              for r in await conn.fetch("SELECT topic, partition, before_offset FROM public.purged")}
    return {tp: start for tp, start in starts.items() if start > bounds.get(tp, 0)}
