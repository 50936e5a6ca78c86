"""The real ``profile360 worker`` (one process; the fault suite, ``test_fault_suite.py``, runs
``--processes 2`` through longer faults) and ``profile360 api`` ride out a PostgreSQL restart
while idle, a 10-s PostgreSQL outage while events arrive and a broker restart, with nobody
restarting anything: afterwards the same processes run, every table
equals the independent fold, and callers reading throughout saw only answers and 503s naming
the dependency (with ``Retry-After``), never a 500 or a dropped connection. ``/readyz`` says
``stalled`` while the worker applies nothing and records wait."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from urllib.parse import urlparse

import aiohttp
import pytest

from profile360.devstack import kafka as dk
from profile360.devstack import postgres as dp

from . import workload
from .api_auth import make_key
from .callers import Callers
from .fault_suite import read_paths
from .full_check import check_all_tables
from .harness import (children_of, group_members, serving, start_api_process, start_worker_process, stop_process,
                      wait_caught_up, wait_until, worker_log)
from .test_pipeline import publish
from .test_profiles import publish_records

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 10
async def call(method: str, url: str, **kwargs) -> tuple[int, dict, dict]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.request(method, url, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None), dict(resp.headers)


async def caught_up(settings, *procs) -> None:
    try:
        await wait_caught_up(settings, timeout=180)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n" + "\n".join(worker_log(p) for p in procs)) from None


async def postgres_outage(owned, seconds: float) -> None:
    """PostgreSQL stopped for ``seconds`` (the fault's length, not a wait for a condition)."""
    await asyncio.to_thread(dp.stop_postgres, owned.pg_dir)
    try:
        await asyncio.sleep(seconds)
    finally:
        port = urlparse(owned.database).port
        await asyncio.to_thread(dp.start_postgres, owned.pg_dir, port, fsync=False)


async def kafka_restart(owned, during=None) -> None:
    await asyncio.to_thread(dk.stop_kafka, owned.kafka_dir)
    try:
        if during is not None:
            await during()
    finally:
        await asyncio.to_thread(dk.start_kafka, owned.kafka_dir, *owned.kafka_ports, owned.cache)
        await dk.wait_kafka_ready_async(owned.kafka, 120, data_dir=owned.kafka_dir)


async def test_worker_and_api_ride_out_postgres_and_kafka_outages(settings, owned):
    events = workload.interactions("acme", 3000, customers=150)
    catalog, people = workload.catalog("acme", events[0]["occurredAt"]), workload.people("acme")
    await publish(settings, catalog, events[:1000])
    await publish_records(settings, people[:len(people) // 2])
    worker, api = start_worker_process(settings), start_api_process(settings, P360_API_PROCESSES="2")
    key = await make_key(settings.database_url, "acme", "admin")
    try:
        await caught_up(settings, worker)
        members, api_members = children_of(worker), await serving(api, 2)
        assert members == []  # one process: no supervisor
        async with Callers(api.base_url, key, read_paths(150)) as callers:
            await asyncio.to_thread(dp.restart_postgres, owned.pg_dir)  # 1. while the worker is idle
            await publish(settings, [], events[1000:2000])
            await caught_up(settings, worker)
            before = callers.answered(200)

            async def meanwhile() -> None:  # 2. an outage: the worker idles through its first
                await asyncio.sleep(OUTAGE_SECONDS / 3)  # third (polls, follows rewinds), then events arrive
                await publish(settings, [], events[2000:2500])
                await publish_records(settings, people[len(people) // 2:])
            await asyncio.gather(postgres_outage(owned, OUTAGE_SECONDS), meanwhile())
            assert callers.answered(503) > 0, callers.tally
            await caught_up(settings, worker)

            async def answered_again() -> bool:
                return callers.answered(200) > before
            await wait_until(answered_again, 30, "reads answered again after the outage")

            async def command_without_kafka() -> None:  # 3. broker restart
                status, body, headers = await call("PUT", api.base_url + "/api/v1/segments/vip",
                                                  headers={"Authorization": f"Bearer {key}"},
                                                  json={"name": "VIP", "rule": 'trait.tier = "gold"'})
                assert (status, body["error"]["code"]) == (503, "kafka_unavailable"), body
                assert "Retry-After" in headers and not body["error"]["message"].rstrip().endswith(":"), body
            await kafka_restart(owned, command_without_kafka)
            await publish(settings, [], events[2500:])
            await caught_up(settings, worker)
        assert worker.poll() is None and api.poll() is None, worker_log(worker) + worker_log(api)
        assert children_of(worker) == members and children_of(api) == api_members
        assert callers.errors() == {} and callers.dropped == [], (callers.tally, callers.dropped[:5], worker_log(api))
        assert callers.missing_retry_after == 0
    finally:
        code = stop_process(worker, timeout=60)
        stop_process(api)
    assert code == 0, worker_log(worker)
    await check_all_tables(settings, catalog + events + people)


async def test_readyz_says_stalled_while_records_wait_and_nothing_is_applied(settings):
    events = workload.interactions("acme", 200, customers=20)
    await publish(settings, workload.catalog("acme", events[0]["occurredAt"]), events[:100])
    worker = start_worker_process(settings)
    api = start_api_process(settings, P360_STALL_SECONDS="2", P360_API_PROCESSES="1")
    try:
        await caught_up(settings, worker)
        await serving(api, 1)
        status, body, _ = await call("GET", api.base_url + "/readyz")
        assert (status, body["status"], body["worker"]["lag"]) == (200, "ready", 0), body
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            await publish(settings, [], events[100:])

            async def stalled():
                status, body, headers = await call("GET", api.base_url + "/readyz")
                return (body, headers) if status == 503 and body["status"] == "stalled" else None
            body, headers = await wait_until(stalled, 60, "/readyz to say stalled")
            assert "Retry-After" in headers and body["worker"]["lag"] > 0
            assert all(s["waitingSeconds"] >= 2 for s in body["worker"]["stalled"]), body
        finally:
            os.kill(worker.pid, signal.SIGCONT)

        async def ready():
            status, body, _ = await call("GET", api.base_url + "/readyz")
            return status == 200 and body["status"] == "ready"
        await wait_until(ready, 60, "/readyz to say ready again")
    finally:
        assert stop_process(worker) == 0, worker_log(worker)
        stop_process(api)


async def test_a_command_answered_503_while_kafka_is_away_is_never_applied(settings, owned):
    """aiokafka keeps an unacknowledged record and delivers it once the broker is back: the API
    drops it with its producer, so a caller told 503 never finds the write applied later."""
    worker, api = start_worker_process(settings), start_api_process(settings, P360_API_PROCESSES="1")
    key = await make_key(settings.database_url, "acme", "admin")
    auth = {"Authorization": f"Bearer {key}"}

    async def put(segment: str) -> tuple[int, dict, dict]:
        return await call("PUT", f"{api.base_url}/api/v1/segments/{segment}", headers=auth,
                         json={"name": segment, "rule": 'trait.tier = "gold"'})
    try:
        await wait_until(lambda: group_members(settings, 1), 60, "the worker in its group")
        await serving(api, 1)
        assert (await put("before"))[0] == 201  # the API's producer is started and connected

        async def command_while_away() -> None:
            status, body, headers = await put("ghost")
            assert (status, body["error"]["code"]) == (503, "kafka_unavailable"), body
            assert "no acknowledgement within 10 s" in body["error"]["message"] and "Retry-After" in headers
        await kafka_restart(owned, command_while_away)
        await wait_until(lambda: group_members(settings, 1), 120, "the worker back in its group")
        assert (await put("after"))[0] == 201  # published by a new producer and applied
        await caught_up(settings, worker)
        status, _, _ = await call("GET", f"{api.base_url}/api/v1/segments/ghost", headers=auth)
        assert status == 404, "the command answered 503 was applied after all"
    finally:
        assert stop_process(worker, timeout=60) == 0, worker_log(worker)
        stop_process(api)


async def test_commands_are_answered_while_the_broker_is_paused(settings, owned):
    """A paused broker (SIGSTOP) keeps its connections open and never answers. Each command is
    still answered 503 while it is paused, concurrent ones together (each within its own bound,
    none queued behind another's attempt to start a producer): the first round finds the
    producer started, the second has to start a new one. After the broker resumes, the next
    command is published by a new producer."""
    api = start_api_process(settings, P360_API_PROCESSES="1")
    key = await make_key(settings.database_url, "acme", "admin")
    auth = {"Authorization": f"Bearer {key}"}

    async def put(segment: str) -> tuple[int, dict, dict, float]:
        started = time.monotonic()
        status, body, headers = await call("PUT", f"{api.base_url}/api/v1/segments/{segment}", headers=auth,
                                           json={"name": segment, "rule": 'trait.tier = "gold"'},
                                           timeout=aiohttp.ClientTimeout(total=300))
        return status, body, headers, time.monotonic() - started
    try:
        await serving(api, 1)
        assert (await put("before"))[0] in (201, 202)  # the API's producer is started and connected
        broker = dk.kafka_running(owned.kafka_dir)
        os.kill(broker, signal.SIGSTOP)
        try:
            for round in range(2):
                answers = await asyncio.gather(*(put(f"paused-{round}-{i}") for i in range(3)))
                for status, body, headers, _ in answers:
                    assert (status, body["error"]["code"]) == (503, "kafka_unavailable"), body
                    assert "Retry-After" in headers
                times = sorted(a[3] for a in answers)
                assert times[-1] < 1.5 * times[0], f"round {round}: answered one after another: {times}"
        finally:
            os.kill(broker, signal.SIGCONT)

        async def published() -> bool:
            return (await put("after"))[0] in (201, 202)
        await wait_until(published, 120, "a command published after the broker resumed")
    finally:
        stop_process(api)
