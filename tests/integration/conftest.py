from __future__ import annotations

import uuid

import asyncpg
import pytest

from profile360.bootstrap import apply_migrations
from profile360.settings import Settings

from .services import Services, services


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    cache = Settings.from_env().devstack_dir / "cache"
    with services(tmp_path_factory.mktemp("stack"), cache) as found:
        yield found


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
