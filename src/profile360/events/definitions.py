"""Definition events: tenant settings, tenant-defined metrics and segments. Definitions are events, so a replay
or a rebuild reproduces them with everything computed from them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from profile360.events.rules import InvalidEvent, envelope, text
from profile360.projections import rule_syntax as segment_rules

AGGREGATIONS = ("count", "sum", "min", "max", "latest")
#: metric ids the built-in metrics use; a tenant metric cannot take them
RESERVED_METRICS = ("interaction_counts", "interaction_total", "purchase_frequency_30d", "engagement_score",
                    "lifetime_value")
MAX_WINDOW_DAYS = 3650
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True, slots=True)
class MetricDefined:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    metric_id: str
    aggregation: str
    event_type: str
    window_days: int | None = None
    description: str | None = None
    deleted: bool = False


def metric_defined(rec: Mapping[str, Any]) -> MetricDefined:
    n = "MetricDefined"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    metric_id, event_type = text(n, rec, "metricId", limit=64), text(n, rec, "eventType", limit=64)
    for key, value in (("metricId", metric_id), ("eventType", event_type)):
        if not _NAME_RE.fullmatch(value):
            raise InvalidEvent(n, key, "must match [a-z][a-z0-9_]*")
    if metric_id in RESERVED_METRICS:
        raise InvalidEvent(n, "metricId", f"{metric_id} is a built-in metric")
    aggregation = text(n, rec, "aggregation", limit=16)
    if aggregation not in AGGREGATIONS:
        raise InvalidEvent(n, "aggregation", f"must be one of {', '.join(AGGREGATIONS)}")
    window = rec.get("windowDays")
    if window is not None and not 1 <= window <= MAX_WINDOW_DAYS:
        raise InvalidEvent(n, "windowDays", f"must be 1 to {MAX_WINDOW_DAYS} (or null: all time)")
    return MetricDefined(event_id, tenant_id, occurred_at, metric_id, aggregation, event_type, window,
                         text(n, rec, "description", required=False, limit=1000), bool(rec.get("deleted")))


@dataclass(frozen=True, slots=True)
class SegmentDefined:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    segment_id: str
    name: str
    rule: str
    description: str | None = None
    version: int = 1
    deleted: bool = False


_SEGMENT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def segment_defined(rec: Mapping[str, Any]) -> SegmentDefined:
    """Validated, rule included: a rule that does not parse is refused here with its column."""
    n = "SegmentDefined"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    segment_id = text(n, rec, "segmentId", limit=100)
    if not _SEGMENT_ID_RE.fullmatch(segment_id):
        raise InvalidEvent(n, "segmentId", "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
    rule = text(n, rec, "rule", limit=segment_rules.MAX_RULE_CHARS)
    try:
        segment_rules.parse(rule)
    except segment_rules.RuleError as exc:
        raise InvalidEvent(n, "rule", str(exc)) from None
    version = rec.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise InvalidEvent(n, "version", "must be a positive integer")
    return SegmentDefined(event_id, tenant_id, occurred_at, segment_id, text(n, rec, "name", limit=200), rule,
                          text(n, rec, "description", required=False, limit=1000), version, bool(rec.get("deleted")))


@dataclass(frozen=True, slots=True)
class TenantConfigured:
    event_id: str
    tenant_id: str
    occurred_at: datetime
    is_customer360: bool = False
    link_threshold: float = 0.8
    default_region: str | None = None


def tenant_configured(rec: Mapping[str, Any]) -> TenantConfigured:
    n = "TenantConfigured"
    event_id, tenant_id, occurred_at = envelope(n, rec)
    threshold = rec.get("linkThreshold", 0.8)
    if not isinstance(threshold, (int, float)) or not 0.0 < threshold <= 1.0:
        raise InvalidEvent(n, "linkThreshold", "must be a number above 0 and at most 1")
    region = rec.get("defaultRegion")
    if region is not None and not re.fullmatch(r"[A-Z]{2}", region):
        raise InvalidEvent(n, "defaultRegion", "must be an ISO 3166-1 alpha-2 code such as AE or US")
    return TenantConfigured(event_id, tenant_id, occurred_at, bool(rec.get("isCustomer360")), float(threshold), region)


BUILDERS = {"MetricDefined": metric_defined, "SegmentDefined": segment_defined, "TenantConfigured": tenant_configured}
