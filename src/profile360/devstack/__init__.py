"""Local service stack without Docker: a KRaft Kafka broker (jars via Maven) and a private
PostgreSQL cluster, both run as plain processes under one root directory.

Layout under ``root``: ``cache/`` (Kafka jars), ``kafka/`` (broker data, log, pid),
``postgres/`` (cluster, socket, log). All functions are idempotent.
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

__all__ = ["down", "free_port", "status", "up"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the usual small race applies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def up(root: Path, kafka_port: int = 9092, controller_port: int = 9093, pg_port: int = 55432,
       *, fsync: bool = True, timeout: float = 90) -> dict:
    """Start Kafka and Postgres under ``root`` and wait until both answer.

    Returns ``{"kafka": "127.0.0.1:<port>", "database": "postgresql://...:<pg_port>/profile360"}``.
    Already-running services are left alone. Raises TimeoutError/RuntimeError on failure.
    """
    root = Path(root).resolve()
    start_kafka(root / "kafka", kafka_port, controller_port, root / "cache")
    dsn = start_postgres(root / "postgres", pg_port, fsync=fsync)
    bootstrap = kafka_bootstrap(root / "kafka") or f"127.0.0.1:{kafka_port}"
    wait_kafka_ready(bootstrap, timeout, data_dir=root / "kafka")
    return {"kafka": bootstrap, "database": dsn}


def down(root: Path) -> None:
    """Stop Kafka and Postgres under ``root`` (no error if they are not running)."""
    root = Path(root).resolve()
    stop_kafka(root / "kafka")
    stop_postgres(root / "postgres")


def status(root: Path) -> dict:
    """``{"kafka": {"pid": int|None, "bootstrap": str|None}, "postgres": {"running": bool,
    "database": str|None}}`` for the services under ``root``; addresses only while running."""
    root = Path(root).resolve()
    pid = kafka_running(root / "kafka")
    dsn = postgres_dsn(root / "postgres")
    return {
        "kafka": {"pid": pid, "bootstrap": kafka_bootstrap(root / "kafka") if pid else None},
        "postgres": {"running": dsn is not None, "database": dsn},
    }
