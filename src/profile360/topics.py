"""Kafka topics of profile360 and the records each one carries."""
from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

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


async def ensure_topics(settings: Settings) -> None:
    """Create every profile360 topic that does not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [settings.topic(f) for f in (*RECORDS_BY_FAMILY, "dlq")]
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


def partition_key(name: str, record: dict) -> bytes:
    """Kafka key of a record: its tenant and the entity it is about, so that one entity's
    events share a partition (ordering is a courtesy: the folds do not depend on it)."""
    entity = (record.get("customerId") or record.get("customerUuid") or record.get("offerId") or record.get("creativeId")
              or record.get("channelId") or record.get("metricId") or record.get("segmentId") or _first_identifier(record) or record.get("eventId"))
    return f"{record.get('tenantId')}:{entity}".encode()


def _first_identifier(record: dict) -> str | None:
    ident = record.get("identifier") or next(iter(record.get("identifiers") or []), None)
    return f"{ident['type']}:{ident['value']}" if ident else None
