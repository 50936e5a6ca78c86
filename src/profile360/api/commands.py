"""Writes over HTTP are commands: validate, publish the event, wait (bounded) until the worker
has applied it, so the caller reads its own write or learns where to look.

The publisher is one aiokafka producer per app, started at the first command (reads never need
Kafka) and stopped with the app.
"""
from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web
from aiokafka import AIOKafkaProducer

from profile360.api.errors import ApiError
from profile360.api.keys import SETTINGS
from profile360.api.limits import Overloaded
from profile360.events.codec import Codec
from profile360.outages import database_down, describe
from profile360.resources import schemas_dir
from profile360.topics import partition_key

_PRODUCER = web.AppKey("command_producer", dict)


async def publisher(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: holds the lazily started producer and stops it with the app (and waits,
    bounded, for the producers being discarded in the background)."""
    app[_PRODUCER] = {"lock": asyncio.Lock(), "producer": None, "codec": Codec.from_dir(schemas_dir()),
                      "discarding": set()}
    yield
    if app[_PRODUCER]["producer"] is not None:
        _discard(app, app[_PRODUCER]["producer"])
    if app[_PRODUCER]["discarding"]:
        await asyncio.wait(app[_PRODUCER]["discarding"], timeout=PUBLISH_TIMEOUT)


async def _producer(app: web.Application) -> AIOKafkaProducer:
    """The app's producer, started by the first command that needs it; one that fails to start
    (or whose caller gives up meanwhile) is discarded."""
    state = app[_PRODUCER]
    async with state["lock"]:
        if state["producer"] is None:
            producer = AIOKafkaProducer(bootstrap_servers=app[SETTINGS].kafka_bootstrap, acks="all")
            try:
                await producer.start()
            except BaseException:
                _discard(app, producer)
                raise
            state["producer"] = producer
    return state["producer"]


_DIGITS = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class Position:
    """Where a command's event landed. ``str`` is what the ``X-P360-Position`` header carries
    and ``X-P360-Min-Position`` accepts: ``topic/partition/offset``."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    @classmethod
    def parse(cls, text: str) -> "Position | None":
        topic, _, rest = text.strip().partition("/")
        partition, _, offset = rest.partition("/")
        if not topic or len(text) > 300 or not _DIGITS.fullmatch(partition) or not _DIGITS.fullmatch(offset):
            return None
        if int(partition) >= 2**31 or int(offset) >= 2**63:
            return None
        return cls(topic, int(partition), int(offset))


PUBLISH_TIMEOUT = 10.0


async def publish(app: web.Application, family: str, name: str, record: dict[str, Any]) -> Position:
    """Publish a command's event and wait for the broker's acknowledgement (``acks=all``), all
    of it (starting the producer included) within ``PUBLISH_TIMEOUT``.

    A 503 ``kafka_unavailable`` means the event was not published and never will be: when the
    acknowledgement does not come in time, the producer is discarded with every record it still
    buffers (aiokafka would otherwise deliver it once the broker is back, and a caller told 503
    would find its write applied). The one exception is a record the broker had already
    received but could not acknowledge (a paused or partitioned broker)."""
    value = app[_PRODUCER]["codec"].encode(name, record)
    (meta,) = await send(app, [(app[SETTINGS].topic(family), value, partition_key(name, record))], "the command")
    return Position(meta.topic, meta.partition, meta.offset)


Message = tuple[str, "bytes | None", "bytes | None"]  # topic, value, key


async def send(app: web.Application, messages: list[Message], what: str) -> list[Any]:
    """Send every (topic, value, key) with the app's producer and wait until the broker has
    acknowledged each (``acks=all``), all within ``PUBLISH_TIMEOUT``; the record metadata, in
    order. On failure, a 503 ``kafka_unavailable`` naming ``what`` (as ``publish`` says); of
    several messages, those acknowledged before the failure stay published."""
    producer = None
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            producer = await _producer(app)
            futures = [await producer.send(topic, value, key=key) for topic, value, key in messages]
            results = await asyncio.gather(*futures, return_exceptions=True)
        failed = next((r for r in results if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        return results
    except Exception as exc:
        if producer is not None and app[_PRODUCER]["producer"] is producer:  # the first command to give up on it
            _discard(app, producer)
        cause = f"no acknowledgement within {PUBLISH_TIMEOUT:.0f} s" if isinstance(exc, TimeoutError) else describe(exc)
        raise ApiError(503, "kafka_unavailable", f"{what} was not published ({cause}); retry shortly") from None


def codec(app: web.Application) -> Codec:
    """The app's codec (schemas of this build), shared by every route that encodes or decodes."""
    return app[_PRODUCER]["codec"]


def _discard(app: web.Application, producer: AIOKafkaProducer) -> None:
    """Forget ``producer`` at once (the next command starts a new one) and stop it in the
    background, without delivering what it buffers: its sender is closed before ``stop()``.
    Stopping can take as long as a hung broker lets it; no caller waits for it. Called once
    per producer: by the command that started it and failed, or the first that gave up on it."""
    state = app[_PRODUCER]
    if state["producer"] is producer:
        state["producer"] = None
    task = asyncio.create_task(_stop_without_delivering(producer))
    state["discarding"].add(task)
    task.add_done_callback(state["discarding"].discard)


async def _stop_without_delivering(producer: AIOKafkaProducer) -> None:
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await producer._sender.close()  # aiokafka has no public way to discard its buffer
    with contextlib.suppress(Exception):
        await producer.stop()


async def applied(app: web.Application, conn: asyncpg.Connection, pos: Position) -> bool:
    """Whether the worker has applied everything up to and including ``pos``."""
    stored = await conn.fetchval("SELECT next_offset FROM consumer_positions WHERE consumer = $1 AND topic = $2 "
                                 "AND partition = $3", app[SETTINGS].consumer_group, pos.topic, pos.partition)
    return stored is not None and stored > pos.offset


async def wait_applied(app: web.Application, pool: asyncpg.Pool,
                       check: Callable[[asyncpg.Connection], Awaitable[bool]]) -> bool:
    """Poll ``check`` until it holds or ``command_wait_ms`` has passed; a database outage or no
    free connection meanwhile only means not seen yet."""
    deadline = time.monotonic() + app[SETTINGS].command_wait_ms / 1000
    while True:
        try:
            async with pool.acquire(timeout=max(0.1, deadline - time.monotonic())) as conn:
                if await check(conn):
                    return True
        except Exception as exc:
            if not (database_down(exc) or isinstance(exc, Overloaded)):
                raise
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
