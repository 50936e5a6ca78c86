"""``GET /api/v1/dead-letters`` and ``POST /api/v1/dead-letters/redrive``: an admin sees its own
tenant's dead letters (never another tenant's, never one whose tenant cannot be read), and
re-drives them to their origin topic; other roles get 403."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aiokafka import AIOKafkaProducer

from profile360.topics import ensure_topics

from . import workload
from .api_auth import make_key
from .harness import InProcessWorker, wait_caught_up
from .test_access import _call
from .test_dead_letters import CODEC, read_topic
from .test_pipeline import api_client

pytestmark = pytest.mark.integration


def _bad(tenant: str, event_id: str) -> bytes:
    """An event the worker dead-letters (its time is before 2000) that still names its tenant."""
    good = workload.interactions(tenant, 1, prefix=event_id)[0]
    return CODEC.encode("InteractionEvent", {**good, "eventId": event_id, "occurredAt": datetime(1990, 1, 1, tzinfo=timezone.utc)})


async def _send(settings, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic("interactions"), value, key=b"k")
    finally:
        await producer.stop()


async def test_listed_for_its_tenants_admin_only_and_redriven(settings):
    await ensure_topics(settings)
    await _send(settings, [_bad("acme", "bad-acme"), _bad("other", "bad-other"), b"not avro at all"])
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    client = await api_client(settings)
    try:
        admin, other, viewer, editor = [await make_key(settings.database_url, t, r) for t, r in
                                        (("acme", "admin"), ("other", "admin"), ("acme", "viewer"), ("acme", "editor"))]
        status, body = await _call(client, admin, "GET", "/api/v1/dead-letters")
        assert status == 200, body
        assert (body["total"], body["complete"], len(body["items"])) == (1, True, 1)
        letter = body["items"][0]
        assert letter["reason"] == "invalid_event" and "occurredAt" in letter["detail"]
        assert letter["origin"]["topic"] == settings.topic("interactions") and letter["key"] == "k"
        assert letter["id"].startswith(settings.topic("dlq") + ":") and letter["deadAt"].endswith("Z")
        status, body = await _call(client, other, "GET", "/api/v1/dead-letters")
        assert status == 200 and body["total"] == 1 and body["items"][0]["id"] != letter["id"]
        for key in (viewer, editor):
            assert (await _call(client, key, "GET", "/api/v1/dead-letters"))[0] == 403
            assert (await _call(client, key, "POST", "/api/v1/dead-letters/redrive", json={"all": True}))[0] == 403
        # another tenant's letter is not re-driven by naming its id
        status, body = await _call(client, admin, "POST", "/api/v1/dead-letters/redrive",
                                   json={"ids": [letter["id"].rsplit(":", 2)[0] + ":9:0"]})
        assert (status, body) == (200, {"redriven": 0})
        status, body = await _call(client, admin, "POST", "/api/v1/dead-letters/redrive", json={"ids": ["nope"]})
        assert (status, body["error"]["field"]) == (400, "ids[0]")
        status, body = await _call(client, admin, "POST", "/api/v1/dead-letters/redrive", json={"ids": [letter["id"]]})
        assert (status, body) == (200, {"redriven": 1})
        status, body = await _call(client, other, "POST", "/api/v1/dead-letters/redrive", json={"all": True})
        assert (status, body) == (200, {"redriven": 1})
    finally:
        await client.close()
    # back in their origin topic, bytes unchanged: the three sent, then the two re-driven
    records = await read_topic(settings, settings.topic("interactions"), 5)
    assert len(records) == 5
    for event_id in (b"bad-acme", b"bad-other"):
        copies = [r.value for r in records if event_id in r.value]
        assert len(copies) == 2 and copies[0] == copies[1], event_id
