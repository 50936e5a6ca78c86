"""Seed 000's module answers errors in the seed's envelope too (``data: null``, the message,
the status, the locale), beside the one ``error`` object every route answers with."""
from __future__ import annotations

import pytest

from profile360.cli import tenants

from .harness import InProcessWorker
from .test_pipeline import api_client

pytestmark = pytest.mark.integration
TENANT = "c360"


def enveloped(body: dict, status: int, locale: str | None) -> dict:
    """``body``'s ``result``, checked to agree with its ``error`` object."""
    result, error = body["result"], body["error"]
    assert (result["data"], result["status"], result["locale"]) == (None, status, locale)
    assert (error["status"], error["message"]) == (status, result["message"])
    return error


async def test_the_customer360_routes_answer_errors_in_the_seeds_envelope(settings):
    client = await api_client(settings)
    headers = {"X-Tenant-Id": TENANT}
    try:
        off = await client.get("/en/api/customer360", headers=headers)
        assert enveloped(await off.json(), 403, "en")["code"] == "module_disabled"
        async with InProcessWorker(settings):
            assert await tenants.set_(settings, TENANT, "on", None, None) == 0
        unknown = await client.get("/ar/api/customer360/customers/nobody/events", headers=headers)
        assert enveloped(await unknown.json(), 404, "ar")["field"] == "id"
        bad_locale = await client.get("/english!/api/customer360", headers=headers)
        assert enveloped(await bad_locale.json(), 400, None)["field"] == "locale"
        no_key = await client.get("/en-US/api/customer360")
        assert enveloped(await no_key.json(), 401, "en-US")["code"] == "unauthorized"
        other_route = await client.get("/api/v1/customers/nobody", headers=headers)
        assert other_route.status == 404 and set(await other_route.json()) == {"error"}
    finally:
        await client.close()
