"""An extra process of a rebuild: ``rebuild --processes N`` runs N-1 of these beside its own
worker, so a rebuild uses as many cores as the live worker may.

``python -m profile360.worker.rebuild_member GENERATION [--parent-pid PID]``, with the settings in the
environment (``Settings.to_env``). It joins the rebuild's consumer group and applies into the
building generation ``GENERATION``, with the same scope as the rebuild, until SIGTERM; it
exits with code 3 at once if that generation is no longer being built. The rebuild stops its
members before it switches, and they die with it (see ``profile360.processes``).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import replace

import asyncpg

from profile360.bootstrap import load_codec, on_signals
from profile360.outages import riding_out
from profile360.settings import Settings
from profile360.store import generations
from profile360.store.writer import Scope
from profile360.processes import die_with
from profile360.worker.runner import Worker

log = logging.getLogger(__name__)

NOT_BUILDING = 3


def group_of(settings: Settings, gen: generations.Generation) -> str:
    """The consumer group of the rebuild into ``gen``."""
    return f"{settings.consumer_group}.rebuild.g{gen.number}"


def scope_of(saved: dict | None) -> Scope | None:
    """The scope a partial rebuild saved with its generation (None: every projection)."""
    if not saved or not saved.get("only"):
        return None
    return Scope(frozenset(saved["only"]), {(t, p): o for t, p, o in saved["full_from"]})


async def open_pool(settings: Settings, gen: generations.Generation) -> asyncpg.Pool:
    """Connections that write the building generation ``gen``."""
    return await asyncpg.create_pool(settings.database_url, min_size=1, max_size=settings.apply_concurrency + 2,
                                     command_timeout=300, server_settings={"search_path": f"{gen.schema}, public"})


async def _building(settings: Settings) -> tuple[generations.Generation, dict | None] | None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return await generations.building(conn)
    finally:
        await conn.close()


async def run(settings: Settings, number: int) -> int:
    found = await riding_out(_building, settings, what="connecting to PostgreSQL")
    if found is None or found[0].number != number:
        log.error("generation %d is not being built; nothing to do", number)
        return NOT_BUILDING
    gen, saved = found
    pool = await riding_out(open_pool, settings, gen, what="connecting to PostgreSQL")
    try:
        worker = Worker(replace(settings, consumer_group=group_of(settings, gen)), load_codec(), pool, live=False,
                        scope=scope_of(saved))
        on_signals(worker.stop)
        await worker.run()
    finally:
        await pool.close()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m profile360.worker.rebuild_member")
    parser.add_argument("generation", type=int)
    parser.add_argument("--parent-pid", type=int, help="stop when this process ends (set by the rebuild)")
    args = parser.parse_args()
    if args.parent_pid is not None:
        die_with(args.parent_pid)
    from profile360 import logs
    settings = Settings.from_env()
    logs.configure(log_format=settings.log_format)
    sys.exit(asyncio.run(run(settings, args.generation)))


if __name__ == "__main__":
    main()
