"""A producer that keeps publishing during a fault, as a real one would: records go out in
small chunks at a steady rate, and a chunk that is not acknowledged (the broker is away or
paused) is sent again until it is, so the log may hold a record twice but never loses one that
was acknowledged. ``acked`` lists what was acknowledged, for the check that nothing is lost."""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from profile360.topics import RECORDS_BY_FAMILY, partition_key

from .test_pipeline import CODEC

log = logging.getLogger(__name__)
SEND_TIMEOUT = 15  # seconds for a chunk's acknowledgements before it is sent again
FAMILY_OF = {record: family for family, records in RECORDS_BY_FAMILY.items() for record in records}


class Feeder:
    """Publishes ``records`` (record name, record) at ``rate`` per second in chunks of ``chunk``
    while running (``pause()`` / ``resume()`` hold it between faults); ``resends`` counts
    chunks sent again after a failure."""

    def __init__(self, settings, records: Iterable[tuple[str, dict]], rate: float = 100, chunk: int = 20):
        self.settings, self.rate, self.chunk = settings, rate, chunk
        self.pending = iter(records)
        self.acked: list[tuple[str, dict]] = []
        self.resends = 0
        self.running = asyncio.Event()
        self.running.set()
        self.idle = asyncio.Event()

    async def __aenter__(self) -> "Feeder":
        self.producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all",
                                         request_timeout_ms=10_000, linger_ms=5)
        await self.producer.start()
        self.task = asyncio.create_task(self._feed())
        return self

    async def __aexit__(self, *exc) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.producer.stop()

    async def pause(self) -> None:
        """Stop after the chunk being sent is acknowledged; returns once it is."""
        self.running.clear()
        idle = asyncio.ensure_future(self.idle.wait())
        await asyncio.wait([idle, self.task], return_when=asyncio.FIRST_COMPLETED)
        idle.cancel()
        if self.task.done() and self.task.exception() is not None:
            raise self.task.exception()

    def resume(self) -> None:
        self.running.set()

    async def burst(self, n: int) -> None:
        """Publish the next ``n`` records at once (a backlog for the worker); returns once acknowledged."""
        chunk = list(itertools.islice(self.pending, n))
        await self._send(chunk)
        self.acked += chunk

    async def _feed(self) -> None:
        interval = self.chunk / self.rate
        while chunk := list(itertools.islice(self.pending, self.chunk)):
            if not self.running.is_set():
                self.idle.set()
                await self.running.wait()
            self.idle.clear()
            started = time.monotonic()
            await self._send(chunk)
            self.acked += chunk
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        self.idle.set()

    async def _send(self, chunk: list[tuple[str, dict]]) -> None:
        while True:
            try:
                await asyncio.wait_for(self._publish(chunk), SEND_TIMEOUT)
                return
            except (KafkaError, asyncio.TimeoutError) as exc:
                self.resends += 1
                log.info("chunk not acknowledged (%r): sending it again", exc)
                await asyncio.sleep(0.5)

    async def _publish(self, chunk: list[tuple[str, dict]]) -> None:
        futures = [await self.producer.send(self.settings.topic(FAMILY_OF[name]), CODEC.encode(name, rec),
                                            key=partition_key(name, rec)) for name, rec in chunk]
        await asyncio.gather(*futures)
