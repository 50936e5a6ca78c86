"""A single-node KRaft Kafka broker run straight from Maven jars (no Docker, no tarball).

Layout of ``data_dir`` (owned by this module):

* ``server.properties`` / ``log4j2.xml`` - rewritten on every start
* ``kraft-logs/``                        - log.dirs (and the KRaft metadata log)
* ``kafka.log``                          - broker stdout/stderr (appended)
* ``kafka.pid``                          - pid of the running JVM

The storage is formatted once with ``--standalone`` (dynamic quorum); the
controller endpoint is recorded at format time, so delete ``data_dir`` if you
change ``controller_port`` later.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from profile360.devstack._process import log_tail, pid_alive, read_pid, terminate

KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.24.3"
# Kafka's published poms declare slf4j-api 1.7.36 (client compatibility); the broker
# distribution ships 2.0.x, which log4j-slf4j2-impl needs -- without the pin the broker
# silently logs nothing (SLF4J NOP fallback).
SLF4J_VERSION = "2.0.16"
_MAIN_CLASS = "kafka.Kafka"
# kafka.tools.StorageTool lives in kafka_2.13 itself: kafka-tools is not needed.
_STORAGE_TOOL = "kafka.tools.StorageTool"
_POLL = 0.25

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>profile360.devstack</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>{slf4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="out"/></Root>
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="INFO"/>
  </Loggers>
</Configuration>
"""


def _home(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"kafka-{KAFKA_VERSION}"


def ensure_kafka(cache_dir: Path) -> Path:
    """Make sure the Kafka runtime jars are in ``cache_dir/kafka-<version>/libs``; return that dir.

    Idempotent: a ``.complete`` marker is written only after Maven succeeded, so an
    interrupted download is redone from scratch. Needs ``mvn`` on PATH (Maven Central
    via mvn's defaults; ``~/.m2`` makes repeat fetches fast). Raises RuntimeError if mvn fails.
    """
    home = _home(cache_dir)
    libs, marker = home / "libs", home / ".complete"
    if marker.exists() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn not found on PATH; install Maven to fetch the Kafka jars")
    print(f"devstack: fetching Kafka {KAFKA_VERSION} jars into {libs} ...", file=sys.stderr)
    started = time.monotonic()
    _copy_dependencies(mvn, home, libs)
    marker.write_text(KAFKA_VERSION + "\n")
    print(f"devstack: Kafka jars ready ({time.monotonic() - started:.1f}s)", file=sys.stderr)
    return libs


def _copy_dependencies(mvn: str, home: Path, libs: Path) -> None:
    """Write ``home/pom.xml`` and have Maven copy its runtime closure into a fresh ``libs``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(libs, ignore_errors=True)
    pom = home / "pom.xml"
    pom.write_text(_POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION, slf4j=SLF4J_VERSION))
    cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
           f"-DoutputDirectory={libs}", "-DincludeScope=runtime"]
    proc = subprocess.run(cmd, cwd=home, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mvn failed ({proc.returncode}):\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}")


def _server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """Render server.properties for a single-node broker+controller."""
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir / "kraft-logs"),
        "num.partitions": "4",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _java_cmd(libs: Path, data_dir: Path, heap: str, *args: str) -> list[str]:
    java = shutil.which("java") or "java"
    return [java, f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={data_dir / 'log4j2.xml'}",
            "-cp", f"{libs}/*", *args]


def _new_cluster_id() -> str:
    """A Kafka-style Uuid: 22 chars of url-safe base64, never starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _format_storage(libs: Path, data_dir: Path, heap: str) -> None:
    """Format log.dirs with a fresh cluster id unless meta.properties already exists."""
    if (data_dir / "kraft-logs" / "meta.properties").exists():
        return
    cmd = _java_cmd(libs, data_dir, heap, _STORAGE_TOOL, "format", "--standalone",
                    "--config", str(data_dir / "server.properties"),
                    "--cluster-id", _new_cluster_id())
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kafka storage format failed:\n{proc.stdout}{proc.stderr}")


def kafka_running(data_dir: Path) -> int | None:
    """Pid of the broker started in ``data_dir`` if it is alive, else None."""
    pid = read_pid(Path(data_dir) / "kafka.pid")
    return pid if pid is not None and pid_alive(pid, _MAIN_CLASS) else None


def kafka_bootstrap(data_dir: Path) -> str | None:
    """The advertised bootstrap address recorded in ``data_dir/server.properties``, if any."""
    try:
        text = (Path(data_dir) / "server.properties").read_text()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        if line.startswith("advertised.listeners="):
            return line.split("//", 1)[1].split(",", 1)[0]
    return None


def start_kafka(data_dir: Path, port: int, controller_port: int, cache_dir: Path,
                heap: str = "512m") -> None:
    """Start a detached single-node KRaft broker; no-op if one is already running in ``data_dir``.

    Fetches jars (``ensure_kafka``), writes config, formats storage once, launches the JVM in a
    new session with output appended to ``data_dir/kafka.log`` and its pid in ``kafka.pid``.
    Returns as soon as the JVM is spawned: call ``wait_kafka_ready`` afterwards.
    """
    data_dir = Path(data_dir).resolve()
    if kafka_running(data_dir):
        return
    libs = ensure_kafka(Path(cache_dir).resolve())
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "server.properties").write_text(_server_properties(data_dir, port, controller_port))
    (data_dir / "log4j2.xml").write_text(_LOG4J2)
    _format_storage(libs, data_dir, heap)
    cmd = _java_cmd(libs, data_dir, heap, _MAIN_CLASS, str(data_dir / "server.properties"))
    with (data_dir / "kafka.log").open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    (data_dir / "kafka.pid").write_text(f"{proc.pid}\n")


