"""Repeated log records of one kind are held back, and the next one let through counts them."""
from __future__ import annotations

import logging

from profile360.logs import EVERY, Repeats


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
