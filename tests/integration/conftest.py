from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pytest

from profile360.bootstrap import apply_migrations
from profile360.settings import Settings

from .services import Services, services


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
async def settings(stack: Services) -> Settings:
    """A fresh database (migrated) and fresh topics for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(stack.database)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = stack.database.rpartition("/")
    s = Settings(kafka_bootstrap=stack.kafka, database_url=f"{base}/{name}", topic_prefix=f"test-{name}",
                 consumer_group=f"worker-{name}", batch_max_records=500, batch_timeout_ms=100, topic_partitions=3)
    await apply_migrations(s)
    return s


@pytest.fixture
def owned(stack: Services) -> Services:
    """The stack, when the tests own its services (fault tests stop and restart them)."""
    if stack.pg_dir is None:
        pytest.skip("restarting services needs the tests' own Kafka and PostgreSQL (KAFKA_BOOTSTRAP_SERVERS/DATABASE_URL are set)")
    return stack
