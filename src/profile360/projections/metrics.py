"""Profile metrics from per-customer daily buckets. Pure.

``rows`` are a profile's buckets as ``(day, type, Bucket)``, already merged across its
customer ids. A window of N days is the days ``today - N + 1`` to ``today`` (UTC), as in the
interaction summary; it slides by choosing days, never by reading events again.
"""
from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from profile360.projections.buckets import Bucket

if TYPE_CHECKING:
    from profile360.events.definitions import MetricDefined

Row = tuple[date, str, Bucket]
VALUE_TYPES = ("purchase", "convert")
#: interaction weights of the engagement score (last 30 days); other types weigh 1
ENGAGEMENT_WEIGHTS = {"impression": 0.0, "dismiss": 0.0, "email_opened": 1.0, "click": 2.0, "link_clicked": 2.0,
                      "convert": 5.0, "purchase": 5.0}
ENGAGEMENT_SCALE = 20.0


def merge_rows(rows: Iterable[Row]) -> list[Row]:
    """One bucket per (day, type): the buckets of several customer ids of a profile merged."""
    merged: dict[tuple[date, str], Bucket] = {}
    for d, t, b in rows:
        merged[(d, t)] = merged[(d, t)].merge(b) if (d, t) in merged else b
    return [(d, t, b) for (d, t), b in sorted(merged.items())]


def in_window(rows: Iterable[Row], days: int | None, today: date, types: Iterable[str] | None = None) -> list[Bucket]:
    since, until = (today - timedelta(days=days - 1), today) if days else (date.min, date.max)
    wanted = set(types) if types is not None else None
    return [b for d, t, b in rows if since <= d <= until and (wanted is None or t in wanted)]


def total(buckets: Iterable[Bucket]) -> Bucket:
    out = Bucket()
    for b in buckets:
        out = out.merge(b)
    return out


def evaluate(definition: "MetricDefined", rows: Iterable[Row], today: date) -> float | int | None:
    """A tenant metric: count, sum, min, max or latest ``value`` of one type over its window
    (None when no event has a value)."""
    b = total(in_window(rows, definition.window_days, today, (definition.event_type,)))
    if definition.aggregation == "count":
        return b.n
    if not b.value_n:
        return None
    return {"sum": float(b.value_sum), "min": b.value_min, "max": b.value_max,
            "latest": b.latest[2] if b.latest else None}[definition.aggregation]


def lifetime_value(rows: Iterable[Row]) -> float | None:
    b = total(in_window(rows, None, date.max, VALUE_TYPES))
    return float(b.value_sum) if b.value_n else None


def engagement_score(rows: Iterable[Row], today: date) -> float:
    """0–100: ``100 × (1 − e^(−w / 20))``, w the weighted interactions of the last 30 days."""
    w = sum(ENGAGEMENT_WEIGHTS.get(t, 1.0) * b.n for d, t, b in rows if today - timedelta(days=29) <= d <= today)
    return round(100.0 * (1.0 - math.exp(-w / ENGAGEMENT_SCALE)), 1)


def built_in(rows: list[Row], today: date) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for _, t, b in rows:
        counts[t] = counts.get(t, 0) + b.n
    return {
        "interaction_counts": dict(sorted(counts.items())),
        "interaction_total": sum(counts.values()),
        "purchase_frequency_30d": total(in_window(rows, 30, today, ("purchase",))).n,
        "engagement_score": engagement_score(rows, today),
        "lifetime_value": lifetime_value(rows),
    }


def all_metrics(rows: list[Row], definitions: Iterable["MetricDefined"], today: date) -> dict[str, Any]:
    """Built-in metrics, then the tenant's, by id."""
    return {**built_in(rows, today), **{d.metric_id: evaluate(d, rows, today) for d in definitions}}
