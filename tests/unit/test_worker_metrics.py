"""The worker's metrics adapter keeps exactly the series it is told of."""
from __future__ import annotations

from profile360.worker.metrics import WorkerMetrics


def series(m: WorkerMetrics, name: str) -> dict:
    return {tuple(sorted(s.labels.items())): s.value for f in m.registry.collect() for s in f.samples if s.name == name}


def test_revoked_partitions_and_finished_rebuilds_leave_no_series():
    m = WorkerMetrics(["t"])
    assert len(series(m, "profile360_records_applied_total")) == 4  # every outcome from the start, at 0
    m.set_lags({("t", 0): 3, ("t", 1): 0})
    m.set_lags({("t", 1): 2})  # partition 0 was revoked
    assert series(m, "profile360_consumer_lag_records") == {(("partition", "1"), ("topic", "t")): 2}
    m.set_rebuild((3, 0.5))
    assert series(m, "profile360_rebuild_progress_ratio") == {(("generation", "3"),): 0.5}
    m.set_rebuild(None)
    assert series(m, "profile360_rebuild_progress_ratio") == {}
    age = series(m, "profile360_last_applied_event_age_seconds")[()]
    assert age != age  # NaN before anything was applied
