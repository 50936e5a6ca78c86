"""Local service stack without Docker: a KRaft Kafka broker (jars via Maven) and a private
PostgreSQL cluster, both run as plain processes under one root directory.

Layout under ``root``: ``cache/`` (Kafka jars), ``kafka/`` (broker data, log, pid),
``postgres/`` (cluster, socket, log), ``postgres-replica/`` (its streaming replica, when
started with ``replica_port``). All functions are idempotent.
"""

from __future__ import annotations

import socket
from pathlib import Path

from profile360.devstack.kafka import (
    kafka_bootstrap,
    kafka_running,
    start_kafka,
    stop_kafka,
    wait_kafka_ready,
)
from profile360.devstack.postgres import postgres_dsn, start_postgres, stop_postgres
from profile360.devstack.replica import start_replica, stop_replica

__all__ = ["down", "free_port", "status", "up"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the usual small race applies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def up(root: Path, kafka_port: int = 9092, controller_port: int = 9093, pg_port: int = 55432,
       *, replica_port: int | None = None, fsync: bool = True, timeout: float = 90) -> dict:
    """Start Kafka and Postgres under ``root`` (and, given ``replica_port``, a streaming
    replica of that Postgres) and wait until they answer.

    Returns ``{"kafka": "127.0.0.1:<port>", "database": "postgresql://...:<pg_port>/profile360"}``,
    with ``"database_read"`` (the replica's DSN) when one was started. Already-running services
    are left alone. Raises TimeoutError/RuntimeError on failure.
    """
    root = Path(root).resolve()
    start_kafka(root / "kafka", kafka_port, controller_port, root / "cache")
    dsn = start_postgres(root / "postgres", pg_port, fsync=fsync)
    found = {"kafka": kafka_bootstrap(root / "kafka") or f"127.0.0.1:{kafka_port}", "database": dsn}
    if replica_port is not None:
        found["database_read"] = start_replica(root / "postgres-replica", dsn, replica_port, fsync=fsync)
    wait_kafka_ready(found["kafka"], timeout, data_dir=root / "kafka")
    return found


def down(root: Path) -> None:
    """Stop Kafka, the replica and Postgres under ``root`` (no error if they are not running)."""
    root = Path(root).resolve()
    stop_kafka(root / "kafka")
    stop_replica(root / "postgres-replica")
    stop_postgres(root / "postgres")


def status(root: Path) -> dict:
    """``{"kafka": {"pid": int|None, "bootstrap": str|None}, "postgres": {"running": bool,
    "database": str|None}, "replica": {...the same}}`` for the services under ``root``;
    addresses only while running."""
    root = Path(root).resolve()
    pid = kafka_running(root / "kafka")
    dsn, replica = postgres_dsn(root / "postgres"), postgres_dsn(root / "postgres-replica")
    return {
        "kafka": {"pid": pid, "bootstrap": kafka_bootstrap(root / "kafka") if pid else None},
        "postgres": {"running": dsn is not None, "database": dsn},
        "replica": {"running": replica is not None, "database": replica},
    }
