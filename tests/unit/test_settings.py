"""Settings come from the environment, and go back to it for the processes a command starts."""
from __future__ import annotations

from pathlib import Path

import pytest

from profile360.settings import Settings


def test_settings_survive_the_round_trip_through_the_environment():
    custom = Settings(kafka_bootstrap="k1:9093,k2:9093", database_url="postgresql://u:secret@db:5433/p", api_host="0.0.0.0",
                      api_port=9000, topic_prefix="t", consumer_group="g", batch_max_records=7, batch_timeout_ms=9,
                      apply_concurrency=3, worker_processes=4, api_processes=3, max_event_bytes=1024, topic_partitions=8,
                      segment_refresh_seconds=0.25, command_wait_ms=11, devstack_dir=Path("/tmp/ds"), log_format="json")
    assert Settings.from_env(custom.to_env()) == custom
    assert Settings.from_env({}) == Settings()


def test_a_read_replica_is_optional_and_survives_the_round_trip():
    replica = Settings(database_read_url="postgresql://u:secret@replica:5433/p")
    assert Settings.from_env(replica.to_env()) == replica
    assert Settings.from_env({"DATABASE_READ_URL": ""}).database_read_url is None
    assert Settings.from_env({}).database_read_url is None
    assert "secret" not in repr(replica) and "replica:5433" in repr(replica)


@pytest.mark.parametrize("variable", ["P360_WORKER_PROCESSES", "P360_APPLY_CONCURRENCY", "P360_BATCH_MAX_RECORDS"])
def test_a_count_below_one_is_refused_naming_the_setting(variable):
    with pytest.raises(ValueError, match=variable.removeprefix("P360_").lower()):
        Settings.from_env({variable: "0"})


def test_the_worker_metrics_bind_reads_back_and_is_checked():
    s = Settings.from_env({"P360_METRICS_BIND": "0.0.0.0:9500"})
    assert (s.metrics_host, s.metrics_port) == ("0.0.0.0", 9500)
    assert Settings.from_env(s.to_env()) == s
    assert (Settings().metrics_host, Settings().metrics_port) == ("127.0.0.1", 9464)
    with pytest.raises(ValueError, match="P360_METRICS_BIND"):
        Settings.from_env({"P360_METRICS_BIND": "9500"})
    with pytest.raises(ValueError, match="P360_METRICS_BIND"):
        Settings(metrics_port=70000)


def test_the_log_format_is_text_or_json():
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"P360_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ValueError, match="P360_LOG_FORMAT"):
        Settings.from_env({"P360_LOG_FORMAT": "yaml"})
