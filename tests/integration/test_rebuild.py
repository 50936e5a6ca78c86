"""Blue/green rebuilds and replays on the real broker and database: nothing lost, nothing
counted twice, reads never fail or go back in time, old schema versions replay."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from profile360.cli.produce import partition_key
from profile360.store import generations
from profile360.worker.rebuild import rebuild
from profile360.worker.replay import replay_from

from . import workload
from .harness import InProcessWorker, env_for, wait_caught_up, wait_until
from .test_pipeline import CODEC, api_client, check_tables_match_oracle, publish
from .test_profiles import PEOPLE, check_membership, publish_records
from .test_rebuild_member import running_members

pytestmark = pytest.mark.integration

async def publish_v1(settings, events: list[dict]) -> None:
    """Interactions written by an older producer, with InteractionEvent v1."""
    v1 = {"eventId", "tenantId", "customerId", "type", "occurredAt", "channel", "channelId", "offerId", "creativeId"}
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for e in events:
            await producer.send_and_wait(settings.topic("interactions"),
                                         CODEC.encode("InteractionEvent", {k: e[k] for k in v1}, version=1),
                                         key=partition_key("InteractionEvent", e))
    finally:
        await producer.stop()


def v1_shape(events: list[dict]) -> list[dict]:
    """What v1 events are in the current shape: v2's fields at their defaults."""
    return [{**e, "campaignId": None, "workflowId": None, "value": None, "metadata": {}} for e in events]


#: columns that say which transaction wrote a row: a rebuild writes in others, by design
WRITER_COLUMNS = {"written_in"}


async def dump(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple]]:
    """Every projection table of a generation, as sorted rows of text (``WRITER_COLUMNS`` left out)."""
    tables = [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename NOT IN "
        "('consumer_positions', 'schema_migrations') ORDER BY 1", schema)]
    return {t: sorted(tuple(str(v) for k, v in r.items() if k not in WRITER_COLUMNS)
                      for r in await conn.fetch(f'SELECT * FROM {schema}."{t}"'))
            for t in tables}


