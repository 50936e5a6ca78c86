"""``python -m bench.people_costs``: where the worker's time goes on identity and consent events.

The bench's identity and consent records of ``--customers`` customers are decoded and applied
with the worker's ``apply_batch`` (batches of ``--batch``) into a fresh database on the
devstack PostgreSQL (``DATABASE_URL`` or the default settings), with no Kafka, under cProfile;
the top functions by cumulative time are printed. The database is dropped afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
import uuid
from dataclasses import replace

import asyncpg

from bench import people, services
from bench.raw import FakeRecord
from profile360.bootstrap import apply_migrations, load_codec
from profile360.settings import Settings
from profile360.store.writer import apply_batch
from profile360.worker.decode import decode_records


async def run(args: argparse.Namespace) -> None:
    base = Settings().database_url
    name = f"people_costs_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = replace(Settings(), database_url=services.with_database(base, name))
    try:
        await apply_migrations(settings)
        codec, who = load_codec(), people.records(args.customers, args.seed)
        entries = []
        for family in ("identity", "consent"):
            records = [FakeRecord(settings.topic(family), 0, i, 0, k, v)
                       for i, (k, v) in enumerate(people.encode(codec, who[family]))]
            entries.append(decode_records(codec, records, settings.max_event_bytes)[0])
        conn = await asyncpg.connect(settings.database_url)
        profiler, started, n = cProfile.Profile(), time.perf_counter(), 0
        try:
            profiler.enable()
            for family in entries:
                for i in range(0, len(family), args.batch):
                    n += len(family[i:i + args.batch])
                    await apply_batch(conn, "people-costs", family[i:i + args.batch])
            profiler.disable()
        finally:
            await conn.close()
        print(f"{n:,} events in {time.perf_counter() - started:.1f} s (under cProfile)")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.people_costs", description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=20_000, help="customers of the bench's people records")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", type=int, default=2_000, help="events per apply_batch")
    p.add_argument("--top", type=int, default=30, help="functions to print")
    asyncio.run(run(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
