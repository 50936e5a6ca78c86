"""Seed 004's customer resource (``projections.support_desk``): which phone is primary."""
from __future__ import annotations

from datetime import datetime, timezone

from profile360.projections.support_desk import customer
from profile360.projections.traits import Fact

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
LANDLINE, MOBILE = "+442071838750", "+971501234567"  # London fixed line; UAE mobile


def node(value: str, minute: int = 0) -> dict:
    return {"key": f"phone:{value}", "id_type": "phone", "id_value": value, "original": value, "valid": True,
            "occurred_at": AT.replace(minute=minute)}


def primaries(nodes: list[dict], traits: list[Fact] = ()) -> dict[str, bool]:
    return {p["normalized"]: p["primary"] for p in customer("P", ["P"], nodes, list(traits), [AT])["phones"]}


def test_a_mobile_is_primary_over_a_landline_whatever_the_order():
    # one event listing both (the same time: the landline's key sorts first), and either one earlier
    assert primaries([node(MOBILE), node(LANDLINE)]) == {LANDLINE: False, MOBILE: True}
    assert primaries([node(LANDLINE, 0), node(MOBILE, 5)]) == {LANDLINE: False, MOBILE: True}
    assert primaries([node(MOBILE, 0), node(LANDLINE, 5)]) == {MOBILE: True, LANDLINE: False}


def test_the_phone_trait_decides_and_a_lone_landline_is_primary():
    trait = Fact("t", "customer_id:P", "trait", "phone", LANDLINE, AT, "e1")
    assert primaries([node(MOBILE), node(LANDLINE)], [trait]) == {LANDLINE: True, MOBILE: False}
    assert primaries([node(LANDLINE)]) == {LANDLINE: True}
    assert list(primaries([node(MOBILE, 3), node(LANDLINE, 1)])) == [LANDLINE, MOBILE], "earliest first"
