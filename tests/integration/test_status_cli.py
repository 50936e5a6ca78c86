"""``profile360 status`` as a real command: the same state as ``GET /api/v1/status`` (one
module), with the API's readiness and the worker group's health."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import orjson
import pytest

from profile360.topics import ensure_topics

from . import workload
from .harness import env_for, group_members, serving, start_api_process, start_worker_process, stop_process, \
    wait_caught_up, wait_until, worker_log
from .test_status import publish_counted

pytestmark = pytest.mark.integration


async def status_command(settings, bind: str, *args: str, code: int = 0, **env: str) -> str:
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "profile360", "status", *args],
                                  env={**env_for(settings), "API_BIND": bind, **env}, capture_output=True, text=True,
                                  timeout=60)
    assert run.returncode == code, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    return run.stdout


async def test_status_command_shows_lag_health_and_dead_letters(settings):
    await ensure_topics(settings)
    sent = await publish_counted(settings, workload.interactions("acme", 60), junk=1)
    from profile360.devstack import free_port
    idle = f"127.0.0.1:{free_port()}"  # nothing listens there
    before = orjson.loads(await status_command(settings, idle, "--json"))
    assert {(t["topic"], t["partition"]): t["lag"] for t in before["topics"] if t["lag"]} == dict(sent)
    assert before["api"]["status"].startswith("unreachable") and before["worker"]["health"] == "down"
    assert (before["deadLetters"], before["generation"], before["worker"]["members"]) == (0, 1, 0)

    worker, api = start_worker_process(settings), start_api_process(settings, P360_API_PROCESSES="1")
    try:
        await serving(api, 1)
        await wait_until(lambda: group_members(settings, 1), 60, "the worker to join its group")
        await wait_caught_up(settings)
        bind = api.base_url.removeprefix("http://")
        after = orjson.loads(await status_command(settings, bind, "--json"))
        rows = {(t["topic"], t["partition"]): (t["position"], t["lag"]) for t in after["topics"]}
        assert set(sent) <= set(rows) and rows == {tp: (sent[tp], 0) for tp in rows}  # sent: a Counter
        assert (after["api"]["httpStatus"], after["api"]["status"]) == (200, "ready")
        assert (after["worker"]["health"], after["worker"]["members"], after["deadLetters"]) == ("up", 1, 1)
        assert after["worker"]["lastAppliedAt"] is not None
        table = await status_command(settings, bind)
        head, *rows = table.splitlines()
        assert head.split() == ["topic", "partition", "position", "end", "offset", "lag", "last", "applied"]
        assert f"{settings.topic('interactions')}  " in table and "total lag      0" in table
        assert "dead letters   1" in table and "worker         up:" in table and "api            ready" in table
    finally:
        stop_process(api)
        assert stop_process(worker) == 0, worker_log(worker)


async def test_status_says_what_is_away_instead_of_failing(settings):
    """An operator runs ``status`` during an outage: it names the dependency that is away,
    still reports the worker group, and exits 1 (no traceback)."""
    await ensure_topics(settings)
    from profile360.devstack import free_port
    idle = f"127.0.0.1:{free_port()}"
    away = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"  # nothing listens there
    rep = orjson.loads(await status_command(settings, idle, "--json", code=1, DATABASE_URL=away))
    assert rep["unavailable"].startswith("PostgreSQL: ") and rep["topics"] == []
    assert rep["worker"]["health"] == "down" and rep["api"]["status"].startswith("unreachable")
    table = await status_command(settings, idle, code=1, DATABASE_URL=away)
    assert table.startswith("unavailable    PostgreSQL: ") and "worker         down:" in table
    rep = orjson.loads(await status_command(settings, idle, "--json", code=1,
                                            KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}"))
    assert rep["unavailable"].startswith("Kafka: ") and rep["worker"]["health"] == "unknown"
