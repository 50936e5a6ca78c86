"""Metrics from daily buckets: windows of whole days, exact sums, every aggregation."""
from datetime import date, datetime, timedelta, timezone

from profile360.events.definitions import MetricDefined
from profile360.events.model import Interaction
from profile360.projections import metrics
from profile360.projections.buckets import customer_buckets

TODAY = date(2026, 3, 31)


def rows_of(events):
    return [(d, t, b) for (_, _, d, t), b in sorted(customer_buckets(events).items())]


def ev(i, days_ago, kind, value=None):
    when = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), timezone.utc) + timedelta(hours=i % 20)
    return Interaction(f"e{i}", "t", when, "c1", kind, value=value)


EVENTS = [ev(1, 0, "purchase", 10.0), ev(2, 5, "purchase", 2.5), ev(3, 29, "purchase", 7.0), ev(4, 30, "purchase", 100.0),
          ev(5, 1, "click"), ev(6, 2, "email_opened"), ev(7, 40, "convert", 1.0), ev(8, 3, "purchase")]


def metric(aggregation, window, kind="purchase"):
    return MetricDefined("d", "t", datetime(2026, 1, 1, tzinfo=timezone.utc), "m", aggregation, kind, window)


def test_tenant_metrics_aggregate_one_type_over_whole_days():
    rows = rows_of(EVENTS)
    assert metrics.evaluate(metric("count", 30), rows, TODAY) == 4  # days 0..29, the valueless one too
    assert metrics.evaluate(metric("sum", 30), rows, TODAY) == 19.5
    assert metrics.evaluate(metric("sum", None), rows, TODAY) == 119.5
    assert metrics.evaluate(metric("min", 7), rows, TODAY) == 2.5
    assert metrics.evaluate(metric("max", 30), rows, TODAY) == 10.0
    assert metrics.evaluate(metric("latest", None), rows, TODAY) == 10.0
    assert metrics.evaluate(metric("latest", 30, kind="refund"), rows, TODAY) is None
    assert metrics.evaluate(metric("count", 30, kind="refund"), rows, TODAY) == 0


def test_built_in_metrics():
    m = metrics.built_in(rows_of(EVENTS), TODAY)
    assert m["interaction_counts"] == {"click": 1, "convert": 1, "email_opened": 1, "purchase": 5}
    assert (m["interaction_total"], m["purchase_frequency_30d"], m["lifetime_value"]) == (8, 4, 120.5)
    # w = 4 purchases in the last 30 days (days 0, 3, 5, 29) x 5 + a click x 2 + an email_opened x 1 = 23
    assert m["engagement_score"] == round(100 * (1 - 2.718281828459045 ** (-23 / 20)), 1)
    assert metrics.built_in([], TODAY)["lifetime_value"] is None


def test_metric_definitions_are_validated():
    import pytest

    from profile360.events.model import InvalidEvent, from_record
    good = {"eventId": "m1", "tenantId": "t", "occurredAt": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "metricId": "spend_90d", "aggregation": "sum", "eventType": "purchase", "windowDays": 90}
    assert from_record("MetricDefined", good).window_days == 90
    for field, value in (("metricId", "engagement_score"), ("aggregation", "avg"), ("windowDays", 0),
                         ("eventType", "Purchase")):
        with pytest.raises(InvalidEvent) as err:
            from_record("MetricDefined", {**good, field: value})
        assert err.value.field == field


def test_all_time_includes_future_days_and_windows_end_today():
    rows = rows_of([ev(1, -3, "purchase", 4.0), ev(2, 0, "purchase", 1.0)])  # one dated 3 days ahead
    assert metrics.evaluate(metric("count", None), rows, TODAY) == 2
    assert metrics.evaluate(metric("count", 30), rows, TODAY) == 1
