"""The demo data set that `make run` loads answers the example calls it prints."""
from __future__ import annotations

import pytest

from profile360.cli.demo import publish_demo

from .harness import InProcessWorker
from .test_pipeline import api_client

pytestmark = pytest.mark.integration


async def test_the_printed_example_calls_answer_on_the_demo_data(settings):
    client = await api_client(settings)
    headers = {"X-Tenant-Id": "demo"}
    try:
        async with InProcessWorker(settings):
            assert await publish_demo(settings, "demo", wait=60) == 0
        for path in ("/api/v1/interaction-history?limit=3", "/api/v1/interaction-history?customerId=CUST007&type=click",
                     "/api/v1/interaction-summary?groupBy=action&days=30",
                     "/api/v1/interaction-summary?groupBy=customer&days=7"):
            resp = await client.get(path, headers=headers)
            assert resp.status == 200, (path, await resp.text())
        body = await (await client.get("/api/v1/customers/CUST012/unified-profile", headers=headers)).json()
        assert body["customerId"] == "CUST007", "one email joins CUST007 and CUST012"
        sections = {s["name"]: s["data"] for s in body["sections"]}
        attrs = sections["attributes"]
        assert (attrs["phone"], attrs["email"], attrs["city"], attrs["tags"]) == (
            "+971501234567", "jane.doe@example.com", "Abu Dhabi", ["high-ltv", "vip"])
        assert attrs["isSubscribed"] is True and sections["journeys"][0]["step"] == "welcome-email"
        assert [s["segmentId"] for s in sections["segments"]] == ["high_value"]
        assert "spend_90d" in sections["metrics"]
        by_email = await client.get("/api/v1/customers/email:jane.doe@example.com/unified-profile",
                                    params={"sections": "identities"}, headers=headers)
        assert (await by_email.json())["customerId"] == "CUST007"
        overview = await (await client.get("/en/api/customer360", headers=headers)).json()
        assert overview["result"]["data"]["channelReach"]["email"] == 1
        assert overview["result"]["data"]["topSegments"][0]["id"] == "high_value"
        segments = await (await client.get("/api/v1/segments", headers=headers)).json()
        assert segments["data"][0]["id"] == "high_value" and segments["data"][0]["memberCount"] >= 1
    finally:
        await client.close()
