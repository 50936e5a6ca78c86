"""The projection worker: consume → decode → apply in one transaction → hint Kafka.

Guarantees:
- Positions live in PostgreSQL, written with the rows (see ``store.writer``). On partition
  assignment the consumer seeks to the stored positions; Kafka's committed offsets are only a
  hint, committed after the database commit, for tools that show consumer lag.
- A record that cannot be decoded or validated goes to the dead-letter topic before its batch
  commits. A record the database rejects (a data error) is isolated by splitting its batch and
  dead-lettered alone; the partition moves on.
- Database or broker outages are retried with backoff; the batch in hand is re-applied, which
  is harmless because applying is idempotent.
- A batch that does not continue from its partition's stored position is not applied (see
  ``store.writer``): the partition is re-sought to the stored position. That is how a stale
  worker is fenced off, how ``replay`` takes effect, and how the worker follows a generation
  switch. A stored position below the log start (records removed by retention) is moved up to
  it, with a warning.
- ``stop`` lets each lane commit what it holds, then leaves the group.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from profile360.events.codec import Codec
from profile360.logs import record_fields
from profile360.outages import riding_out
from profile360.settings import Settings
from profile360.store.writer import ApplyStats, Entry, Scope, apply_batch, load_positions, skip_to
from profile360.topics import DLQ_MAX_MESSAGE_BYTES, PROJECTED_FAMILIES
from profile360.worker import schedule
from profile360.worker.dead_letters import DeadLetter, send_dead_letters
from profile360.worker.decode import dead_letter, decode_records
from profile360.worker.metrics import Observer

log = logging.getLogger(__name__)

_DATA_ERRORS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, asyncpg.ProgramLimitExceededError)
# besides outages, worth applying the same batch again after a pause: concurrency conflicts (a
# unique violation on the history means a concurrent worker inserted the same event id first;
# the retry sees and skips it), and asyncpg's protocol-state errors (a connection an error
# interrupted is terminated, see ``_apply``)
_CONFLICTS = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError, asyncpg.UniqueViolationError,
              asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError)


def _conflict(exc: BaseException) -> bool:
    return isinstance(exc, _CONFLICTS)


class PositionBeyondLog(RuntimeError):
    """A stored position lies past the end of its partition: the worker refuses to go on."""


@dataclass
class WorkerStats:
    batches: int = 0
    consumed: int = 0
    dead: int = 0
    new_interactions: int = 0
    assigned: set = field(default_factory=set)


@dataclass(frozen=True)
class Prepared:
    entries: list[Entry]
    dead: list[DeadLetter]
    records: Sequence[Any]  # the consumed records, for dead-lettering one the database rejects


async def _enqueue(queue: asyncio.Queue, item: Prepared | None, lane: asyncio.Task) -> None:
    """Put ``item`` on a lane's queue; if the lane has failed, raise its error instead of
    waiting forever on its full queue."""
    put = asyncio.ensure_future(queue.put(item))
    await asyncio.wait({put, lane}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
        lane.result()  # the lane's error
        raise RuntimeError("a worker lane ended before the worker stopped")


class _SeekToStored(ConsumerRebalanceListener):
    def __init__(self, worker: "Worker"):
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.worker.stats.assigned -= set(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        # aiokafka keeps fetching while this coroutine awaits: hold the partitions until they
        # point at the stored positions (``run`` drops records of partitions not yet sought).
        # aiokafka only logs a listener's errors, so a database outage is retried here.
        self.worker.observer.rebalanced()
        self.worker.consumer.pause(*assigned)
        await self.worker._retrying(self.worker.seek_to_stored, list(assigned))
        self.worker.consumer.resume(*assigned)


class Worker:
    def __init__(self, settings: Settings, codec: Codec, pool: asyncpg.Pool, live: bool = True,
                 families: tuple[str, ...] = PROJECTED_FAMILIES, scope: Scope | None = None,
                 observer: Observer | None = None):
        """``live``: write the current generation; else the one ``pool``'s search_path names
        (a rebuild), without the segment timer. ``families``: the topics to consume.
        ``scope``: rebuild some projections only (see ``store.writer.Scope``). ``observer``:
        told of batches, dead letters and rebalances (``worker.metrics``)."""
        self.settings = settings
        self.observer = observer or Observer()
        self.live = live
        self.scope = scope
        self.codec = codec
        self.pool = pool
        self.stats = WorkerStats()
        self.committed: dict[tuple[str, int], int] = {}  # where this worker's own commits left each partition
        self._rewinds_checked = self._windows_checked = 0.0
        self.stopping = asyncio.Event()
        self.fatal: Exception | None = None
        self.topics = [settings.topic(f) for f in families]
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=settings.consumer_group,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=settings.batch_max_records,
            # small per-partition fetches, so that one poll spans several partitions and
            # each lane has work
            fetch_max_bytes=32 * 1024 * 1024, max_partition_fetch_bytes=256 * 1024)
        # dead letters carry the original bytes plus headers: allow more than the source topics
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                                         max_request_size=DLQ_MAX_MESSAGE_BYTES)

    async def seek_to_stored(self, tps: list[TopicPartition]) -> None:
        """Start every assigned partition at the position stored with the data."""
        async with self.pool.acquire() as conn:
            stored = await load_positions(conn, self.settings.consumer_group, [(tp.topic, tp.partition) for tp in tps])
        ends = await self.consumer.end_offsets(tps)
        lost = {str(tp): (stored[(tp.topic, tp.partition)], ends[tp]) for tp in tps
                if stored.get((tp.topic, tp.partition), 0) > ends[tp]}
        if lost:
            # the topic was re-created or lost records: skipping to the old position would
            # silently ignore every new record below it
            self.fatal = PositionBeyondLog(f"stored positions are beyond the end of the log (stored, end): {lost}; "
                                           "rebuild the projections or reset consumer_positions for these partitions")
            self.stop()
            return
        fresh = [tp for tp in tps if (tp.topic, tp.partition) not in stored]
        if fresh:
            await self.consumer.seek_to_beginning(*fresh)
        for tp in tps:
            if tp not in fresh:
                self.consumer.seek(tp, stored[(tp.topic, tp.partition)])
        self.stats.assigned |= set(tps)
        log.info("assigned %s; resuming from stored positions %s", sorted(map(str, tps)), stored)

    async def run(self) -> None:
        """Consume until ``stop``, then drain what was polled.

        Partitions are spread over ``apply_concurrency`` lanes by partition number (a fixed
        mapping, so a partition is never in two lanes). Each lane applies its batches one
        after the other, in offset order, in its own transactions; lanes run concurrently, and
        the next poll is decoded while they commit. A full lane queue pauses polling.
        """
        await riding_out(self.producer.start, what="connecting to Kafka (dead-letter producer)")
        await riding_out(self.consumer.start, what="connecting to Kafka (consumer)")
        self.consumer.subscribe(self.topics, listener=_SeekToStored(self))
        queues: list[asyncio.Queue] = [asyncio.Queue(maxsize=2) for _ in range(self.settings.apply_concurrency)]
        lanes = [asyncio.create_task(self._lane(q)) for q in queues]
        timer = asyncio.create_task(schedule.every(self.settings.segment_refresh_seconds, self.stopping, self.pool)) \
            if self.settings.segment_refresh_seconds > 0 and self.live else None
        try:
            while not self.stopping.is_set():
                batch = await self.consumer.getmany(timeout_ms=self.settings.batch_timeout_ms,
                                                    max_records=self.settings.batch_max_records)
                if not any(batch.values()):
                    await self._retrying(self._follow_rewinds)
                    await self._retrying(self._rebase_windows)
                for lane, records in self._by_lane(batch, len(queues)).items():
                    await _enqueue(queues[lane], await self.prepare(records), lanes[lane])
            for q, task in zip(queues, lanes, strict=True):
                await _enqueue(q, None, task)
            await asyncio.gather(*lanes)
            if self.fatal is not None:
                raise self.fatal
        finally:
            for task in [*lanes, *([timer] if timer else [])]:
                task.cancel()
            await self.consumer.stop()
            await self.producer.stop()

    async def _follow_rewinds(self) -> None:
        """While idle (at most once a second): re-seek partitions whose stored position was
        moved back below what this worker committed (``replay``, a generation switch)."""
        now = asyncio.get_running_loop().time()
        if now - self._rewinds_checked < 1.0 or not self.committed:
            return
        self._rewinds_checked = now
        async with self.pool.acquire() as conn:
            stored = await load_positions(conn, self.settings.consumer_group, list(self.committed))
        back = {tp: o for tp, o in stored.items() if o < self.committed[tp]}
        if back:
            await self._reseek(back)

    async def _rebase_windows(self) -> None:
        """While idle (at most once a minute): the maintained summary windows move to today."""
        now = asyncio.get_running_loop().time()
        if now - self._windows_checked >= 60.0:
            self._windows_checked = now
            await schedule.rebase_windows(self.pool, self.live)

    def _by_lane(self, batch: dict, lanes: int) -> dict[int, list]:
        by_lane: dict[int, list] = {}
        for tp, records in batch.items():
            if tp in self.stats.assigned and records:
                by_lane.setdefault(tp.partition % lanes, []).extend(records)
        return by_lane

    async def _lane(self, queue: asyncio.Queue) -> None:
        while (prepared := await queue.get()) is not None:
            await self.commit(prepared)

    def stop(self) -> None:
        self.stopping.set()

    async def prepare(self, records: Sequence[Any], chunk: int = 250) -> Prepared:
        """Decode and validate a polled batch (CPU only), a chunk at a time: between chunks
        the lanes get to send their next statement, so PostgreSQL works while this decodes."""
        entries: list[Entry] = []
        dead: list[DeadLetter] = []
        for start in range(0, len(records), chunk):
            more, letters = decode_records(self.codec, records[start:start + chunk], self.settings.max_event_bytes)
            entries += more
            dead += letters
            await asyncio.sleep(0)
        return Prepared(entries, dead, records)

    async def commit(self, batch: Prepared) -> None:
        """Dead-letter, apply and hint; returns once the batch is committed in PostgreSQL."""
        await self._retrying(self._send_dead, batch.dead)
        applied = await self._apply_isolating(batch.entries, batch.records)
        self.stats.batches += 1
        self.stats.consumed += len(batch.entries)
        self.stats.dead += len(batch.dead)
        if applied:
            await self._commit_hint(applied)

    async def _send_dead(self, letters: list[DeadLetter]) -> None:
        if letters:
            await send_dead_letters(self.producer, self.settings.topic("dlq"), letters)
            self.observer.dead_lettered(letters)
            first = letters[0]
            log.warning("dead-lettered %d records, first: %s-%d@%d %s: %s", len(letters), first.topic, first.partition,
                        first.offset, first.reason, first.detail,
                        extra=record_fields(first.topic, first.partition, first.offset, reason=first.reason, records=len(letters)))

    async def _apply(self, entries: Sequence[Entry]) -> ApplyStats:
        conn = await self.pool.acquire()
        try:
            started = time.perf_counter()
            stats = await apply_batch(conn, self.settings.consumer_group, entries, live=self.live, scope=self.scope)
        except BaseException:
            conn.terminate()  # never hand back a connection an error interrupted mid-protocol
            raise
        finally:
            await self.pool.release(conn)
        self.observer.applied(entries, stats, time.perf_counter() - started)  # the batch is committed
        self.committed.update(stats.positions)
        if stats.gaps:
            await self._reseek(stats.gaps)
        return stats

    async def _reseek(self, gaps: dict) -> None:
        """Point partitions whose batch did not continue from the stored position back at it."""
        tps = {TopicPartition(t, p): o for (t, p), o in gaps.items() if TopicPartition(t, p) in self.stats.assigned}
        starts = await self.consumer.beginning_offsets(list(tps)) if tps else {}
        for tp, stored in tps.items():
            if starts[tp] > stored:
                log.warning("%s: records %d..%d were removed from the log before they were applied "
                            "(retention); continuing at the log start", tp, stored, starts[tp] - 1,
                            extra=record_fields(tp.topic, tp.partition, starts[tp], skipped_from=stored))
                async with self.pool.acquire() as conn:
                    await skip_to(conn, self.settings.consumer_group, (tp.topic, tp.partition), starts[tp], self.live)
                stored = starts[tp]
            log.info("%s: re-seeking to the stored position %d", tp, stored, extra=record_fields(tp.topic, tp.partition, stored))
            self.consumer.seek(tp, stored)
            self.committed[(tp.topic, tp.partition)] = stored

    async def _apply_isolating(self, entries: list[Entry], raw: Sequence[Any]) -> dict:
        """Apply ``entries``; on a data error split the batch until the bad record is alone,
        dead-letter it and apply it as a skipped entry. Returns the positions reached."""
        try:
            stats = await self._retrying(self._apply, entries)
            self.stats.new_interactions += stats.new_interactions if stats else 0
            return stats.positions if stats else {}
        except _DATA_ERRORS as exc:
            if len(entries) == 1:
                e = entries[0]
                record = next(r for r in raw if (r.topic, r.partition, r.offset) == (e.topic, e.partition, e.offset))
                await self._retrying(self._send_dead, [dead_letter(record, "rejected_by_database", str(exc))])
                self.stats.dead += 1
                return await self._apply_isolating([Entry(e.topic, e.partition, e.offset, None)], raw)
            half = len(entries) // 2
            first = await self._apply_isolating(entries[:half], raw)
            return {**first, **await self._apply_isolating(entries[half:], raw)}

    async def _retrying(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)``, retried through outages and conflicts until it succeeds or the worker stops."""
        return await riding_out(fn, *args, stopping=self.stopping, also=_conflict)

    async def _commit_hint(self, positions: dict) -> None:
        offsets = {TopicPartition(t, p): o for (t, p), o in positions.items()
                   if TopicPartition(t, p) in self.stats.assigned}
        try:
            if offsets and not self.stopping.is_set():
                # bounded: aiokafka retries a commit for as long as the broker is away
                await asyncio.wait_for(self.consumer.commit(offsets), 5)
        except Exception as exc:  # a hint only: the positions that matter are in PostgreSQL
            log.info("Kafka offset commit skipped: %s", exc)
