from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from profile360.bootstrap import apply_migrations
from profile360.settings import Settings

from .harness import wait_until
from .services import Replica, Services, replica_of, services


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest):
    """The session's broker and database. Their data lives in a directory of its own, not under
    pytest's temporary root: the local PostgreSQL runs as user ``postgres`` and must keep
    reaching its data even if another pytest session on the machine resets that root's
    permissions (seen: a PostgreSQL restart test failed with "Permission denied")."""
    cache = Settings.from_env().devstack_dir / "cache"
    root = Path(tempfile.mkdtemp(prefix="p360-test-stack-"))
    root.chmod(0o711)
    try:
        with services(root, cache) as found:
            yield found
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def settings(stack: Services) -> AsyncIterator[Settings]:
    """A fresh database (migrated) and fresh topics for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(stack.database)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = stack.database.rpartition("/")
    s = Settings(kafka_bootstrap=stack.kafka, database_url=f"{base}/{name}", topic_prefix=f"test-{name}",
                 consumer_group=f"worker-{name}", batch_max_records=500, batch_timeout_ms=100, topic_partitions=3,
                 rate_limit_per_key=0, rate_limit_per_tenant=0,  # tests read in tight loops; the rate tests set their own
                 metrics_port=0)  # worker processes' metrics on free ports: test sessions run side by side
    await apply_migrations(s)
    yield s
    await _delete_topics(s)


async def _delete_topics(settings: Settings) -> None:
    """Delete a finished test's topics: the broker restarts of later fault tests (and the
    session's shutdown) would otherwise open and close thousands of idle partitions. A broker
    that cannot be reached leaves them: nothing depends on it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        names = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix + ".")]
        if names:
            await admin.delete_topics(names, timeout_ms=10_000)
    except (KafkaError, OSError, asyncio.TimeoutError):
        pass
    finally:
        await admin.close()


@pytest.fixture
def owned(stack: Services) -> Services:
    """The stack, when the tests own its services (fault tests stop and restart them)."""
    if stack.pg_dir is None:
        pytest.skip("restarting services needs the tests' own Kafka and PostgreSQL (KAFKA_BOOTSTRAP_SERVERS/DATABASE_URL are set)")
    return stack


@pytest.fixture(scope="session")
def replica(stack: Services) -> Replica:
    """A streaming replica of the session's PostgreSQL, started on first use."""
    if stack.pg_dir is None:
        pytest.skip("a replica is made of the tests' own PostgreSQL (KAFKA_BOOTSTRAP_SERVERS/DATABASE_URL are set)")
    with replica_of(stack) as found:
        yield found


@pytest.fixture
async def replicated(settings: Settings, replica: Replica) -> Settings:
    """``settings`` whose reads go to the replica, once it has replayed the test's fresh database."""
    base, _, name = settings.database_url.rpartition("/")
    primary = await asyncpg.connect(settings.database_url)
    try:
        lsn = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await primary.close()
    await replayed(replica.database, lsn)
    return replace(settings, database_read_url=f"{replica.database.rpartition('/')[0]}/{name}")


async def replayed(replica_dsn: str, lsn: str, timeout: float = 60) -> None:
    """Wait until the replica has replayed the primary's WAL up to ``lsn``."""
    conn = await asyncpg.connect(replica_dsn)
    try:
        await wait_until(lambda: conn.fetchval("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::text::pg_lsn) >= 0", lsn),
                         timeout, f"the replica to replay up to {lsn}")
    finally:
        await conn.close()