async def _probe(bootstrap: str, timeout: float) -> bool:
    """One metadata round trip; True if the broker answered and lists at least one broker.

    A plain TCP connect is tried first so aiokafka does not log connection errors while
    the JVM is still starting.
    """
    from aiokafka.client import AIOKafkaClient

    if not await _port_open(bootstrap, timeout):
        return False
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=max(1000, int(timeout * 1000)))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()


async def _port_open(bootstrap: str, timeout: float) -> bool:
    """True if a TCP connection to the first ``host:port`` of ``bootstrap`` succeeds."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    return True


async def wait_kafka_ready_async(bootstrap: str, timeout: float = 60, *,
                                 data_dir: Path | None = None) -> None:
    """Poll until ``bootstrap`` answers a metadata request or ``timeout`` seconds pass.

    Usable inside a running event loop. With ``data_dir`` given, fails fast if the broker
    process died and includes the tail of ``kafka.log`` in the error. Raises TimeoutError.
    """
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        if await _probe(bootstrap, min(5.0, remaining)):
            return
        if data_dir is not None and not kafka_running(data_dir):
            raise TimeoutError(f"Kafka process exited before becoming ready:\n{_tail(data_dir)}")
        await asyncio.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
    raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout}s\n{_tail(data_dir)}")


def _tail(data_dir: Path | None) -> str:
    return "" if data_dir is None else log_tail(Path(data_dir) / "kafka.log")


def wait_kafka_ready(bootstrap: str, timeout: float = 60, *, data_dir: Path | None = None) -> None:
    """Synchronous ``wait_kafka_ready_async`` (runs its own event loop; not for async callers)."""
    asyncio.run(wait_kafka_ready_async(bootstrap, timeout, data_dir=data_dir))


def stop_kafka(data_dir: Path, timeout: float = 30) -> bool:
    """SIGTERM the broker (SIGKILL after ``timeout`` s); return whether it was running."""
    pid = kafka_running(data_dir)
    if pid is None:
        return False
    terminate(pid, timeout, _MAIN_CLASS)
    (Path(data_dir) / "kafka.pid").unlink(missing_ok=True)
    return True
