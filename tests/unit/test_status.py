"""The rules of the pipeline's state (``profile360.status``): lag, partition rows, rebuild ratio."""
from __future__ import annotations

from profile360.status import lag_of, partition_states, ratio


def test_lag_counts_from_the_stored_position_or_the_log_start_and_never_below_zero():
    assert lag_of(position=3, start=0, end=10) == 7
    assert lag_of(position=3, start=5, end=10) == 5  # records 3 and 4 were removed: not waited for
    assert lag_of(position=12, start=0, end=10) == 0


def test_every_partition_kafka_has_gets_a_row_with_or_without_a_stored_position():
    rows = partition_states({("t", 1): (4, 100.0)}, {}, {("t", 1): 6, ("t", 0): 2})
    assert [(r.topic, r.partition, r.position, r.end_offset, r.lag, r.last_applied_at) for r in rows] == [
        ("t", 0, 0, 2, 2, None), ("t", 1, 4, 6, 2, 100.0)]
    assert rows[1].to_json()["lastAppliedAt"] == "1970-01-01T00:01:40.000Z"


def test_ratio_is_the_share_of_the_records_in_the_log_applied():
    ends, starts = {("t", 0): 10, ("t", 1): 10}, {("t", 1): 5}
    assert ratio({}, starts, ends) == 0.0
    assert ratio({("t", 0): 10, ("t", 1): 5}, starts, ends) == 10 / 15
    assert ratio({("t", 0): 99, ("t", 1): 10}, starts, ends) == 1.0
    assert ratio({}, {}, {("t", 0): 0}) == 1.0


def test_the_status_table_lines_up_and_says_what_is_missing():
    from profile360.cli.status import render
    rep = {"topics": [{"topic": "p.interactions", "partition": 0, "position": 123, "endOffset": 130, "lag": 7,
                       "lastAppliedAt": "2026-12-02T10:00:00.000Z"},
                      {"topic": "p.catalog", "partition": 11, "position": 0, "endOffset": 0, "lag": 0, "lastAppliedAt": None}],
           "deadLetters": 3, "generation": 2, "checkedAt": "2026-12-02T10:00:01.000Z",
           "api": {"url": "http://127.0.0.1:8080/readyz", "httpStatus": None, "status": "unreachable (x)"},
           "worker": {"group": "g", "state": "Empty", "members": 0, "health": "down", "lastAppliedAt": None}}
    text = render(rep)
    lines = text.splitlines()
    assert lines[0].split() == ["topic", "partition", "position", "end", "offset", "lag", "last", "applied"]
    assert lines[1].split() == ["p.interactions", "0", "123", "130", "7", "2026-12-02T10:00:00.000Z"]
    assert lines[2].split() == ["p.catalog", "11", "0", "0", "0", "-"]
    assert len({line.index(" 7 ") for line in lines[1:2]} | {lines[0].index("lag") + 1}) == 1  # right-aligned numbers
    assert "total lag      7" in text and "worker         down: group g Empty, 0 member(s), last applied never" in text
