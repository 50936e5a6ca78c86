"""The one settings object, built from the environment once at start-up and passed explicitly.

Nothing else in the package reads ``os.environ``.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from profile360.logs import FORMATS as LOG_FORMATS
from profile360.resources import checkout_root

TOPIC_FAMILIES = ("interactions", "catalog", "identity", "consent", "experiments", "journeys", "definitions", "erasure",
                  "customers", "feedback", "dlq")


def _default_devstack_dir() -> Path:
    """``.devstack`` of the checkout the package runs from (where ``make run`` keeps it), or of
    the current directory when the package is installed (``P360_DEVSTACK_DIR`` overrides both)."""
    return (checkout_root() or Path.cwd()) / ".devstack"


def _hide_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


@dataclass(frozen=True)
class Settings:
    """Immutable configuration of every profile360 process."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = field(default="postgresql://postgres@127.0.0.1:55432/profile360", repr=False)
    # a streaming replica the API reads from (None: reads go to ``database_url`` too)
    database_read_url: str | None = field(default=None, repr=False)
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    # where a worker process serves its Prometheus metrics (``P360_METRICS_BIND``); member i of
    # ``worker --processes N`` listens on port + i; port 0: any free port (logged)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464
    topic_prefix: str = "profile360"
    consumer_group: str = "profile360-worker"
    batch_max_records: int = 5000
    batch_timeout_ms: int = 200
    apply_concurrency: int = 2
    worker_processes: int = 1  # consumer-group members ``profile360 worker`` runs (see profile360.processes)
    api_processes: int = field(default_factory=lambda: os.cpu_count() or 1)  # ``profile360 api`` processes on one port
    max_event_bytes: int = 256 * 1024
    topic_partitions: int = 4
    segment_refresh_seconds: float = 3600.0  # windowed segments re-evaluated this often (0: never)
    command_wait_ms: int = 5000  # how long an API command waits for its event to be applied
    # the API's bounds under load (see profile360.api.limits)
    api_max_in_flight: int = 16  # requests one API process serves at a time; more are answered 503 at once (BENCHMARKS.md: the limits sweep)
    db_pool_size: int = 10  # connections of each API process's pool (each of the primary's and the replica's)
    db_acquire_timeout_ms: int = 1000  # how long a request waits for a pooled connection before a 503
    statement_timeout_ms: int = 10000  # PostgreSQL cancels an API query running longer (503)
    rate_limit_per_key: float = 500.0  # requests per second per API key and process (0: none; see api.rates)
    rate_limit_per_tenant: float = 1000.0  # requests per second per tenant and process (0: none)
    api_drain_seconds: float = 30.0  # on SIGTERM, how long the API finishes requests in flight before cutting them
    stall_seconds: float = 60.0  # /readyz answers 503 ``stalled`` when a record waits this long unapplied
    devstack_dir: Path = field(default_factory=_default_devstack_dir)
    log_format: str = "text"  # "json": one JSON object a log line (see profile360.logs)

    def __post_init__(self) -> None:
        for name in ("api_port", "batch_max_records", "batch_timeout_ms", "apply_concurrency", "worker_processes", "api_processes",
                     "max_event_bytes", "topic_partitions", "command_wait_ms", "api_max_in_flight", "db_pool_size",
                     "db_acquire_timeout_ms", "statement_timeout_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.segment_refresh_seconds < 0:
            raise ValueError(f"segment_refresh_seconds must be 0 (never) or more, got {self.segment_refresh_seconds}")
        for name in ("rate_limit_per_key", "rate_limit_per_tenant"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be 0 (no limit) or more, got {getattr(self, name)}")
        if not 0 <= self.api_drain_seconds < 60:  # under the supervisor's STOP_GRACE, which then kills
            raise ValueError(f"api_drain_seconds must be from 0 to less than 60, got {self.api_drain_seconds}")
        if not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"P360_METRICS_BIND's port must be from 0 to 65535, got {self.metrics_port}")
        if self.stall_seconds <= 0:
            raise ValueError(f"stall_seconds must be more than 0, got {self.stall_seconds}")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log_format (P360_LOG_FORMAT) must be one of {LOG_FORMATS}, got {self.log_format!r}")

    def topic(self, family: str) -> str:
        """Kafka topic name of an event family (see ``TOPIC_FAMILIES``)."""
        if family not in TOPIC_FAMILIES:
            raise ValueError(f"unknown topic family {family!r}; expected one of {TOPIC_FAMILIES}")
        return f"{self.topic_prefix}.{family}"

    @property
    def database_url_safe(self) -> str:
        return _hide_password(self.database_url)

    def __repr__(self) -> str:
        read = f", database_read_url={_hide_password(self.database_read_url)!r}" if self.database_read_url else ""
        return (f"Settings(kafka_bootstrap={self.kafka_bootstrap!r}, database_url={self.database_url_safe!r}{read}, "
                f"api={self.api_host}:{self.api_port}, topic_prefix={self.topic_prefix!r}, "
                f"consumer_group={self.consumer_group!r})")

    def to_env(self) -> dict[str, str]:
        """The environment variables ``from_env`` reads back into these settings: how this
        process hands its settings to the worker processes it starts."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "DATABASE_URL": self.database_url,
            "DATABASE_READ_URL": self.database_read_url or "",
            "API_BIND": f"{self.api_host}:{self.api_port}", "P360_METRICS_BIND": f"{self.metrics_host}:{self.metrics_port}",
            "P360_TOPIC_PREFIX": self.topic_prefix,
            "P360_CONSUMER_GROUP": self.consumer_group, "P360_BATCH_MAX_RECORDS": str(self.batch_max_records),
            "P360_BATCH_TIMEOUT_MS": str(self.batch_timeout_ms), "P360_APPLY_CONCURRENCY": str(self.apply_concurrency),
            "P360_WORKER_PROCESSES": str(self.worker_processes), "P360_API_PROCESSES": str(self.api_processes),
            "P360_MAX_EVENT_BYTES": str(self.max_event_bytes),
            "P360_TOPIC_PARTITIONS": str(self.topic_partitions),
            "P360_SEGMENT_REFRESH_SECONDS": repr(self.segment_refresh_seconds),
            "P360_COMMAND_WAIT_MS": str(self.command_wait_ms), "P360_DEVSTACK_DIR": str(self.devstack_dir),
            "P360_STALL_SECONDS": repr(self.stall_seconds), "P360_API_MAX_IN_FLIGHT": str(self.api_max_in_flight),
            "P360_DB_POOL_SIZE": str(self.db_pool_size), "P360_DB_ACQUIRE_TIMEOUT_MS": str(self.db_acquire_timeout_ms),
            "P360_STATEMENT_TIMEOUT_MS": str(self.statement_timeout_ms),
            "P360_RATE_LIMIT_PER_KEY": repr(self.rate_limit_per_key), "P360_RATE_LIMIT_PER_TENANT": repr(self.rate_limit_per_tenant),
            "P360_API_DRAIN_SECONDS": repr(self.api_drain_seconds), "P360_LOG_FORMAT": self.log_format,
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Read ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``, ``DATABASE_READ_URL`` (unset or
        empty: no replica), ``API_BIND`` (host:port) and the ``P360_*`` tuning variables;
        anything unset keeps its default."""
        env = os.environ if env is None else env
        base = cls()
        host, port = _split_bind("API_BIND", env.get("API_BIND", f"{base.api_host}:{base.api_port}"))
        metrics_host, metrics_port = _split_bind("P360_METRICS_BIND", env.get("P360_METRICS_BIND", f"{base.metrics_host}:{base.metrics_port}"))
        return cls(
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS", base.kafka_bootstrap),
            database_url=env.get("DATABASE_URL", base.database_url),
            database_read_url=env.get("DATABASE_READ_URL") or None,
            api_host=host,
            api_port=port,
            metrics_host=metrics_host,
            metrics_port=metrics_port,
            topic_prefix=env.get("P360_TOPIC_PREFIX", base.topic_prefix),
            consumer_group=env.get("P360_CONSUMER_GROUP", base.consumer_group),
            batch_max_records=int(env.get("P360_BATCH_MAX_RECORDS", base.batch_max_records)),
            batch_timeout_ms=int(env.get("P360_BATCH_TIMEOUT_MS", base.batch_timeout_ms)),
            apply_concurrency=int(env.get("P360_APPLY_CONCURRENCY", base.apply_concurrency)),
            worker_processes=int(env.get("P360_WORKER_PROCESSES", base.worker_processes)),
            api_processes=int(env.get("P360_API_PROCESSES", base.api_processes)),
            max_event_bytes=int(env.get("P360_MAX_EVENT_BYTES", base.max_event_bytes)),
            topic_partitions=int(env.get("P360_TOPIC_PARTITIONS", base.topic_partitions)),
            segment_refresh_seconds=float(env.get("P360_SEGMENT_REFRESH_SECONDS", base.segment_refresh_seconds)),
            command_wait_ms=int(env.get("P360_COMMAND_WAIT_MS", base.command_wait_ms)),
            devstack_dir=Path(env.get("P360_DEVSTACK_DIR", str(base.devstack_dir))),
            stall_seconds=float(env.get("P360_STALL_SECONDS", base.stall_seconds)),
            api_max_in_flight=int(env.get("P360_API_MAX_IN_FLIGHT", base.api_max_in_flight)),
            db_pool_size=int(env.get("P360_DB_POOL_SIZE", base.db_pool_size)),
            db_acquire_timeout_ms=int(env.get("P360_DB_ACQUIRE_TIMEOUT_MS", base.db_acquire_timeout_ms)),
            statement_timeout_ms=int(env.get("P360_STATEMENT_TIMEOUT_MS", base.statement_timeout_ms)),
            rate_limit_per_key=float(env.get("P360_RATE_LIMIT_PER_KEY", base.rate_limit_per_key)),
            rate_limit_per_tenant=float(env.get("P360_RATE_LIMIT_PER_TENANT", base.rate_limit_per_tenant)),
            api_drain_seconds=float(env.get("P360_API_DRAIN_SECONDS", base.api_drain_seconds)),
            log_format=env.get("P360_LOG_FORMAT", base.log_format),
        )


def _split_bind(name: str, bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{name} must be host:port, got {bind!r}")
    return host or "127.0.0.1", int(port)
