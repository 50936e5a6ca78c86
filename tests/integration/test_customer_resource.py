"""Seed 004: ``GET /api/v1/customers/{id}`` answers in the support-desk shape, validated
against the seed's JSON Schema, from the identity and trait events of a merged profile."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .harness import InProcessWorker, wait_caught_up
from .test_pipeline import api_client
from .test_profiles import PEOPLE, identify, publish_records

pytestmark = pytest.mark.integration
SCHEMA = json.loads((Path(__file__).parent / "seed_schemas" / "004_customer.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

EXTRA = [identify("x1", 20, ("customer_id", "C3"), name="Cyd Charisse", address="1 Sheikh Zayed Rd, Dubai", vip=True),
         identify("x2", 21, ("customer_id", "C9"), ("phone", "+442071838750"))]  # a London landline


async def test_the_customer_resource_has_the_seed_shape(settings):
    await publish_records(settings, PEOPLE + EXTRA)
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    client = await api_client(settings)
    try:
        bodies = {}
        for ident in ("C1", "C2", "C3", "C9", "email:ann@x.com"):
            resp = await client.get(f"/api/v1/customers/{ident}", headers={"X-Tenant-Id": "acme"})
            assert resp.status == 200, (ident, await resp.text())
            bodies[ident] = await resp.json()
            VALIDATOR.validate(bodies[ident])
        assert (await client.get("/api/v1/customers/nobody", headers={"X-Tenant-Id": "acme"})).status == 404
        # C4's only Identify names an invalid email: dead-lettered whole, so C4 is no customer
        assert (await client.get("/api/v1/customers/C4", headers={"X-Tenant-Id": "acme"})).status == 404
    finally:
        await client.close()
    ann = bodies["C1"]
    assert ann == bodies["C2"] == bodies["email:ann@x.com"], "one merged profile, whichever id names it"
    assert (ann["id"], ann["externalCustomerId"], ann["name"]) == ("C1", "C1", "Annie")
    assert ann["emails"] == [{"original": "Ann@X.com", "normalized": "ann@x.com", "primary": True}]
    assert ann["customAttributes"] == {"tier": "gold"} and ann["channels"] == [{"type": "EMAIL", "address": "ann@x.com"}]
    assert ann["createdAt"] < ann["modifiedAt"]
    cyd = bodies["C3"]
    assert (cyd["name"], cyd["address"], cyd["customAttributes"]) == ("Cyd Charisse", "1 Sheikh Zayed Rd, Dubai",
                                                                       {"city": "Dubai", "vip": True})
    assert cyd["phones"] == [{"original": "+971501234567", "normalized": "+971501234567", "type": "MOBILE",
                              "regionCode": "AE", "primary": True}]
    assert {c["type"] for c in cyd["channels"]} == {"SMS", "VOICE"}
    assert (bodies["C9"]["phones"][0]["type"], bodies["C9"]["phones"][0]["regionCode"]) == ("HOME", "GB") and bodies["C9"]["channels"] == [
        {"type": "VOICE", "address": "+442071838750"}]
