"""Real Kafka and PostgreSQL for the integration tests, in order of preference:
``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` from the environment, testcontainers when a
Docker engine answers, or the project's own dev stack on free ports in a temporary folder;
and, when the tests own that PostgreSQL, a streaming replica of it (``replica_of``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from profile360 import devstack
from profile360.devstack import kafka as dk
from profile360.devstack import postgres as dp
from profile360.devstack import replica as dr


@dataclass(frozen=True)
class Services:
    kafka: str
    database: str  # DSN of a maintenance database on the server; tests create their own databases
    pg_dir: Path | None = None  # set when the tests own the services (fault tests restart them)
    kafka_dir: Path | None = None
    kafka_ports: tuple[int, int] | None = None  # (broker, controller)
    cache: Path | None = None


@dataclass(frozen=True)
class Replica:
    data_dir: Path
    port: int
    database: str  # DSN of the replica's maintenance database
    primary: str  # DSN of the primary it streams from

    def start(self) -> None:
        """Start the replica again after ``stop`` (on its port; it resumes streaming)."""
        dr.start_replica(self.data_dir, self.primary, self.port, fsync=False)

    def stop(self) -> None:
        dr.stop_replica(self.data_dir)


@contextlib.contextmanager
def replica_of(stack: Services) -> Iterator[Replica]:
    """A streaming replica (``pg_basebackup -R``) of the tests' own PostgreSQL, on a free port."""
    assert stack.pg_dir is not None, "a replica needs the tests' own PostgreSQL"
    data_dir, port = stack.pg_dir.parent / "postgres-replica", devstack.free_port()
    try:
        yield Replica(data_dir, port, dr.start_replica(data_dir, stack.database, port, fsync=False), stack.database)
    finally:
        dr.stop_replica(data_dir)


def docker_reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@contextlib.contextmanager
def _containers() -> Iterator[Services]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with KafkaContainer().with_kraft() as kafka, PostgresContainer("postgres:16", driver=None) as pg:
        yield Services(kafka.get_bootstrap_server(), pg.get_connection_url())


@contextlib.contextmanager
def _own_stack(root: Path, cache: Path) -> Iterator[Services]:
    kafka_dir, pg_dir = root / "kafka", root / "postgres"
    port, controller = devstack.free_port(), devstack.free_port()
    try:
        dk.start_kafka(kafka_dir, port, controller, cache)
        dsn = dp.start_postgres(pg_dir, devstack.free_port(), fsync=False)
        dk.wait_kafka_ready(f"127.0.0.1:{port}", 120, data_dir=kafka_dir)
        yield Services(f"127.0.0.1:{port}", dsn, pg_dir, kafka_dir, (port, controller), cache)
    finally:
        dk.stop_kafka(kafka_dir, timeout=2)  # its data is deleted next: no need for an orderly shutdown
        dp.stop_postgres(pg_dir)


@contextlib.contextmanager
def services(root: Path, cache: Path) -> Iterator[Services]:
    kafka, database = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and database:
        yield Services(kafka, database)
    elif docker_reachable():
        with _containers() as found:
            yield found
    else:
        with _own_stack(root, cache) as found:
            yield found
