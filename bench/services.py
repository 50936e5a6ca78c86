"""Where the benchmark runs: the Kafka broker and PostgreSQL server, a fresh database, topic
prefix and consumer group per run (so runs never mix), and the machine facts for the report."""
from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from profile360.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead (user, host, port and options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def base_settings(env: Mapping[str, str] | None = None) -> Settings:
    """``Settings.from_env()``; if the environment names no broker or no database, the local
    devstack is started (a no-op when it already runs) on the default ports of ``Settings``."""
    env = os.environ if env is None else env
    settings = Settings.from_env(env)
    if "KAFKA_BOOTSTRAP_SERVERS" in env and "DATABASE_URL" in env:
        return settings
    from profile360 import devstack

    defaults = Settings()
    kafka_port = int(defaults.kafka_bootstrap.rsplit(":", 1)[1])
    pg_port = urlsplit(defaults.database_url).port or 5432
    print(f"bench: devstack up under {settings.devstack_dir} ...", file=sys.stderr)
    addrs = devstack.up(settings.devstack_dir, kafka_port=kafka_port, controller_port=kafka_port + 1, pg_port=pg_port)
    return replace(settings, kafka_bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS", addrs["kafka"]),
                   database_url=env.get("DATABASE_URL", addrs["database"]))


def run_settings(base: Settings, stamp: str, batch_max_records: int) -> Settings:
    """The settings of one run: database ``bench_<stamp>``, topics ``bench-<stamp>.*``."""
    return replace(base, database_url=with_database(base.database_url, f"bench_{stamp}"),
                   topic_prefix=f"bench-{stamp}", consumer_group=f"bench-{stamp}-worker",
                   batch_max_records=batch_max_records, metrics_port=0)  # the worker's metrics on any free port


async def _on_server(base: Settings, sql: str) -> None:
    conn = await asyncpg.connect(base.database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(base: Settings, name: str) -> None:
    await _on_server(base, f'CREATE DATABASE "{name}"')


async def drop_database(base: Settings, name: str) -> None:
    await _on_server(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def create_topic(settings: Settings, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, settings.topic_partitions, 1)])
    finally:
        await admin.close()


async def delete_topics(settings: Settings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (the run's own topics)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


def worker_env(settings: Settings) -> dict[str, str]:
    """Environment of a profile360 process for ``settings``."""
    return {**os.environ, **settings.to_env()}


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def machine_facts(settings: Settings) -> dict[str, str]:
    """nproc, memory, CPU model, kernel, Python, Kafka and PostgreSQL versions."""
    from profile360.devstack.kafka import KAFKA_VERSION

    conn = await asyncpg.connect(settings.database_url)
    try:
        pg = await conn.fetchval("SHOW server_version")
        tuning = [f"{k}={await conn.fetchval(f'SHOW {k}')}" for k in ("shared_buffers", "fsync", "synchronous_commit")]
    finally:
        await conn.close()
    return {"nproc": str(len(os.sched_getaffinity(0))), "memory": f"{_meminfo_gib():.1f} GiB", "cpu": _cpu_model(),
            "kernel": platform.release(), "python": platform.python_version(),
            "kafka": f"{KAFKA_VERSION} (devstack version; broker at {settings.kafka_bootstrap})", "postgres": f"{pg} ({', '.join(tuning)})"}


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` itself (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds of process ``pid`` and its live children (the processes of
    ``profile360 worker --processes N``)."""
    return own_cpu_seconds(pid) + sum(_cpu_or_zero(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:  # exited meanwhile
        return 0.0


@dataclass(frozen=True)
class ServiceCpu:
    """A reading of the CPU used so far by this machine's PostgreSQL processes and Kafka broker
    (by process name: meaningful on a machine that runs one of each, as the devstack does).
    ``own``: per live process (pid, start time), its own CPU seconds; ``reaped``: per role, the
    CPU of children its top process has reaped (backends that ended), so ``minus`` counts a
    process that ends between two readings, too."""

    own: dict[tuple[int, int], tuple[str, float]]
    reaped: dict[str, float]

    @classmethod
    def read(cls) -> "ServiceCpu":
        own, reaped, roles = {}, {"postgres": 0.0, "kafka": 0.0}, {}
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and (role := _role(entry)):
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    tick = os.sysconf("SC_CLK_TCK")
                    own[(int(entry.name), int(fields[19]))] = (role, (int(fields[11]) + int(fields[12])) / tick)
                    roles[int(entry.name)] = (role, int(fields[1]), (int(fields[13]) + int(fields[14])) / tick)
            except OSError:  # exited meanwhile
                continue
        for role, parent, children in roles.values():
            if parent not in roles:  # the top process of its role (the postmaster)
                reaped[role] += children
        return cls(own, reaped)

    def minus(self, earlier: "ServiceCpu") -> dict[str, float]:
        """CPU seconds per role between ``earlier`` and this reading."""
        used = {role: self.reaped[role] - earlier.reaped[role] for role in self.reaped}
        for key, (role, seconds) in self.own.items():
            used[role] += seconds - earlier.own.get(key, (role, 0.0))[1]
        for key, (role, seconds) in earlier.own.items():
            if key not in self.own:  # ended and reaped: its whole life is in ``reaped``
                used[role] -= seconds
        return used


def _role(entry: Path) -> str | None:
    if (entry / "comm").read_text().strip() == "postgres":
        return "postgres"
    return "kafka" if b"kafka.Kafka" in (entry / "cmdline").read_bytes() else None


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


async def prepare_run(base: Settings, settings: Settings, stamp: str) -> None:
    """The run's database ``bench_<stamp>`` (migrated) and topics."""
    from profile360.bootstrap import apply_migrations
    from profile360.topics import ensure_topics

    print(f"bench: database bench_{stamp}, topics {settings.topic_prefix}.* on {settings.kafka_bootstrap}",
          file=sys.stderr, flush=True)
    await create_database(base, f"bench_{stamp}")
    await apply_migrations(settings)
    await ensure_topics(settings)


async def cleanup_run(base: Settings, settings: Settings, stamp: str) -> None:
    print("bench: dropping the database and the run's topics ...", file=sys.stderr, flush=True)
    await drop_database(base, f"bench_{stamp}")
    await delete_topics(base, settings.topic_prefix)
