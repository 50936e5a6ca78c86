"""The Prometheus metrics of a real worker process and of a real ``profile360 api --processes 2``,
scraped and parsed with prometheus-client's parser: the counters and the lag move as the
records and requests made say they must, summed over the API's processes, with route
templates (never raw ids) as labels."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from profile360.devstack import free_port
from profile360.processes import metrics_dir
from profile360.topics import ensure_topics

from . import workload
from .api_auth import make_key
from .harness import (children_of, group_members, pids_answering, serving, start_api_process, start_worker_process,
                      stop_process, table_locked, wait_caught_up, wait_until, worker_log)
from .test_status import publish_counted

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset], float]


async def scrape(url: str) -> Samples:
    """Every sample at ``url`` (a new connection each time: with several API processes, any of
    them answers)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        async with session.get(url) as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            text = await resp.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls)


def free_ports(n: int) -> int:
    """The first of ``n`` consecutive ports that were free a moment ago."""
    import socket
    while True:
        first, ok = free_port(), True
        for port in range(first + 1, first + n):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return first


async def scrape_all(urls: list[str]) -> Samples:
    """The samples of several processes, each one's labelled with ``instance`` as Prometheus does."""
    out: Samples = {}
    for url in urls:
        out |= {(n, ls | {("instance", url)}): v for (n, ls), v in (await scrape(url)).items()}
    return out


async def test_worker_metrics_follow_the_records(settings):
    """``worker --processes 2``: member i serves on the port + i; together they report every
    partition's lag and every record's outcome once."""
    await ensure_topics(settings)
    port = free_ports(2)
    worker = start_worker_process(replace(settings, metrics_port=port), processes=2)
    urls = [f"http://127.0.0.1:{port + i}/metrics" for i in range(2)]
    topic = settings.topic("interactions")
    try:
        await wait_until(lambda: group_members(settings, 2), 60, "the workers to join their group")
        events = workload.interactions("acme", 80)
        async with table_locked(settings.database_url, "interaction_history"):  # the worker's batches wait
            sent = await publish_counted(settings, events + events[:5], junk=1)  # 5 re-sent, 1 undecodable
            # the lag is end offset minus stored position: everything published, per partition
            await wait_until(lambda: _lag_is(urls, dict(sent)), 20, "the lag of what was published")
        await wait_caught_up(settings)
        await wait_until(lambda: _lag_is(urls, {tp: 0 for tp in sent}), 20, "the lag back to 0")
        before = time.time()
        got = await scrape_all(urls)
        after = time.time()
        assert total(got, "profile360_records_applied_total", topic=topic, outcome="applied") == 80
        assert total(got, "profile360_records_applied_total", topic=topic, outcome="duplicate") == 5
        assert total(got, "profile360_records_applied_total", topic=topic, outcome="dead_lettered") == 1
        assert total(got, "profile360_records_applied_total", outcome="erased") == 0
        assert total(got, "profile360_dead_letters_total") == total(got, "profile360_dead_letters_total",
                                                                    reason="not_single_object") == 1
        assert total(got, "profile360_batch_apply_seconds_count") >= 1
        assert all(total(got, "profile360_rebalances_total", instance=url) >= 1 for url in urls)
        newest = max(e["occurredAt"] for e in events).timestamp()  # now minus that, when the scrape was answered
        ages = [v for (n, _), v in got.items() if n == "profile360_last_applied_event_age_seconds" and v == v]
        assert ages and all(before - newest <= age for age in ages) and min(ages) <= after - newest
        assert not any(n == "profile360_rebuild_progress_ratio" for n, _ in got)  # no rebuild runs
    finally:
        assert stop_process(worker) == 0, worker_log(worker)


async def _lag_is(urls: list[str], expected: dict[tuple[str, int], int]) -> bool:
    """Whether the members report together exactly one lag per partition, as expected."""
    found = [((d["topic"], int(d["partition"])), v) for (n, ls), v in (await scrape_all(urls)).items()
             if n == "profile360_consumer_lag_records" for d in [dict(ls)]]
    return len(found) == len(dict(found)) and set(expected) <= set(dict(found)) \
        and all(dict(found)[tp] == n for tp, n in expected.items()) and sum(v for _, v in found) == sum(expected.values())


async def test_api_metrics_count_every_answer_by_route_template_over_all_processes(settings):
    api = start_api_process(settings, P360_API_PROCESSES="2")
    port = int(api.base_url.rsplit(":", 1)[1])
    try:
        await serving(api, 2)
        assert metrics_dir(port).is_dir()
        key = await make_key(settings.database_url, "acme", "viewer")
        made: Counter = Counter()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            async def call(path: str, **headers: str) -> None:
                async with session.get(api.base_url + path, headers=headers) as resp:
                    made[(path, resp.status)] += 1
            for _ in range(10):
                await call("/api/v1/customers/CUST-SECRET-1", Authorization=f"Bearer {key}")
            await call("/api/v1/customers/CUST-SECRET-2")  # no key: the auth middleware's 401
            await call("/nowhere/CUST-SECRET-3")
            for _ in range(20):
                await call("/openapi.json")
        assert made == {("/api/v1/customers/CUST-SECRET-1", 404): 10, ("/api/v1/customers/CUST-SECRET-2", 401): 1,
                        ("/nowhere/CUST-SECRET-3", 404): 1, ("/openapi.json", 200): 20}
        assert len(await pids_answering(api.base_url)) == 2  # both processes answer on the port
        for _ in range(4):  # whichever process answers, the counts are the sums over both
            got = await scrape(api.base_url + "/metrics")
            route = "/api/v1/customers/{id}"
            assert total(got, "profile360_http_requests_total", route=route, method="GET", status="404") == 10
            assert total(got, "profile360_http_requests_total", route=route, method="GET", status="401") == 1
            assert total(got, "profile360_http_requests_total", route="unmatched", status="404") == 1
            assert total(got, "profile360_http_requests_total", route="/openapi.json", status="200") == 20
            assert total(got, "profile360_http_request_duration_seconds_count", route=route, method="GET") == 11
            assert total(got, "profile360_http_in_flight_requests") >= 1  # this scrape
            assert not any("CUST-SECRET" in v for _, ls in got for _, v in ls)
        children = children_of(api)
    finally:
        stop_process(api)
    assert not metrics_dir(port).exists() and len(children) == 2
