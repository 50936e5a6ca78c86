"""Logging of every profile360 process: one format, and repeats held back.

During an outage, aiokafka logs the same connection error for every attempt (thousands of lines
a minute while a broker is down). ``Repeats`` lets the first of a kind through, then at most
one a ``window`` with how many it held back, so the log says what happens without burying it.
A kind is the logger and the message template: the same error for another broker or partition
still counts as the same kind.

Two formats (``P360_LOG_FORMAT``): ``text``, one ``FORMAT`` line a record; and ``json``
(``JsonFormatter``), one JSON object a line with ``time``, ``level``, ``logger``, ``message``
and every field the call passed with ``extra=`` (a record's ``topic``, ``partition``,
``offset``: see ``record_fields``), and ``exc`` with the trace when there is one.
"""
from __future__ import annotations

import logging
import time
import traceback
from datetime import datetime, timezone
from typing import Any

import orjson

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
# attributes every LogRecord has: anything else on a record came with ``extra=``
_STANDARD = {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "every_one"}


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


def record_fields(topic: str, partition: int, offset: int, **more: Any) -> dict[str, Any]:
    """``extra=`` of a log call about one Kafka record: where it is, and ``more`` (a reason...)."""
    return {"topic": topic, "partition": partition, "offset": offset, **more}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``,
    ``message``, the ``extra=`` fields, and ``exc`` (the formatted trace) when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z",
               "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        doc.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and k not in doc)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(doc, default=str).decode()


def configure(level: int = logging.INFO, log_format: str = "text") -> None:
    """The root handler with ``FORMAT`` (or ``JsonFormatter`` for ``log_format="json"``) and
    ``Repeats`` (call once, at a process's start)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {log_format!r}")
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        handler.addFilter(Repeats())


def fatal(logger: logging.Logger, exc: BaseException) -> None:
    """Log an error a process exits on: in text the trace, then one clear line (the last one a
    reader sees); in JSON one object with the trace in ``exc``."""
    message = "fatal: %s: %s; exiting with code 1"
    if any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers):
        logger.critical(message, type(exc).__name__, exc, exc_info=exc, extra=EVERY)
        return
    traceback.print_exception(exc)
    logger.critical(message, type(exc).__name__, exc, extra=EVERY)
