"""Repeated log records of one kind are held back, and the next one let through counts them."""
from __future__ import annotations

import contextlib
import io
import logging
import sys

import orjson
import pytest

from profile360 import logs
from profile360.logs import EVERY, JsonFormatter, Repeats, record_fields


def record(msg: str, *args: object, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_a_kind_passes_once_a_window_and_then_says_how_many_were_held_back():
    now = [0.0]
    repeats = Repeats(window=10, clock=lambda: now[0])
    first = record("Unable connect to %r: %s", "127.0.0.1:9092", "refused")
    assert repeats.filter(first)
    for t in (1, 2, 9.9):  # the same kind, other arguments: held back
        now[0] = t
        assert not repeats.filter(record("Unable connect to %r: %s", "127.0.0.1:9093", "refused"))
    assert repeats.filter(record("another message"))  # another kind passes
    assert repeats.filter(record("Unable connect to %r: %s", name="profile360"))  # another logger too
    now[0] = 10.5
    again = record("Unable connect to %r: %s", "127.0.0.1:9092", "refused")
    assert repeats.filter(again)
    assert again.getMessage() == "Unable connect to '127.0.0.1:9092': refused [3 more like this in the last 10s]"


def test_records_marked_every_one_always_pass():
    repeats = Repeats(window=10, clock=lambda: 0.0)
    for pause in (1, 2, 4):
        r = record("profile360 %s exited with %d; starting it again in %.0f s", "api", 1, pause, name="profile360.keeper")
        r.__dict__.update(EVERY)
        assert repeats.filter(r)


def test_json_lines_carry_time_level_logger_message_and_the_records_position():
    r = record("dead-lettered %d records, first: %s", 2, "bad magic byte", name="profile360.worker.runner")
    r.__dict__.update(record_fields("profile360.interactions", 3, 41, reason="undecodable", records=2), **EVERY)
    r.created = 1796205600.25  # 2026-12-02T10:00:00.250Z
    line = JsonFormatter().format(r)
    assert "\n" not in line
    assert orjson.loads(line) == {
        "time": "2026-12-02T10:00:00.250Z", "level": "ERROR", "logger": "profile360.worker.runner",
        "message": "dead-lettered 2 records, first: bad magic byte",
        "topic": "profile360.interactions", "partition": 3, "offset": 41, "reason": "undecodable", "records": 2}


def test_a_json_line_holds_the_trace_and_any_extra_value_as_text():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        r = logging.LogRecord("profile360", logging.CRITICAL, __file__, 1, "fatal", None, sys.exc_info())
    r.__dict__["where"] = object()  # not JSON: written as its str()
    doc = orjson.loads(JsonFormatter().format(r))
    assert doc["message"] == "fatal" and "RuntimeError: boom" in doc["exc"] and doc["where"].startswith("<object")


@contextlib.contextmanager
def bare_root():
    """The root logger without handlers, as in a process that just started (pytest adds its
    own during a test, so this runs inside the test); restored afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield root
    finally:
        root.handlers, root.level = saved, level


def test_configure_json_gives_the_root_handler_the_json_formatter_and_keeps_repeats():
    with bare_root() as root:
        logs.configure(log_format="json")
        handler, = root.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        assert any(isinstance(f, Repeats) for f in handler.filters)
        handler.stream = io.StringIO()
        for _ in range(3):
            logging.getLogger("aiokafka").error("Unable connect to %r", "127.0.0.1:9092")
    lines = handler.stream.getvalue().splitlines()
    assert [orjson.loads(line)["message"] for line in lines] == ["Unable connect to '127.0.0.1:9092'"]


def test_an_unknown_log_format_is_refused():
    with bare_root(), pytest.raises(ValueError, match="yaml"):
        logs.configure(log_format="yaml")


def test_a_fatal_error_in_json_is_one_object_with_its_trace(capsys):
    try:
        raise RuntimeError("the schema is older than this build")
    except RuntimeError as exc:
        error = exc
    with bare_root() as root:
        logs.configure(log_format="json")
        handler, = root.handlers
        handler.stream = io.StringIO()
        logs.fatal(logging.getLogger("profile360"), error)
    line, = handler.stream.getvalue().splitlines()
    doc = orjson.loads(line)
    assert doc["level"] == "CRITICAL" and doc["message"].startswith("fatal: RuntimeError: the schema is older")
    assert "Traceback" in doc["exc"]
    assert capsys.readouterr().err == ""  # no trace printed beside it
