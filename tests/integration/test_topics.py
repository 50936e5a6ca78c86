"""Topic creation returns only once the topics take records: the first sends right after it
(``make run``'s demo data) meet no NotLeaderForPartition retries, so no warning floods the
newcomer's first screen."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest

from profile360.bootstrap import load_codec
from profile360.cli import demo
from profile360.cli.produce import send_records
from profile360.topics import ensure_topics

pytestmark = pytest.mark.integration


async def test_the_first_sends_after_topic_creation_meet_no_leader_retries(settings, caplog):
    caplog.set_level(logging.WARNING, logger="aiokafka")
    await ensure_topics(settings)  # fresh topics: this test's prefix is new
    now, codec = datetime.now(timezone.utc), load_codec()
    await send_records(settings, codec, settings.topic("catalog"), demo.catalog("demo", now))
    await send_records(settings, codec, settings.topic("interactions"), demo.interactions("demo", now, 100))
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING]
    assert warnings == []
