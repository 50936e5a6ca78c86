"""``python -m bench.api_costs``: what one API process spends per request on the cheap routes.

One API process (``P360_API_PROCESSES=1``) on a small bench data set (interactions, catalog,
identities and consent of ``--customers`` customers, applied with the worker's ``apply_batch``
straight into PostgreSQL: no Kafka needed), each route loaded at ``--concurrency`` for
``--seconds``, beside the trivial aiohttp endpoint of the same run. Per route: requests/s,
p50/p99, and the CPU the API process and the PostgreSQL server spent per request (from
``/proc``, so a busy machine moves the rates but hardly the CPU per request).

``--profile DIR``: afterwards, a second pass per route with py-spy sampling the API process
(collapsed stacks in ``DIR/<route>.txt``), and the top functions of each printed.

PostgreSQL: ``DATABASE_URL`` (a server where a database may be created), else a private
cluster under ``--pg-dir``. The data set is kept in database ``api_costs_<events>_<customers>``
and reused by the next run with the same sizes.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import asyncpg

from bench import api_probe, people, services, stacks, workload
from bench.raw import FakeRecord
from profile360.bootstrap import apply_migrations, load_codec
from profile360.devstack import free_port
from profile360.events.definitions import TenantConfigured
from profile360.settings import Settings
from profile360.store import api_keys
from profile360.store.writer import Entry, apply_batch
from profile360.worker.decode import decode_records

TENANT = workload.TENANT


def routes(customers: int, seed: int) -> list[tuple[str, object]]:
    """(label, path or a function giving a new path per request) of the routes measured."""
    rnd = random.Random(seed)

    def customer() -> str:
        return workload.customer_id(rnd.randrange(customers))

    return [("history, tenant newest 20", "/api/v1/interaction-history?limit=20"),
            ("history, random customer", lambda: f"/api/v1/interaction-history?limit=20&customerId={customer()}"),
            ("summary groupBy=action", "/api/v1/interaction-summary?groupBy=action"),
            ("summary groupBy=treatment", "/api/v1/interaction-summary?groupBy=treatment"),
            ("summary groupBy=channel", "/api/v1/interaction-summary?groupBy=channel"),
            ("unified profile, random customer", lambda: f"/api/v1/customers/{customer()}/unified-profile"),
            ("customer360 overview", "/en/api/customer360")]


async def _apply(settings: Settings, named: dict[str, list[tuple[bytes, bytes]]]) -> None:
    codec = load_codec()
    conn = await asyncpg.connect(settings.database_url)
    try:
        for family, messages in named.items():
            topic = settings.topic(family)
            records = [FakeRecord(topic, 0, i, 0, k, v) for i, (k, v) in enumerate(messages)]
            entries, dead = decode_records(codec, records, settings.max_event_bytes)
            assert not dead, dead[:1]
            for i in range(0, len(entries), 5000):
                await apply_batch(conn, "api-costs", entries[i:i + 5000])
        gate = TenantConfigured("api-costs-gate", TENANT, datetime.now(timezone.utc), is_customer360=True)
        await apply_batch(conn, "api-costs", [Entry(settings.topic("definitions"), 0, 0, gate)])
    finally:
        await conn.close()


async def prepare(base_url: str, events: int, customers: int, seed: int) -> Settings:
    """Settings of the run's database, created and filled unless it already holds the data set
    (a kept one is migrated to this build's schema first, as ``profile360 migrate`` would)."""
    name = f"api_costs_{events}_{customers}_{seed}"
    settings = replace(Settings(), database_url=services.with_database(base_url, name), topic_prefix="api-costs",
                       api_processes=1)
    conn = await asyncpg.connect(base_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await apply_migrations(settings)
    if not exists:
        say(f"loading {events:,} interactions over {customers:,} customers into {name} ...")
        codec = load_codec()
        wl = workload.build(codec, events, customers, seed)
        who = people.records(customers, seed)
        await _apply(settings, {"catalog": wl.catalog, "interactions": wl.interactions,
                                "identity": people.encode(codec, who["identity"]),
                                "consent": people.encode(codec, who["consent"])})
    return settings


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far (gone processes count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(pg_dir: Path | None) -> list[int]:
    """The PostgreSQL cluster's processes (postmaster and children), when it is ours."""
    if pg_dir is None:
        return []
    postmaster = int((pg_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    out = [postmaster]
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                out.append(int(entry.name))
        except OSError:
            continue
    return out


async def measure(url: object, args: argparse.Namespace, headers: dict, api_pid: int | None,
                  pg_dir: Path | None) -> tuple[api_probe.Load, float, float]:
    """The load, and CPU µs per request of the API process and of PostgreSQL in its window."""
    pids = [api_pid] if api_pid else []
    api0, pg0 = cpu_seconds(pids), cpu_seconds(server_pids(pg_dir))
    load = await api_probe.drive(url, args.seconds, args.concurrency, headers)
    api1, pg1 = cpu_seconds(pids), cpu_seconds(server_pids(pg_dir))
    n = max(load.requests, 1)
    return load, 1e6 * (api1 - api0) / n, 1e6 * (pg1 - pg0) / n


async def profile(pid: int, url: object, args: argparse.Namespace, headers: dict, out: Path) -> str:
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--format", "raw",
                            "-o", str(out), "--duration", str(int(args.seconds) + 2)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(0.5)  # py-spy attaching
    await api_probe.drive(url, args.seconds, args.concurrency, headers)
    await asyncio.to_thread(spy.wait)
    return stacks.top(out, args.top) if out.exists() else "(no samples)"


def row(label: str, load: api_probe.Load, trivial: float, api_us: float, pg_us: float) -> str:
    return (f"| {label} | {load.rate:,.0f} | {100 * load.rate / trivial:.1f} % | {load.p50_ms:.1f} | {load.p99_ms:.1f} "
            f"| {api_us:,.0f} | {pg_us:,.0f} | {load.errors} |")


async def run(args: argparse.Namespace, base_url: str, pg_dir: Path | None) -> None:
    settings = await prepare(base_url, args.events, args.customers, args.seed)
    conn = await asyncpg.connect(settings.database_url)
    try:
        headers = {"Authorization": f"Bearer {await api_keys.create(conn, TENANT, 'admin', 'api-costs')}"}
    finally:
        await conn.close()
    port = free_port()
    proc = api_probe.start_trivial(port)
    try:
        await api_probe.wait_http(f"http://127.0.0.1:{port}/", proc)
        trivial, t_us, _ = await measure(f"http://127.0.0.1:{port}/", args, {}, proc.pid, None)
    finally:
        api_probe.stop(proc)
    print("| route | req/s | ÷ trivial | p50 ms | p99 ms | API CPU µs/req | PostgreSQL CPU µs/req | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(row("trivial aiohttp {\"ok\": true}", trivial, trivial.rate, t_us, 0))
    port = free_port()
    proc = api_probe.start_app(replace(settings, api_processes=1), port)
    todo = [(label, (lambda p=path: f"http://127.0.0.1:{port}{p() if callable(p) else p}"))
            for label, path in routes(args.customers, args.seed) if not args.only or args.only in label]
    try:
        await api_probe.wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        for label, url in todo:
            load, api_us, pg_us = await measure(url, args, headers, proc.pid, pg_dir)
            print(row(label, load, trivial.rate, api_us, pg_us) + (f" {load.first_error}" if load.errors else ""), flush=True)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for label, url in todo:
                out = args.profile / (label.replace(" ", "_").replace(",", "").replace("=", "-") + ".txt")
                print(f"\n### {label}\n```\n{await profile(proc.pid, url, args, headers, out)}\n```", flush=True)
    finally:
        api_probe.stop(proc)


def say(msg: str) -> None:
    print(f"api_costs: {msg}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.api_costs", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=100_000, help="interaction events (default 100,000)")
    p.add_argument("--customers", type=int, default=10_000, help="customers (default 10,000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--seconds", type=float, default=4.0, help="seconds per route (default 4)")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--only", help="only the routes whose label contains this")
    p.add_argument("--profile", type=Path, metavar="DIR", help="also sample the API process with py-spy per route")
    p.add_argument("--top", type=int, default=15, help="functions listed per profile")
    p.add_argument("--pg-dir", type=Path, default=Path("/tmp/p360-apicosts"),
                   help="private PostgreSQL cluster used when DATABASE_URL is not set")
    args = p.parse_args(argv)
    pg_dir = None
    base_url = os.environ.get("DATABASE_URL")
    if base_url is None:
        from profile360.devstack.postgres import start_postgres

        pg_dir = args.pg_dir.resolve()
        base_url = start_postgres(pg_dir, free_port())
    asyncio.run(run(args, base_url, pg_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
