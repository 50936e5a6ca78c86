"""End-to-end: the real worker (``python -m profile360 worker``, a separate OS process) folds
the interactions into PostgreSQL while one producer publishes them.

Measured: events/s from the first publish until the positions the worker stores in
``consumer_positions`` (in the same transaction as the rows) reach the topic end offsets;
the produce rate of that same run; and the producer alone into a topic nobody consumes.
"""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from bench import services
from profile360.settings import Settings


@dataclass
class Published:
    first: float  # perf_counter of the first send
    acked: float  # perf_counter when every send was acknowledged
    ends: dict[tuple[str, int], int]  # (topic, partition) -> end offset after the last record

    @property
    def seconds(self) -> float:
        return self.acked - self.first


@dataclass
class E2EResult:
    events: int
    seconds: float
    produce_seconds: float
    worker_cpu: float  # CPU seconds the worker used in the timed window
    machine_busy: float  # fraction of all CPUs busy in the timed window
    exit_code: int | None = None
    exit_seconds: float = 0.0
    service_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of PostgreSQL, the broker, this producer
    notes: list[str] = field(default_factory=list)


async def publish(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> Published:
    """Send all (key, value) and wait for every acknowledgement.

    The load generator shares the machine with the system under test, so it is made cheap:
    records go into one batch per partition (aiokafka ``create_batch``/``send_batch``, about
    4 µs of CPU per record instead of 16 µs for one ``send`` each), placed by the same keyed
    partitioner a plain ``send`` uses."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=10,
                                max_batch_size=512 * 1024, max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        first = time.perf_counter()
        sent = await _send_batched(producer, topic, partitions, messages)
        metadata = await asyncio.gather(*(future for future, _ in sent))
        acked = time.perf_counter()
    finally:
        await producer.stop()
    ends: dict[tuple[str, int], int] = {}
    for md, (_, count) in zip(metadata, sent, strict=True):
        ends[(md.topic, md.partition)] = max(ends.get((md.topic, md.partition), 0), md.offset + count)
    return Published(first, acked, ends)


async def _send_batched(producer: AIOKafkaProducer, topic: str, partitions: list[int],
                        messages: list[tuple[bytes, bytes]]) -> list[tuple[asyncio.Future, int]]:
    """Fill one batch per partition, sending each when full; (delivery future, records) each."""
    place, open_batches, sent = DefaultPartitioner(), {}, []

    async def flush(partition: int) -> None:
        batch = open_batches.pop(partition)
        sent.append((await producer.send_batch(batch, topic, partition=partition), batch.record_count()))

    for key, value in messages:
        partition = place(key, partitions, partitions)
        batch = open_batches.get(partition) or open_batches.setdefault(partition, producer.create_batch())
        if batch.append(key=key, value=value, timestamp=None) is None:  # full
            await flush(partition)
            open_batches[partition] = producer.create_batch()
            if open_batches[partition].append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit in a producer batch")
    for partition in list(open_batches):
        await flush(partition)
    return sent


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "profile360", "worker"], env=services.worker_env(settings),
                                stdout=subprocess.DEVNULL, stderr=log, cwd=services.REPO_ROOT)


def stop_worker(proc: subprocess.Popen, timeout: float = 30) -> tuple[int | None, float]:
    """SIGTERM, then wait; returns (exit code or None if it had to be killed, seconds taken)."""
    if proc.poll() is not None:
        return proc.returncode, 0.0
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout), time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.perf_counter() - t0


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def wait_positions(settings: Settings, ends: dict[tuple[str, int], int], proc: subprocess.Popen,
                         timeout: float, log_path: Path) -> float:
    """Poll ``consumer_positions`` until every partition in ``ends`` is reached; returns the
    perf_counter of the poll that saw it. Fails if the worker exits or the deadline passes."""
    conn = await asyncpg.connect(settings.database_url)
    deadline, report = time.perf_counter() + timeout, time.perf_counter() + 10
    try:
        while True:
            rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_positions WHERE consumer = $1",
                                    settings.consumer_group)
            now = time.perf_counter()
            stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
            if all(stored.get(tp, 0) >= o for tp, o in ends.items()):
                return now
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode}:\n{_tail(log_path)}")
            if now > deadline:
                raise TimeoutError(f"worker at {sum(stored.values())} of {sum(ends.values())} after {timeout:.0f}s")
            if now > report:
                print(f"bench:   worker stored {sum(stored.get(tp, 0) for tp in ends)} / {sum(ends.values())}", file=sys.stderr)
                report = now + 10
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def warm_up(settings: Settings, catalog: list[tuple[bytes, bytes]], proc: subprocess.Popen, log_path: Path) -> None:
    """Publish the catalog and wait until the worker stored it: proof that it joined its group."""
    published = await publish(settings, settings.topic("catalog"), catalog)
    await wait_positions(settings, published.ends, proc, 120, log_path)


def _profile(pid: int, out: Path | None) -> subprocess.Popen | None:
    """py-spy sampling the worker until it exits (collapsed stacks into ``out``), if asked."""
    if out is None:
        return None
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "100", "--nonblocking", "--subprocesses",
                             "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run(settings: Settings, catalog: list, messages: list, log_path: Path,
              profile_out: Path | None = None) -> E2EResult:
    """Worker process + producer; see the module docstring for what is timed."""
    proc = start_worker(settings, log_path)
    spy = None
    try:
        await warm_up(settings, catalog, proc, log_path)
        spy = _profile(proc.pid, profile_out)
        cpu0, (busy0, total0) = services.cpu_seconds(proc.pid), services.machine_busy()
        services0, producer0 = services.ServiceCpu.read(), time.process_time()
        published = await publish(settings, settings.topic("interactions"), messages)
        done = await wait_positions(settings, published.ends, proc, 120 + len(messages) / 500, log_path)
        cpu1, (busy1, total1) = services.cpu_seconds(proc.pid), services.machine_busy()
        services1, producer1 = services.ServiceCpu.read(), time.process_time()
    finally:
        code, took = stop_worker(proc)
        if spy is not None:
            spy.wait(60)
    return E2EResult(len(messages), done - published.first, published.seconds, cpu1 - cpu0,
                     (busy1 - busy0) / max(total1 - total0, 1.0), code, took,
                     service_cpu={**services1.minus(services0), "bench (producer, progress polls)": producer1 - producer0})


async def produce_alone(settings: Settings, messages: list[tuple[bytes, bytes]]) -> float:
    """Seconds to publish ``messages`` into a fresh topic with no consumer (same producer setup)."""
    topic = f"{settings.topic_prefix}.produce_probe"
    await services.create_topic(settings, topic)
    published = await publish(settings, topic, messages)
    return published.seconds