async def current_generation(settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        return (await generations.current(conn)).number
    finally:
        await conn.close()


async def test_a_rebuild_of_a_quiet_stream_equals_the_live_generation(settings):
    """`profile360 rebuild --keep-old` (the real command) builds generation 2 equal, table by
    table, to generation 1; v1-encoded events are part of it."""
    catalog = workload.catalog("acme", datetime(2026, 11, 1, tzinfo=timezone.utc))
    events, old = workload.interactions("acme", 300), workload.interactions("acme", 40, seed=3, prefix="old")
    await publish(settings, catalog, events)
    await publish_v1(settings, old)
    await publish_records(settings, PEOPLE)
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
    done = subprocess.run([sys.executable, "-m", "profile360", "rebuild", "--keep-old", "--no-progress"],
                          env=env_for(settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rebuilt generation 2" in done.stdout
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert [(g.number, g.state) for g in await generations.all_generations(conn)] == [(1, "retired"), (2, "current")]
        blue, green = await dump(conn, "p360_g1"), await dump(conn, "p360_g2")
    finally:
        await conn.close()
    assert blue.keys() == green.keys() and len(blue) >= 15
    assert {t: len(rows) for t, rows in green.items()} == {t: len(rows) for t, rows in blue.items()}
    assert green == blue
    await check_tables_match_oracle(settings, events + v1_shape(old), catalog)


async def test_rebuild_while_ingesting_and_reading(settings):
    """Events keep arriving and the API keeps answering during the rebuild (in two processes)
    and its switch: no request fails, totals never go back, and the new generation holds every
    event once."""
    catalog = workload.catalog("acme", datetime(2026, 11, 1, tzinfo=timezone.utc))
    first, later = workload.interactions("acme", 1500), workload.interactions("acme", 600, seed=11, prefix="later")
    await publish(settings, catalog, first)
    await publish_records(settings, PEOPLE)
    samples, totals = [], []
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
        client = await api_client(settings)
        stop = asyncio.Event()
        try:
            feeder = asyncio.create_task(_feed(settings, later))
            reader = asyncio.create_task(_read_totals(client, stop, totals))
            # two processes: this one and a rebuild_member (the rebuild waits for both in its group),
            # stopped before the switch
            result = await rebuild(replace(settings, worker_processes=2), CODEC, on_progress=samples.append, poll=0.1)
            assert not running_members(), "a rebuild process outlived the rebuild"
            await feeder
            await wait_caught_up(settings)
            stop.set()
            await reader
        finally:
            await client.close()
    assert (result.generation, result.replaced, result.dropped) == (2, 1, True)
    assert samples and max(s.total for s in samples) >= len(first) and samples[-1].remaining <= settings.batch_max_records
    assert await current_generation(settings) == 2
    assert len(totals) > 5 and totals == sorted(totals), "a read saw the data go back in time"
    await check_tables_match_oracle(settings, first + later, catalog)
    await check_membership(settings, PEOPLE)
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert await conn.fetchval("SELECT to_regnamespace('p360_g1')") is None, "the old generation is dropped"
    finally:
        await conn.close()


async def _feed(settings, events: list[dict]) -> None:
    for i in range(0, len(events), 50):
        await publish(settings, [], events[i:i + 50])
        await asyncio.sleep(0.05)


async def _read_totals(client, stop: asyncio.Event, totals: list[int]) -> None:
    """Read the action summary until ``stop``; every answer must be a 200."""
    while not stop.is_set():
        resp = await client.get("/api/v1/interaction-summary", params={"groupBy": "action", "days": "3650"},
                                headers={"X-Tenant-Id": "acme"})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        totals.append(sum(row["total"] for row in body["summary"]))


async def test_replay_from_a_time_reapplies_the_window_idempotently(settings):
    """`replay --from` moves positions back; the running worker re-applies the window and
    nothing is counted twice."""
    catalog = workload.catalog("acme", datetime(2026, 11, 1, tzinfo=timezone.utc))
    events = workload.interactions("acme", 400)
    await publish(settings, catalog, events[:200])
    since = datetime.now(timezone.utc)
    await publish(settings, [], events[200:])
    async with InProcessWorker(settings) as worker:
        await wait_caught_up(settings)
        before = worker.stats.consumed
        moved = await replay_from(settings, since)
        assert sum(old - new for old, new in moved.values()) == 200
        await wait_until(lambda: _consumed_at_least(worker, before + 200), what="the window re-applied")
        await wait_caught_up(settings)
    await check_tables_match_oracle(settings, events, catalog)


async def _consumed_at_least(worker, n: int) -> bool:
    return worker.stats.consumed >= n


async def test_a_writer_refuses_a_generation_another_release_built(settings):
    """After a newer release's rebuild switched, this release's workers stop instead of
    writing rows its folds do not know into the new schema."""
    from profile360.events.model import from_record
    from profile360.store.generations import GenerationMismatch
    from profile360.store.writer import Entry, apply_batch

    event = workload.interactions("acme", 1)[0]
    entry = Entry("t", 0, 0, from_record("InteractionEvent", CODEC.decode(CODEC.encode("InteractionEvent", event)).record))
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("INSERT INTO p360_g1.schema_migrations (version, name) VALUES (9999, '9999_future')")
        with pytest.raises(GenerationMismatch, match="schema version 9999"):
            await apply_batch(conn, settings.consumer_group, [entry])
        assert await conn.fetchval("SELECT count(*) FROM interaction_history") == 0
    finally:
        await conn.close()


async def test_rebuild_of_one_projection_refolds_it_and_copies_the_others(settings):
    """`rebuild --projection interactions` re-folds the interaction tables from the topics
    (a damaged summary is repaired) and takes every other table as it was (a mark left in
    the profile facts is still there), while events keep arriving."""
    catalog = workload.catalog("acme", datetime(2026, 11, 1, tzinfo=timezone.utc))
    first, later = workload.interactions("acme", 600), workload.interactions("acme", 300, seed=5, prefix="later")
    await publish(settings, catalog, first)
    await publish_records(settings, PEOPLE)
    async with InProcessWorker(settings):
        await wait_caught_up(settings)
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute("UPDATE interaction_summary_daily SET click = click + 1000")  # damage
            await conn.execute("UPDATE profile_facts SET source = 'marked'")  # not interactions: must survive
            marked = await conn.fetchval("SELECT count(*) FROM profile_facts")
        finally:
            await conn.close()
        feeder = asyncio.create_task(_feed(settings, later))
        result = await rebuild(settings, CODEC, projection="interactions", poll=0.1)
        await feeder
        await wait_caught_up(settings)
    assert result.generation == 2
    await check_tables_match_oracle(settings, first + later, catalog)  # repaired, every event once
    await check_membership(settings, PEOPLE)
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert marked > 0
        assert await conn.fetchval("SELECT count(*) FROM profile_facts WHERE source = 'marked'") == marked
    finally:
        await conn.close()


async def test_a_second_rebuild_is_refused_and_a_truncated_log_is_not_rebuilt(settings):
    """Two rebuilds at once could switch twice; a log that lost its first records to retention
    would silently lose them in a rebuild: both are refused, with the reason."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

    from profile360.store.generations import RebuildConflict, one_rebuild_at_a_time
    from profile360.worker.rebuild import TruncatedLog

    await publish(settings, [], workload.interactions("acme", 50))
    holder = await asyncpg.connect(settings.database_url)
    try:
        await one_rebuild_at_a_time(holder)  # as a running rebuild holds it
        with pytest.raises(RebuildConflict, match="another rebuild is running"):
            await rebuild(settings, CODEC)
    finally:
        await holder.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:  # what retention does to the oldest segment
        await admin.delete_records({TopicPartition(settings.topic("interactions"), 0): RecordsToDelete(before_offset=1)})
    finally:
        await admin.close()
    with pytest.raises(TruncatedLog, match="interactions"):
        await rebuild(settings, CODEC)
    async with InProcessWorker(settings):
        result = await rebuild(settings, CODEC, allow_truncated=True)
    assert result.generation == 2


async def test_a_failed_rebuild_leaves_no_process_behind_and_the_next_one_resumes(settings):
    catalog = workload.catalog("acme", datetime(2026, 11, 1, tzinfo=timezone.utc))
    events = workload.interactions("acme", 800)
    await publish(settings, catalog, events)

    two = replace(settings, worker_processes=2)

    def fail_once_the_members_run(progress) -> None:
        if settings.topic("interactions") in progress.lag:  # past the erasure phase: the members are started
            raise RuntimeError("operator pressed Ctrl-C")

    with pytest.raises(RuntimeError, match="Ctrl-C"):
        await rebuild(two, CODEC, on_progress=fail_once_the_members_run, poll=0.1)
    assert not running_members(), "a process of the failed rebuild goes on writing"
    result = await rebuild(two, CODEC, poll=0.1)
    assert (result.generation, result.replaced) == (2, 1), "the second rebuild resumes generation 2"
    assert not running_members()
    await check_tables_match_oracle(settings, events, catalog)
