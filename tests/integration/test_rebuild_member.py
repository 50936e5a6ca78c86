"""The extra process of a rebuild (``python -m profile360.worker.rebuild_member N``) on the
real broker and database: it applies into the building generation only, stops on SIGTERM,
and refuses a generation that is not being built."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncpg
import pytest

from profile360.resources import projections_dir
from profile360.store import generations
from profile360.store.migrations import load_migrations

from . import workload
from .harness import children_of_pid, env_for, stop_process, wait_until, worker_log
from .test_pipeline import publish

pytestmark = pytest.mark.integration


def running_members() -> list[int]:
    """This test process's children that run a rebuild member."""
    found = []
    for pid in children_of_pid(os.getpid()):
        try:
            if b"profile360.worker.rebuild_member" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def start_member(settings, number: int) -> subprocess.Popen:
    """A member whose log ``worker_log`` reads."""
    log = tempfile.NamedTemporaryFile(prefix="rebuild-member-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "profile360.worker.rebuild_member", str(number)],
                            env=env_for(settings), stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log.name  # type: ignore[attr-defined]
    return proc


async def test_a_member_applies_into_the_building_generation_only(settings):
    events = workload.interactions("acme", 500, customers=50)
    await publish(settings, [], events)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await generations.ensure_layout(conn)
        gen = await generations.create_building(conn, load_migrations(projections_dir()))
        member = start_member(settings, gen.number)

        async def applied():
            return await conn.fetchval(f"SELECT count(*) FROM {gen.schema}.interaction_history") == len(events)
        try:
            await wait_until(applied, 60, "the member to apply every event into the building generation")
        finally:
            returncode = stop_process(member)
        assert returncode == 0, worker_log(member)
        group = f"{settings.consumer_group}.rebuild.g{gen.number}"
        assert await conn.fetchval(f"SELECT sum(next_offset) FROM {gen.schema}.consumer_positions WHERE consumer = $1",
                                   group) == len(events)
        assert await conn.fetchval("SELECT count(*) FROM public.interaction_history") == 0, "the current generation is untouched"
    finally:
        await conn.close()


async def test_a_member_refuses_a_generation_that_is_not_being_built(settings):
    conn = await asyncpg.connect(settings.database_url)
    try:
        await generations.ensure_layout(conn)
    finally:
        await conn.close()
    member = start_member(settings, 1)  # the current generation
    assert member.wait(60) == 3
    assert "not being built" in worker_log(member)
