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
from collections import Counter
from dataclasses import replace
from pathlib import Path

from bench import api_probe, e2e, faust_probe, people, raw, report, services, workload
from bench.report import Figure
from profile360.bootstrap import apply_migrations, load_codec
from profile360.devstack import free_port
from profile360.settings import Settings
from profile360.topics import ensure_topics


STEPS = ("produce_alone", "end_to_end", "raw_consume", "copy", "faust", "api", "writer_alone", "profiles", "rebuild")


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
    p.add_argument("--faust-events", type=int, default=200_000, help="events the Faust probe reads (0 skips it)")
    p.add_argument("--faust-timeout", type=float, default=180.0, help="hard timeout of the Faust probe, s")
    p.add_argument("--writer-events", type=int, default=200_000,
                   help="events the writer-alone probe applies (0 skips it)")
    p.add_argument("--profile-worker", type=Path, default=None,
                   help="sample the worker with py-spy during the timed window (collapsed stacks to FILE)")
    p.add_argument("--steps", default=None,
                   help="comma-separated subset of the measurements, in order (default: all): " + ", ".join(STEPS))
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
                 f"batch ≤ {self.settings.batch_max_records}", role="e2e")
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
                 if not res.error else "", role="faust", failure=res.error)

    async def api(self) -> None:
        say(f"API: {self.args.api_seconds:.0f} s per endpoint at concurrency {self.args.api_concurrency} ...")
        results = await api_probe.run(self.settings, workload.TENANT, self.wl.hot_customer, self.args.api_seconds,
                                      self.args.api_concurrency)
        for label, load in results:
            errors = f", {load.errors} errors (first: {load.first_error})" if load.errors else ""
            self.add(f"API: {label}", load.rate, "requests/s",
                     f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.requests:,} requests{errors}",
                     role="api", failure=f"{load.errors} errors: {load.first_error}" if not load.requests else None)

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
        """Issue 3's figures: mixed workload, freshness under it, unified profile under load."""
        a = self.args
        say(f"mixed workload: identity + consent for {a.customers:,} customers and {a.mixed_events:,} new interactions ...")
        people_msgs = {f: people.encode(self.codec, recs) for f, recs in people.records(a.customers, a.seed).items()}
        fresh = workload.build(self.codec, a.mixed_events, a.customers, a.seed + 1).interactions
        proc, port = e2e.start_worker(self.settings, self.workdir / "worker-mixed.log"), free_port()
        app = api_probe.start_app(self.settings, port)
        base = f"http://127.0.0.1:{port}"
        try:
            await api_probe.wait_http(f"{base}/healthz", app)
            n, seconds = await people.burst(self.settings, people_msgs, fresh, proc, self.workdir / "worker-mixed.log")
            parts = ", ".join(f"{len(m):,} {f}" for f, m in people_msgs.items())
            self.add("**Mixed end-to-end** (identity + consent + interactions)", rate(n, seconds), "events/s",
                     f"{n:,} events ({parts}, {len(fresh):,} interactions) in {seconds:.1f} s", role="info")
            await self._freshness(rate(n, seconds) / 2, base)
            rnd = random.Random(a.seed)
            load = await api_probe.drive(
                lambda: f"{base}/api/v1/customers/{workload.customer_id(rnd.randrange(a.customers))}/unified-profile",
                a.api_seconds, a.api_concurrency, await api_probe.auth_headers(self.settings, workload.TENANT))
            self.add(f"API: unified-profile, all sections, random of {a.customers:,} profiles", load.rate, "requests/s",
                     f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.requests:,} requests"
                     + (f", {load.errors} errors (first: {load.first_error})" if load.errors else ""), role="api")
        finally:
            api_probe.stop(app)
            e2e.stop_worker(proc)
        raw_load = await people.raw_lookup(self.settings, a.customers, a.api_seconds, a.api_concurrency)
        self.add("asyncpg: profile id lookup (one indexed SELECT)", raw_load.rate, "requests/s",
                 f"p50 {raw_load.p50_ms:.2f} ms, p99 {raw_load.p99_ms:.2f} ms, concurrency {a.api_concurrency}", role="api")

    async def _freshness(self, target: float, base: str) -> None:
        a = self.args
        consent = people.records(a.customers, a.seed + 2)["consent"]
        more = workload.build(self.codec, int(target * a.fresh_seconds * 1.2), a.customers, a.seed + 2).interactions
        mix = [("consent", k, v) for k, v in people.encode(self.codec, consent)] + [("interactions", k, v) for k, v in more]
        random.Random(a.seed).shuffle(mix)
        say(f"freshness: {a.fresh_seconds:.0f} s of the mix at {target:,.0f} events/s with a marker probe ...")
        sent, lat = await people.freshness(self.settings, self.codec, mix, target, a.fresh_seconds, base)
        self.add("Freshness at a steady mixed load (publish → API shows it)",
                 api_probe.percentile(lat, 0.5) * 1000 if lat else None, "ms",
                 f"p50; p99 {api_probe.percentile(lat, 0.99) * 1000:.0f} ms over {len(lat)} markers, while "
                 f"{sent:,.0f} events/s (half the mixed burst rate) were published" if lat else "",
                 role="info", failure=None if lat else "no marker completed")

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

    async def all(self) -> None:
        """Every measurement; one that fails is reported as failed and the next one still runs."""
        self.build_workload()
        wanted = self.args.steps.split(",") if self.args.steps else STEPS
        unknown = set(wanted) - set(STEPS)
        if unknown:
            raise SystemExit(f"unknown --steps {sorted(unknown)}; expected some of {STEPS}")
        for step in (getattr(self, name) for name in wanted):
            try:
                result = step()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # report it in the table; the other figures are still worth having
                say(f"{step.__name__} failed: {type(exc).__name__}: {exc}")
                self.add(step.__name__.replace("_", " "), None, "", role="info",
                         failure=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")


def describe_workload(run: Run, stamp: str) -> str:
    a, wl, s = run.args, run.wl, run.settings
    hot = Counter(r[2] for r in wl.rows).most_common(1)[0][1] if wl.rows else 0
    return (f"{a.events:,} interaction events ({wl.payload_bytes / max(len(wl.interactions), 1):.0f} B Avro on "
            f"average) over {a.customers:,} customers (Zipf s={a.zipf}, hot customer {wl.hot_customer} has "
            f"{hot:,}), {wl.offers} offers, {wl.creatives} creatives, 5 channels, 30 days, seed {a.seed}, "
            f"{'shuffled (random time order)' if a.shuffled else f'arrival order (up to {workload.MAX_DELAY_S} s late)'}; plus "
            f"{len(wl.catalog)} catalog records. {s.topic_partitions} partitions per topic, worker batch ≤ "
            f"{s.batch_max_records} records. Database `bench_{stamp}`, topics `bench-{stamp}.*`.")


async def _prepare(base: Settings, settings: Settings, stamp: str) -> None:
    say(f"database bench_{stamp}, topics {settings.topic_prefix}.* on {settings.kafka_bootstrap}")
    await services.create_database(base, f"bench_{stamp}")
    await apply_migrations(settings)
    await ensure_topics(settings)


async def _cleanup(base: Settings, settings: Settings, stamp: str) -> None:
    say("dropping the database and the run's topics ...")
    await services.drop_database(base, f"bench_{stamp}")
    await services.delete_topics(base, settings.topic_prefix)


async def bench(args: argparse.Namespace, command: str, base: Settings) -> str:
    stamp, started = time.strftime("%Y%m%d%H%M%S"), time.strftime("%Y-%m-%d %H:%M:%S %Z")
    settings = replace(services.run_settings(base, stamp, args.batch_max_records or base.batch_max_records),
                       worker_processes=args.worker_processes)
    workdir = Path(f"/tmp/profile360-bench-{stamp}")
    workdir.mkdir(parents=True, exist_ok=True)
    run = Run(settings, args, workdir)
    await _prepare(base, settings, stamp)
    try:
        await run.all()
        machine = await services.machine_facts(settings)
    finally:
        if not args.keep:
            await _cleanup(base, settings, stamp)
            shutil.rmtree(workdir, ignore_errors=True)
    return report.markdown(run.figures, machine, command, describe_workload(run, stamp), started)


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
