"""Kafka topics of profile360 and the records each one carries."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.offset import OffsetRequest

from profile360.settings import Settings

log = logging.getLogger(__name__)

#: which Avro records each topic family carries
RECORDS_BY_FAMILY = {
    "interactions": ("InteractionEvent",),
    "catalog": ("Offer", "Creative", "Channel"),
    "identity": ("Identify", "Link", "Unlink"),
    "consent": ("ConsentChanged",),
    "experiments": ("ExperimentAssigned",),
    "journeys": ("JourneyUpdated",),
    "definitions": ("TenantConfigured", "MetricDefined", "SegmentDefined"),
    "erasure": ("ErasureRequested",),
    "customers": ("OrgCustomerUpserted",),
    "feedback": ("FeedbackRecorded", "FeedbackHighlighted", "InsightRecorded", "IssueRecorded"),
}

#: the family (so the topic) of each record
FAMILY_OF_RECORD = {name: family for family, names in RECORDS_BY_FAMILY.items() for name in names}
#: the records producers may publish over HTTP (``POST /api/v1/events``): every family but the
#: service's own commands and settings, erasures (the admin-only erasure routes publish them)
#: and definitions (tenant settings, metrics, segments: the segment routes and the CLI)
COLLECTED_RECORDS = tuple(name for family, names in RECORDS_BY_FAMILY.items()
                          if family not in ("erasure", "definitions") for name in names)

#: the dead-letter topic accepts messages this large (the original bytes plus headers of
#: records that reached a source topic's limit, 1 MiB by default)
DLQ_MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: dead letters are kept 30 days: long enough to fix and re-drive them, and not a source of
#: truth, so the personal data they may hold does not outlive an erasure by more than that
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000
#: the source topics are the source of truth: nothing is ever deleted by age or size (``purge``
#: removes erased records deliberately); a rebuild refuses a log that lost its first records
SOURCE_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1"}
DLQ_CONFIG = {"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES), "retention.ms": str(DLQ_RETENTION_MS)}

#: the families the worker folds today
PROJECTED_FAMILIES = ("interactions", "catalog", "identity", "consent", "experiments", "journeys", "definitions", "erasure",
                      "customers", "feedback")
#: how long ``ensure_topics`` waits for every partition to have a leader that takes records
LEADER_WAIT_SECONDS = 60.0


async def ensure_topics(settings: Settings) -> None:
    """Create every profile360 topic that does not exist yet (idempotent), and return only once
    every partition of them has a leader that takes records (``wait_for_leaders``)."""
    wanted = [settings.topic(f) for f in (*RECORDS_BY_FAMILY, "dlq")]
    await _create_missing(settings, wanted)
    await wait_for_leaders(settings, wanted)


async def _create_missing(settings: Settings, wanted: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        dlq = settings.topic("dlq")
        missing = [NewTopic(t, settings.topic_partitions, 1,
                            topic_configs=DLQ_CONFIG if t == dlq else SOURCE_CONFIG)
                   for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                await admin.create_topics(missing)
            log.info("created topics %s", [t.name for t in missing])
    finally:
        await admin.close()


async def wait_for_leaders(settings: Settings, topics: list[str], timeout: float = LEADER_WAIT_SECONDS) -> None:
    """Poll until every partition of ``topics`` has a leader that answers a ListOffsets request
    for it; ``TimeoutError`` naming the partitions still without one after ``timeout`` seconds.

    Metadata naming a leader is not enough: right after a topic is created, a broker lists
    itself as a partition's leader a moment before it takes records, and a producer sending
    then gets ``NotLeaderForPartitionError`` and retries with a warning per batch."""
    client = AIOKafkaClient(bootstrap_servers=settings.kafka_bootstrap)
    await client.bootstrap()
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                pending = await _without_leader(client, topics)
            except KafkaError as exc:  # a broker still starting or electing: ask again
                pending = [repr(exc)]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partition leader after {timeout:.0f}s for {', '.join(pending[:10])}")
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def _without_leader(client: AIOKafkaClient, topics: list[str]) -> list[str]:
    """The partitions (``topic/partition``, or a topic without metadata) whose leader does not
    answer for them yet."""
    client.set_topics(topics)
    await client.force_metadata_update()
    pending, by_leader = [], defaultdict(lambda: defaultdict(list))
    for topic in topics:
        for partition in sorted(client.cluster.partitions_for_topic(topic) or ()):
            leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
            if leader is None or leader < 0:
                pending.append(f"{topic}/{partition}")
            else:
                by_leader[leader][topic].append((partition, -1))  # -1: the latest offset
        if not client.cluster.partitions_for_topic(topic):
            pending.append(topic)
    for node, wanted in by_leader.items():
        response = await client.send(node, OffsetRequest(-1, 0, list(wanted.items())))
        pending += [f"{topic}/{part}" for topic, parts in response.topics for part, error, *_ in parts if error]
    return pending


def partition_key(name: str, record: dict) -> bytes:
    """Kafka key of a record: its tenant and the entity it is about, so that one entity's
    events share a partition (ordering is a courtesy: the folds do not depend on it)."""
    entity = (record.get("customerId") or record.get("customerUuid") or record.get("offerId") or record.get("creativeId")
              or record.get("channelId") or record.get("metricId") or record.get("segmentId") or _first_identifier(record) or record.get("eventId"))
    return f"{record.get('tenantId')}:{entity}".encode()


def _first_identifier(record: dict) -> str | None:
    ident = record.get("identifier") or next(iter(record.get("identifiers") or []), None)
    return f"{ident['type']}:{ident['value']}" if ident else None
