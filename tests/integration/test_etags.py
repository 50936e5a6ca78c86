"""Profile-shaped answers carry an ETag derived from what they were computed from: a matching
``If-None-Match`` answers 304 with no body, and a change to the profile (a trait, an
interaction) changes the tag."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from profile360.topics import ensure_topics

from . import workload
from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client, publish
from .test_profiles import PEOPLE, TENANT, configured, identify, publish_records

pytestmark = pytest.mark.integration
ROUTES = {"unified profile": "/api/v1/customers/C1/unified-profile",
          "keyed shape": "/api/v1/customers/C1/unified-profile?shape=keyed",
          "some sections": "/api/v1/customers/C1/unified-profile?sections=identities,metrics",
          "seed 004 customer": "/api/v1/customers/C1",
          "seed 000 profile": "/en/api/customer360/customers/C1"}


async def _get(client, path, tag=None):
    headers = {"X-Tenant-Id": TENANT, **({"If-None-Match": tag} if tag else {})}
    resp = await client.get(path, headers=headers)
    return resp.status, resp.headers.get("ETag"), await resp.read()


async def _tags(client) -> dict[str, str]:
    tags = {}
    for name, path in ROUTES.items():
        status, tag, body = await _get(client, path)
        assert status == 200 and tag and tag.startswith('W/"'), (name, status, tag)
        assert await _get(client, path, tag) == (304, tag, b""), name
        assert (await _get(client, path, f'"other", {tag}'))[0] == 304, name  # a list naming it
        assert (await _get(client, path, '"other"'))[:2] == (200, tag), name
        tags[name] = tag
    return tags


async def test_if_none_match_answers_304_until_the_profile_changes(settings):
    await ensure_topics(settings)
    await publish_records(settings, [configured("cfg", 0, 0.8, customer360=True), *PEOPLE])
    client = await api_client(settings)
    try:
        async with InProcessWorker(settings):
            await wait_caught_up(settings, timeout=60)
            before = await _tags(client)
            assert len(set(before.values())) == len(ROUTES)  # shape and sections are part of the tag
            assert await _tags(client) == before  # stable while nothing changes
            await publish_records(settings, [identify("later", 30, ("customer_id", "C1"), firstName="Ann-Marie")])
            await wait_caught_up(settings, timeout=60)
            after_trait = await _tags(client)
            assert all(after_trait[n] != before[n] for n in ROUTES), (before, after_trait)
            event = {**workload.interactions(TENANT, 1)[0], "customerId": "C1", "eventId": "c1-new",
                     "occurredAt": datetime.now(timezone.utc).replace(microsecond=0)}
            await publish(settings, [], [event])
            await wait_caught_up(settings, timeout=60)
            after_event = await _tags(client)
            # the seed 004 resource shows the latest activity too; every shape changed
            assert all(after_event[n] != after_trait[n] for n in ROUTES), (after_trait, after_event)
    finally:
        await client.close()
