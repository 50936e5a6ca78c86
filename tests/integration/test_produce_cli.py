"""``profile360 produce``: JSON lines in, Avro out, all or nothing."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from .harness import end_offsets, env_for

pytestmark = pytest.mark.integration


def run_produce(settings, topic: str, lines: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "profile360", "produce", "--topic", topic, "-"],
                          input="\n".join(lines), capture_output=True, text=True, env=env_for(settings), timeout=120)


def line(**fields) -> str:
    base = {"eventId": "e1", "tenantId": "acme", "occurredAt": "2026-03-15T10:30:00Z", "customerId": "c1", "type": "click"}
    return orjson.dumps({**base, **fields}).decode()


async def test_a_bad_line_is_named_and_nothing_is_sent(settings):
    lines = [line(eventId="e1"), line(eventId="e2", occurredAt="yesterday"), line(eventId="e3", customerId=7)]
    result = run_produce(settings, "interactions", lines)
    assert result.returncode == 2
    assert "line 2: " in result.stderr and "occurredAt" in result.stderr
    assert "line 3: " in result.stderr and "customerId" in result.stderr
    assert "nothing was sent" in result.stderr
    assert sum((await end_offsets(settings, ("interactions",))).values()) == 0


async def test_good_lines_are_sent_as_avro(settings):
    catalog = [orjson.dumps({"$schema": "Offer", "eventId": "o", "tenantId": "acme", "occurredAt": 1767225600000,
                             "offerId": "offer_1", "name": "Platinum Card"}).decode()]
    assert run_produce(settings, "catalog", catalog).returncode == 0
    result = run_produce(settings, settings.topic("interactions"), [line(eventId=f"e{i}") for i in range(5)] + [""])
    assert result.returncode == 0, result.stderr
    assert "sent 5 record(s)" in result.stderr
    assert sum((await end_offsets(settings, ("interactions",))).values()) == 5
    assert sum((await end_offsets(settings, ("catalog",))).values()) == 1


async def test_catalog_lines_must_name_their_schema(settings):
    result = run_produce(settings, "catalog", [orjson.dumps({"eventId": "o", "tenantId": "acme"}).decode()])
    assert result.returncode == 2 and "$schema" in result.stderr
