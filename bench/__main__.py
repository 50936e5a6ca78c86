"""``python -m bench``: one run, one orchestrating process; prints a markdown table.

Order: generate + encode the workload; producer alone; end-to-end through the worker process;
raw Kafka consume (with and without decode); the worker's decode on in-memory values; COPY
into PostgreSQL (without and with indexes); Faust bare stream; HTTP API; the writer alone.
Everything runs in a fresh database ``bench_<stamp>`` and under topics ``bench-<stamp>.*``,
both removed at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import random
import shlex
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench import (api_probe, collect, crowd, limits_sweep, e2e, faust_probe, freshness, goals, people, profile_reads, raw,
                   report, services, workload)
from bench.report import Figure
from profile360.bootstrap import load_codec
from profile360.settings import Settings


#: the read routes measured under a crowd of clients (keys of ``api_probe.app_targets``)
CROWD_ROUTES = tuple(route for route, _ in goals.CROWD)
STEPS = ("produce_alone", "end_to_end", "raw_consume", "copy", "faust", "api", "writer_alone", "profiles", "rebuild",
         "collect")
#: steps run only when named in ``--steps``
OPTIONAL_STEPS = ("limits",)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="interaction events (default 1,000,000)")
    p.add_argument("--customers", type=int, default=100_000, help="distinct customer ids (default 100,000)")
    p.add_argument("--seed", type=int, default=42, help="workload seed (default 42)")
    p.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent of the customer distribution (default 1.0)")
    p.add_argument("--mixed-events", type=int, default=200_000,
                   help="new interactions published with the identity and consent events (default 200,000)")
    p.add_argument("--fresh-seconds", type=float, default=15,
                   help="seconds of steady mixed load during the freshness probe (default 15)")
    p.add_argument("--shuffled", action="store_true",
                   help="publish events in random time order (a 30-day backfill) instead of arrival order")
    p.add_argument("--batch-max-records", type=int, default=None,
                   help="worker batch size (default: P360_BATCH_MAX_RECORDS, else 5000)")
    p.add_argument("--worker-processes", type=int, default=2,
                   help="processes of the end-to-end worker (`profile360 worker --processes N`, default 2: one per core)")
    p.add_argument("--api-seconds", type=float, default=5.0, help="seconds per API endpoint (default 5)")
    p.add_argument("--api-concurrency", type=int, default=16, help="concurrent request loops (default 16)")
    p.add_argument("--crowd", type=int, default=400, help="concurrent clients of the crowd rows (issue 13)")
    p.add_argument("--crowd-seconds", type=float, default=8.0, help="seconds of each crowd row")
    p.add_argument("--api-processes", type=int, default=2,
                   help="API processes of the second pass over the read routes (`profile360 api --processes N`, "
                        "default 2; 1 skips that pass); the first pass is always one process")
    p.add_argument("--collect-events", type=int, default=100_000,
                   help="interactions of the collect step: sent once by `profile360 produce`, and POSTed in batches of "
                        f"{collect.BATCH} to /api/v1/events for --api-seconds (default 100,000; 0 skips it)")
    p.add_argument("--faust-events", type=int, default=200_000, help="events the Faust probe reads (0 skips it)")
    p.add_argument("--faust-timeout", type=float, default=180.0, help="hard timeout of the Faust probe, s")
    p.add_argument("--writer-events", type=int, default=200_000,
                   help="events the writer-alone probe applies (0 skips it)")
    p.add_argument("--profile-worker", type=Path, default=None,
                   help="sample the worker with py-spy during the timed window (collapsed stacks to FILE)")
    p.add_argument("--steps", default=None,
                   help="comma-separated subset of the measurements, in order (default: all): " + ", ".join(STEPS)
                   + "; also " + ", ".join(OPTIONAL_STEPS) + ", only when named")
    p.add_argument("--out", type=Path, default=None, help="also write the markdown report to FILE")
    p.add_argument("--keep", action="store_true", help="keep the database and topics of this run")
    return p.parse_args(argv)


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


class Run:
    """The measurements of one run, appended to ``figures`` in report order."""

    def __init__(self, settings: Settings, args: argparse.Namespace, workdir: Path):
        self.settings, self.args, self.workdir = settings, args, workdir
        self.codec = load_codec()
        self.figures: list[Figure] = []
        self.wl = workload.Workload()
        self.entries: list = []

    def add(self, *args, **kwargs) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def add_load(self, key: str, name: str, load: api_probe.Load, more: str = "", **measures: float) -> None:
        """An API row: requests/s, with p50, p99, requests and errors (and ``more``) in its detail."""
        errors = f", {load.errors} errors (first: {load.first_error})" if load.errors else ""
        self.add(name, load.rate, "requests/s",
                 f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.requests:,} requests{errors}"
                 + (f"; {more}" if more else ""), role="api", key=key, measures={"p99_ms": load.p99_ms, **measures},
                 failure=f"{load.errors} errors: {load.first_error}" if not load.requests else None)

    def api_passes(self) -> tuple[int, ...]:
        """API processes of each pass over the read routes: one, then ``--api-processes`` if more."""
        return (1,) if self.args.api_processes <= 1 else (1, self.args.api_processes)

    def build_workload(self) -> None:
        a = self.args
        say(f"generating and encoding {a.events:,} events over {a.customers:,} customers ...")
        self.wl = workload.build(self.codec, a.events, a.customers, a.seed, a.zipf, shuffled=a.shuffled)
        self.add("Avro encode (codec.encode, in-memory)", rate(self.wl.encoded, self.wl.encode_seconds), "records/s",
                 f"{self.wl.encoded:,} records in {self.wl.encode_seconds:.1f} s; generation took "
                 f"{self.wl.generate_seconds:.1f} s more", role="info")

    async def produce_alone(self) -> None:
        say("producer alone (topic without consumer) ...")
        seconds = await e2e.produce_alone(self.settings, self.wl.interactions)
        self.add("Kafka produce alone (1 aiokafka producer, acks=all)", rate(len(self.wl.interactions), seconds),
                 "events/s", f"{len(self.wl.interactions):,} events in {seconds:.1f} s, 512 KiB batches per partition (send_batch)")

    async def end_to_end(self) -> None:
        say("end-to-end: worker process + producer ...")
        res = await e2e.run(self.settings, self.wl.catalog, self.wl.interactions, self.workdir / "worker.log",
                            self.args.profile_worker)
        self.add("**End-to-end** (produce → worker → PostgreSQL positions)", rate(res.events, res.seconds), "events/s",
                 f"{res.events:,} events in {res.seconds:.1f} s; worker CPU {res.worker_cpu / res.seconds:.0%} of one "
                 f"core, machine {res.machine_busy:.0%} busy; {self.settings.worker_processes} worker process(es); "
                 f"batch ≤ {self.settings.batch_max_records}", role="e2e", key="e2e")
        per_event = {"worker": res.worker_cpu, **res.service_cpu}
        self.add("CPU per event during end-to-end", sum(per_event.values()) / res.events * 1e6, "µs", "; ".join(
            f"{who} {seconds / res.events * 1e6:.0f} µs" for who, seconds in per_event.items()) +
            f"; the machine has {os.cpu_count()} cores, i.e. {os.cpu_count() / res.events * res.seconds * 1e6:.0f} µs "
            "of CPU per event at this rate", role="info")
        self.add("Kafka produce during end-to-end", rate(res.events, res.produce_seconds), "events/s",
                 f"{res.produce_seconds:.1f} s, worker consuming concurrently")
        self.add("Worker stop on SIGTERM", res.exit_seconds, "s",
                 f"exit code {res.exit_code}" if res.exit_code is not None else "did not exit in 30 s: killed",
                 role="info", failure=None if res.exit_code == 0 else f"exit code {res.exit_code}")

    async def raw_consume(self) -> None:
        topic, n = self.settings.topic("interactions"), len(self.wl.interactions)
        say("raw consume (group-less, getmany 10k) ...")
        plain = await raw.consume(self.settings, topic, n, None)
        self.add("Kafka consume alone (getmany 10k, no decode)", rate(n, plain), "events/s", f"{plain:.1f} s")
        decoded = await raw.consume(self.settings, topic, n, self.codec.decode)
        self.add("Kafka consume + codec.decode", rate(n, decoded), "events/s", f"{decoded:.1f} s")
        records = raw.fake_records(self.wl.interactions)
        seconds, self.entries = raw.decode_cpu(self.codec, records, self.settings.batch_max_records)
        self.add("Worker decode_records (decode + validate, in-memory)", rate(n, seconds), "events/s",
                 f"{seconds:.1f} s, CPU only")

    async def copy(self) -> None:
        n = len(self.wl.rows)
        for indexed in (False, True):
            say(f"COPY into a scratch table {'with' if indexed else 'without'} indexes ...")
            seconds = await raw.copy_rows(self.settings, self.wl.rows, indexed)
            what = "PK + the 4 interaction_history indexes" if indexed else "no indexes"
            self.add(f"PostgreSQL COPY, {what}", rate(n, seconds), "rows/s",
                     f"copy_records_to_table, 10k rows per call, {seconds:.1f} s")

    def faust(self) -> None:
        target = min(self.args.faust_events, len(self.wl.interactions))
        if target <= 0:
            return
        say(f"Faust bare stream over {target:,} events (timeout {self.args.faust_timeout:.0f} s) ...")
        res = faust_probe.run(self.settings, self.settings.topic("interactions"), target, self.args.faust_timeout,
                              self.workdir / "faust")
        self.add("Faust bare stream (take(10000, within=0.5), raw bytes)", rate(res.events, res.seconds) or None,
                 "events/s", f"{res.events:,} events in {res.seconds:.1f} s after {res.startup_seconds:.1f} s start-up"
                 if not res.error else "", role="faust", failure=res.error, key="faust")

    async def api(self) -> None:
        say(f"API: {self.args.api_seconds:.0f} s per endpoint at concurrency {self.args.api_concurrency}, "
            f"API processes {self.api_passes()} ...")
        results = await api_probe.run(self.settings, workload.TENANT, self.wl.hot_customer, self.args.api_seconds,
                                      self.args.api_concurrency, self.api_passes())
        for key, label, load in results:
            self.add_load(key, f"API: {label}", load)
        await self._crowd()

    async def _crowd(self) -> None:
        """Issue 13's rows: ``--crowd`` clients on three read routes, one API process with its limits."""
        a = self.args
        say(f"API: {a.crowd} concurrent clients, {a.crowd_seconds:.0f} s per route ...")
        async with api_probe.serving_app(self.settings, 1) as base:
            headers = await api_probe.auth_headers(self.settings, workload.TENANT)
            for key, label, path in api_probe.app_targets(workload.TENANT, self.wl.hot_customer):
                if key not in CROWD_ROUTES:
                    continue
                for polite in (True, False):
                    got = await crowd.drive(base + path, a.crowd_seconds, a.crowd, headers, polite)
                    manners = "honouring Retry-After" if polite else "ignoring Retry-After"
                    self.add(f"API: {label}, {a.crowd} clients {manners} (answered)", got.rate, "requests/s",
                             got.detail(), role="api", key=f"crowd_{key}" if polite else f"crowd_{key}_rude",
                             measures={"p99_ms": got.p("answered", 0.99), "shed_p99_ms": got.p("shed", 0.99),
                                       "shed_share": got.shed_share},
                             failure=f"{len(got.errors)} errors: {got.errors[0]}" if got.errors else None)

    async def limits(self) -> None:
        """The limits sweep (``bench.limits_sweep``) on the tenant's newest history."""
        a = self.args
        say(f"limits sweep: {len(limits_sweep.IN_FLIGHT) * len(limits_sweep.POOL_SIZES)} settings, {a.crowd} clients ...")
        headers = await api_probe.auth_headers(self.settings, workload.TENANT)
        for point in await limits_sweep.sweep(self.settings, "/api/v1/interaction-history?limit=20", headers,
                                              a.crowd_seconds, a.crowd):
            self.add(point.label(), point.crowd.rate, "requests/s", point.detail(), role="info")

    async def writer_alone(self) -> None:
        n = min(self.args.writer_events, len(self.entries))
        if n <= 0:
            return
        say(f"writer alone: apply_batch over {n:,} pre-decoded events ...")
        seconds, spent = await raw.writer_alone(self.settings, self.entries[:n], self.settings.batch_max_records)
        shares = [(label, t / seconds) for label, t in spent.most_common()]
        shares.append(("Python in the writer", 1 - sum(spent.values()) / seconds))
        split = ", ".join(f"{label} {share:.0%}" for label, share in shares if share >= 0.01)
        self.add("Writer apply_batch alone (pre-decoded, 1 connection)", rate(n, seconds), "events/s",
                 f"{n:,} events in {seconds:.1f} s on top of the e2e rows; time: {split}")
        for rule in ('trait.tier = "gold"', "count(purchase, 30) >= 2"):
            say(f"writer with a live segment `{rule}` over {n // 4:,} events ...")
            seconds = await raw.writer_with_segment(self.settings, self.entries[:n // 4], self.settings.batch_max_records, rule)
            self.add(f"Writer alone with one live segment `{rule}`", rate(n // 4, seconds), "events/s",
                     f"{n // 4:,} events in {seconds:.1f} s; every batch re-evaluates the profiles it touches",
                     role="info")

    async def profiles(self) -> None:
        """Issue 3's figures: mixed workload, freshness under it, unified profile under load;
        issue 12's: freshness of a profile change, 304 answers, the reads with more API processes."""
        a = self.args
        say(f"mixed workload: identity + consent for {a.customers:,} customers and {a.mixed_events:,} new interactions ...")
        people_msgs = {f: people.encode(self.codec, recs) for f, recs in people.records(a.customers, a.seed).items()}
        fresh = workload.build(self.codec, a.mixed_events, a.customers, a.seed + 1).interactions
        proc = e2e.start_worker(self.settings, self.workdir / "worker-mixed.log")
        try:
            async with api_probe.serving_app(self.settings, 1) as base:
                n, seconds = await people.burst(self.settings, people_msgs, fresh, proc, self.workdir / "worker-mixed.log")
                parts = ", ".join(f"{len(m):,} {f}" for f, m in people_msgs.items())
                self.add("**Mixed end-to-end** (identity + consent + interactions)", rate(n, seconds), "events/s",
                         f"{n:,} events ({parts}, {len(fresh):,} interactions) in {seconds:.1f} s", role="info",
                         key="mixed")
                await self._freshness(rate(n, seconds) / 2, base)
                await self._profile_reads(base, 1)
            for processes in self.api_passes()[1:]:
                async with api_probe.serving_app(self.settings, processes) as base:
                    await self._profile_reads(base, processes)
        finally:
            e2e.stop_worker(proc)
        raw_load = await people.raw_lookup(self.settings, a.customers, a.api_seconds, a.api_concurrency)
        self.add("asyncpg: profile id lookup (one indexed SELECT)", raw_load.rate, "requests/s",
                 f"p50 {raw_load.p50_ms:.2f} ms, p99 {raw_load.p99_ms:.2f} ms, concurrency {a.api_concurrency}", role="api",
                 key="asyncpg_lookup", measures={"p99_ms": raw_load.p99_ms})

    async def _profile_reads(self, base: str, processes: int) -> None:
        """The unified profile under load, plain and revalidated (If-None-Match), from ``processes``
        API processes."""
        a = self.args
        headers = await api_probe.auth_headers(self.settings, workload.TENANT)
        say(f"unified profile with {processes} API process(es): plain, then revalidated with If-None-Match ...")
        load = await profile_reads.plain(base, headers, a.customers, a.seed, a.api_seconds, a.api_concurrency)
        self.add_load(*api_probe.with_processes(
            "unified_profile", f"API: unified-profile, all sections, random of {a.customers:,} profiles", processes), load)
        again = await profile_reads.revalidated(base, headers, a.customers, a.seed, a.api_seconds, a.api_concurrency)
        self.add_load(*api_probe.with_processes(
            "unified_revalidated", f"API: unified-profile revalidated (If-None-Match: its ETag; 304 answers), "
            f"random of {again.sample:,} profiles", processes), again.load, again.detail(), not_modified=again.not_modified)

    async def _freshness(self, target: float, base: str) -> None:
        """Each probe of ``bench.freshness`` over ``--fresh-seconds`` of its own of the steady mix."""
        a = self.args
        for i, probe in enumerate((freshness.InteractionProbe(self.settings, self.codec, base),
                                   freshness.ProfileChangeProbe(self.settings, self.codec, base))):
            consent = people.records(a.customers, a.seed + 2 + i)["consent"]
            more = workload.build(self.codec, int(target * a.fresh_seconds * 1.2), a.customers, a.seed + 2 + i).interactions
            mix = [("consent", k, v) for k, v in people.encode(self.codec, consent)] + [("interactions", k, v) for k, v in more]
            random.Random(a.seed + i).shuffle(mix)
            say(f"freshness: {a.fresh_seconds:.0f} s of the mix at {target:,.0f} events/s with a {probe.KEY} probe ...")
            sent = await freshness.measure(self.settings, self.codec, mix, target, a.fresh_seconds, probe)
            self.figures.append(freshness.figure(probe, sent))

    async def rebuild(self) -> None:
        """The whole data set (what the steps before published) rebuilt into a new generation,
        no live worker running."""
        from profile360.bootstrap import load_codec
        from profile360.worker.rebuild import rebuild

        say("rebuild: every projection from the topics into a new generation ...")
        res = await rebuild(self.settings, load_codec())
        self.add("Rebuild of the data set (blue/green, to the switch)", rate(res.records, res.seconds), "records/s",
                 f"{res.records:,} records in {res.seconds:.1f} s; {self.settings.worker_processes} process(es)",
                 role="info")

    async def collect(self) -> None:
        """Issue 14: events/s accepted through ``POST /api/v1/events`` beside ``profile360 produce``'s
        (``bench.collect``); last, so that no later step consumes what it re-sends."""
        a = self.args
        say(f"collect: profile360 produce over {a.collect_events:,} events, then POST /api/v1/events for "
            f"{a.api_seconds:.0f} s at concurrency {a.api_concurrency} ...")
        self.figures += await collect.figures(self.settings, self.codec, self.wl.interactions[:a.collect_events],
                                              a.api_seconds, a.api_concurrency)

    async def all(self) -> None:
        """Every measurement; one that fails is reported as failed and the next one still runs."""
        self.build_workload()
        wanted = self.args.steps.split(",") if self.args.steps else STEPS
        unknown = set(wanted) - set(STEPS) - set(OPTIONAL_STEPS)
        if unknown:
            raise SystemExit(f"unknown --steps {sorted(unknown)}; expected some of {STEPS + OPTIONAL_STEPS}")
        for step in (getattr(self, name) for name in wanted):
            started = time.monotonic()
            try:
                result = step()
                if inspect.isawaitable(result):
                    await result
                say(f"{step.__name__}: done in {time.monotonic() - started:.1f} s")
            except Exception as exc:  # report it in the table; the other figures are still worth having
                say(f"{step.__name__} failed: {type(exc).__name__}: {exc}")
                self.add(step.__name__.replace("_", " "), None, "", role="info",
                         failure=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")


async def bench(args: argparse.Namespace, command: str, base: Settings) -> str:
    stamp, started = time.strftime("%Y%m%d%H%M%S"), time.strftime("%Y-%m-%d %H:%M:%S %Z")
    settings = replace(services.run_settings(base, stamp, args.batch_max_records or base.batch_max_records),
                       worker_processes=args.worker_processes)
    workdir = Path(f"/tmp/profile360-bench-{stamp}")
    workdir.mkdir(parents=True, exist_ok=True)
    run = Run(settings, args, workdir)
    await services.prepare_run(base, settings, stamp)
    try:
        await run.all()
        machine = await services.machine_facts(settings)
    finally:
        if not args.keep:
            await services.cleanup_run(base, settings, stamp)
            shutil.rmtree(workdir, ignore_errors=True)
    return report.markdown(run.figures, machine, command, workload.describe(run.wl, args, settings, stamp), started,
                           goals.table(run.figures, args.api_processes))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "bench", *argv])
    t0 = time.perf_counter()
    base = services.base_settings()  # may start the devstack, which runs its own event loop
    text = asyncio.run(bench(args, command, base))
    print(text)
    if args.out:
        args.out.write_text(text)
    say(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
