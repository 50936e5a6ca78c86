"""Logging of every profile360 process: one format, and repeats held back.

During an outage, aiokafka logs the same connection error for every attempt (thousands of lines
a minute while a broker is down). ``Repeats`` lets the first of a kind through, then at most
one a ``window`` with how many it held back, so the log says what happens without burying it.
A kind is the logger and the message template: the same error for another broker or partition
still counts as the same kind.
"""
from __future__ import annotations

import logging
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


#: ``log.error(..., extra=EVERY)``: a record ``Repeats`` never holds back (each one matters)
EVERY = {"every_one": True}


class Repeats(logging.Filter):
    """Pass a record, then hold back records of the same kind for ``window`` seconds; the next
    one let through says how many were held back. Records logged with ``extra=EVERY`` pass."""

    def __init__(self, window: float = 10.0, clock=time.monotonic):
        super().__init__()
        self.window, self.clock = window, clock
        self.seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "every_one", False):
            return True
        kind = (record.name, str(record.msg))
        now = self.clock()
        last, held = self.seen.get(kind, (float("-inf"), 0))
        if now - last < self.window:
            self.seen[kind] = (last, held + 1)
            return False
        if len(self.seen) > 1000:
            self.seen.clear()
        self.seen[kind] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {now - last:.0f}s]"
        return True


def configure(level: int = logging.INFO) -> None:
    """The root handler with ``FORMAT`` and ``Repeats`` (call once, at a process's start)."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(Repeats())
