"""``POST /api/v1/events``: producers publish batches over HTTP. Valid events are in Kafka and
applied by the worker (tables compared with the independent fold), invalid ones are answered
per event with the field at fault, re-sends count once, and the ``producer`` role may do this
and nothing else."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from profile360.topics import ensure_topics

from . import workload
from .api_auth import make_key
from .harness import InProcessWorker, env_for, topic_records, wait_caught_up
from .test_access import routes_of
from .test_pipeline import api_client, check_tables_match_oracle

pytestmark = pytest.mark.integration
EVENTS = "/api/v1/events"


def as_json(name: str, record: dict) -> dict:
    """A record as a producer sends it: JSON types (times as ISO 8601), ``$schema`` naming it."""
    return {"$schema": name, **orjson.loads(orjson.dumps(record))}


async def post(client, key: str, body, path: str = EVENTS, method: str = "POST"):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = await client.request(method, path, data=data, headers={"Authorization": f"Bearer {key}",
                                                                   "Content-Type": "application/json"})
    return resp.status, await resp.json()


def mixed_batch(tenant: str) -> tuple[list, dict[int, tuple[int, str, str]], list[dict], list]:
    """(events, {index: (status, code, field)} of the bad ones, the valid interactions, catalog)."""
    interactions = workload.interactions(tenant, 120, prefix="http")
    catalog = workload.catalog(tenant, interactions[0]["occurredAt"])
    events = [as_json(n, r) for n, r in catalog] + [as_json("InteractionEvent", r) for r in interactions]
    no_tenant = as_json("InteractionEvent", interactions[5])
    del no_tenant["tenantId"]
    events[len(catalog) + 5] = no_tenant  # filled in: accepted
    events.append(as_json("Identify", {"eventId": "id-1", "tenantId": tenant, "occurredAt": interactions[0]["occurredAt"],
                                       "identifiers": [{"type": "customer_id", "value": "cust_1"},
                                                       {"type": "email", "value": "Ann@Example.com"}]}))
    ok = as_json("InteractionEvent", interactions[0])
    bad = {
        "events[{}].customerId": ({k: v for k, v in ok.items() if k != "customerId"}, 400, "invalid_event"),
        "events[{}].customerID": ({**ok, "customerID": "typo"}, 400, "invalid_event"),
        "events[{}].occurredAt": ({**ok, "eventId": "bad-time", "occurredAt": "1990-01-01T00:00:00Z"}, 400, "invalid_event"),
        "events[{}].type": ({**ok, "eventId": "bad-type", "type": "Not A Type!"}, 400, "invalid_event"),
        "events[{}].$schema": ({**ok, "$schema": "ErasureRequested"}, 400, "invalid_event"),
        "events[{}].tenantId": ({**ok, "eventId": "theirs", "tenantId": "other"}, 403, "tenant_mismatch"),
        "events[{}]": (["not", "an", "object"], 400, "invalid_event"),
    }
    expected = {}
    for template, (event, status, code) in bad.items():
        expected[len(events)] = (status, code, template.format(len(events)))
        events.append(event)
    return events, expected, interactions, catalog


def check_results(body: dict, events: list, expected: dict) -> None:
    assert (body["accepted"], body["rejected"]) == (len(events) - len(expected), len(expected))
    for result in body["results"]:
        i = result["index"]
        if i in expected:
            error = result["error"]
            assert (result["status"], error["status"], error["code"], error["field"]) == ("rejected", *expected[i]), result
        else:
            assert result == {"index": i, "eventId": events[i]["eventId"], "status": "accepted"}
    assert [r["index"] for r in body["results"]] == list(range(len(events)))


async def test_a_mixed_batch_is_answered_per_event_applied_and_counted_once(settings):
    await ensure_topics(settings)
    events, expected, interactions, catalog = mixed_batch("acme")
    client = await api_client(settings)
    try:
        key = await make_key(settings.database_url, "acme", "producer")
        for _ in range(2):  # the same batch twice: the worker applies each eventId once
            status, body = await post(client, key, {"events": events})
            assert status == 207, body
            check_results(body, events, expected)
        status, body = await post(client, key, {"events": [e for i, e in enumerate(events) if i not in expected][:3]})
        assert (status, body["accepted"], body["rejected"]) == (200, 3, 0)
    finally:
        await client.close()
    async with InProcessWorker(settings) as worker:
        await wait_caught_up(settings)
    assert worker.stats.dead == 0  # what was accepted is not dead-lettered
    await check_tables_match_oracle(settings, interactions, catalog)
    published = await topic_records(settings)
    assert sum(1 for n, r in published if n == "Identify") == 2  # to the identity topic, twice
    assert {r["tenantId"] for _, r in published} == {"acme"}


async def test_limits_and_malformed_bodies(settings):
    client = await api_client(settings)
    try:
        key = await make_key(settings.database_url, "acme", "editor")
        one = as_json("InteractionEvent", workload.interactions("acme", 1)[0])
        for body, field in ((b"not json", None), ({"event": [one]}, "events"), ({"events": one}, "events"),
                            ({"events": []}, "events"), ({"events": [one] * 1001}, "events")):
            status, answer = await post(client, key, body)
            assert (status, answer["error"]["code"], answer["error"].get("field")) == (400, "invalid_body", field), body
        big = {"events": [{**one, "metadata": {"blob": "x" * 1000}}] * 1000}
        assert len(orjson.dumps(big)) > 1024 * 1024
        status, answer = await post(client, key, big)
        assert (status, answer["error"]["code"]) == (413, "body_too_large")
    finally:
        await client.close()


async def test_the_producer_role_may_publish_and_nothing_else(settings):
    await ensure_topics(settings)
    created = subprocess.run([sys.executable, "-m", "profile360", "keys", "create", "--tenant", "acme", "--role", "producer"],
                             capture_output=True, text=True, env=env_for(settings), timeout=60)
    assert created.returncode == 0, created.stderr
    producer = created.stdout.split()[0]
    event = as_json("InteractionEvent", workload.interactions("acme", 1)[0])
    client = await api_client(settings)
    try:
        for role in ("admin", "editor"):
            assert (await post(client, await make_key(settings.database_url, "acme", role), {"events": [event]}))[0] == 200
        status, body = await post(client, await make_key(settings.database_url, "acme", "viewer"), {"events": [event]})
        assert (status, body["error"]["code"]) == (403, "forbidden")
        assert (await post(client, producer, {"events": [event]}))[0] == 200
        for method, route in routes_of(client.server.app) - {("POST", EVENTS)}:
            path = route.replace("{locale}", "en").replace("{", "").replace("}", "")
            status, body = await post(client, producer, {}, path, method)
            assert (status, body["error"]["code"]) == (403, "forbidden"), (method, route)
    finally:
        await client.close()
