"""``python -m bench.people_costs``: where the worker's time goes, per record family, with no Kafka.

The bench's identity and consent records of ``--customers`` customers, then ``--interactions``
interaction events over the same customers (the bench's workload: Zipf customers, 30 days),
are decoded and applied with the worker's ``apply_batch`` (batches of ``--batch``) into a fresh
database on the devstack PostgreSQL (``DATABASE_URL`` or the default settings). Each family's
seconds and events/s are printed; with ``--profile`` under cProfile, with each family's top
functions by cumulative time; with ``--statements``, the seconds spent in each SQL statement (round trip
included) beside the family's total. The database is dropped afterwards.
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

from bench import people, services, workload
from bench.raw import FakeRecord, TimedConnection
from profile360.bootstrap import apply_migrations, load_codec
from profile360.settings import Settings
from profile360.store.writer import apply_batch
from profile360.worker.decode import decode_records


def _families(args: argparse.Namespace, settings: Settings, codec) -> dict[str, list]:
    """Decoded entries per family, in the order they are applied."""
    who = people.records(args.customers, args.seed)
    encoded = {family: people.encode(codec, who[family]) for family in ("identity", "consent")}
    if args.interactions:
        wl = workload.build(codec, args.interactions, args.customers, args.seed)
        encoded["catalog"], encoded["interactions"] = wl.catalog, wl.interactions
    out = {}
    for family, pairs in encoded.items():
        records = [FakeRecord(settings.topic(family), 0, i, 0, k, v) for i, (k, v) in enumerate(pairs)]
        out[family] = decode_records(codec, records, settings.max_event_bytes)[0]
    return out


async def _apply(conn: asyncpg.Connection, entries: list, batch: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(entries), batch):
        await apply_batch(conn, "people-costs", entries[i:i + batch])
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    base = Settings().database_url
    name = f"people_costs_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = replace(Settings(), database_url=services.with_database(base, name))
    try:
        await apply_migrations(settings)
        families = _families(args, settings, load_codec())
        conn = TimedConnection(await asyncpg.connect(settings.database_url))
        try:
            for family, entries in families.items():
                profiler = cProfile.Profile()
                if args.profile:
                    profiler.enable()
                conn.spent.clear()
                seconds = await _apply(conn, entries, args.batch)
                profiler.disable()
                print(f"{family:>12}: {len(entries):>9,} events in {seconds:6.1f} s = {len(entries) / seconds:8,.0f} events/s")
                if args.statements:
                    for label, spent in conn.spent.most_common(args.top):
                        print(f"{spent:10.2f} s  {label}")
                if args.profile:
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.people_costs", description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=20_000, help="customers of the bench's people records")
    p.add_argument("--interactions", type=int, default=0, help="interaction events applied after the people records")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", type=int, default=2_000, help="events per apply_batch")
    p.add_argument("--profile", action="store_true", help="run under cProfile and print the top functions")
    p.add_argument("--statements", action="store_true", help="print the seconds spent per SQL statement")
    p.add_argument("--top", type=int, default=30, help="functions (or statements) to print")
    asyncio.run(run(p.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
