"""The pipeline's state, in one place: what ``GET /api/v1/status``, ``profile360 status`` and
the metrics report.

Per projected topic and partition:
- ``position``: the next offset to apply, as the live worker stored it with the data
  (``consumer_positions`` of the current generation, for ``Settings.consumer_group``; 0 when
  nothing was stored yet);
- ``end_offset``: the next offset Kafka will write;
- ``lag``: ``end_offset - position``, where a position below the log start counts as the log
  start (records removed by retention or ``purge`` are not waited for), and never below 0;
- ``last_applied_at``: when a batch last moved that stored position (``updated_at``), or None.

Besides: ``dead_letters``, the records in the dead-letter topic now (end minus start offsets
of its partitions: letters removed by its 30-day retention are not counted); ``generation``,
the number of the current generation of the projection tables (``store.generations``); and a
running rebuild's progress (``rebuild_progress``).

The pure parts (``partition_states``, ``lag_of``, ``ratio``) hold the rules; the rest only
reads Kafka and PostgreSQL.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg

from profile360.jsonfmt import timestamp
from profile360.settings import Settings
from profile360.store import generations
from profile360.topics import PROJECTED_FAMILIES
from profile360.worker import progress

TP = tuple[str, int]


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    position: int
    end_offset: int
    lag: int
    last_applied_at: float | None  # seconds since the epoch

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "position": self.position,
                "endOffset": self.end_offset, "lag": self.lag, "lastAppliedAt": _iso(self.last_applied_at)}


@dataclass(frozen=True)
class PipelineState:
    partitions: list[PartitionState]  # ordered by topic, partition
    dead_letters: int
    generation: int
    checked_at: float  # seconds since the epoch

    def to_json(self) -> dict[str, Any]:
        """The body of ``GET /api/v1/status`` (docs/api.md)."""
        return {"topics": [p.to_json() for p in self.partitions], "deadLetters": self.dead_letters,
                "generation": self.generation, "checkedAt": _iso(self.checked_at)}


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else timestamp(datetime.fromtimestamp(seconds, timezone.utc))


def lag_of(position: int, start: int, end: int) -> int:
    """Records still to apply in a partition: from the stored position (or the log start, if
    that is later) to the end offset."""
    return max(0, end - max(position, start))


def partition_states(stored: dict[TP, tuple[int, float | None]], starts: dict[TP, int],
                     ends: dict[TP, int]) -> list[PartitionState]:
    """One state per partition Kafka has (``ends``), from the stored (position, last written)."""
    out = []
    for tp in sorted(ends):
        position, at = stored.get(tp, (0, None))
        out.append(PartitionState(tp[0], tp[1], position, ends[tp], lag_of(position, starts.get(tp, 0), ends[tp]), at))
    return out


def ratio(positions: dict[TP, int], starts: dict[TP, int], ends: dict[TP, int]) -> float:
    """How much of the records now in the log ``positions`` has applied, from 0 to 1 (1 for
    empty logs)."""
    total = sum(max(0, end - starts.get(tp, 0)) for tp, end in ends.items())
    done = sum(max(0, min(positions.get(tp, 0), end) - starts.get(tp, 0)) for tp, end in ends.items())
    return 1.0 if total == 0 else done / total


async def log_bounds(settings: Settings) -> tuple[dict[TP, int], dict[TP, int]]:
    """(log starts, end offsets) of the projected topics and the dead-letter topic, in one go."""
    return await progress.log_bounds(settings, (*PROJECTED_FAMILIES, "dlq"))


def dead_letter_count(settings: Settings, starts: dict[TP, int], ends: dict[TP, int]) -> int:
    dlq = settings.topic("dlq")
    return sum(end - starts.get(tp, 0) for tp, end in ends.items() if tp[0] == dlq)


async def pipeline_state(settings: Settings, conn: asyncpg.Connection,
                         bounds: tuple[dict[TP, int], dict[TP, int]] | None = None) -> PipelineState:
    """The whole state; ``bounds`` (from ``log_bounds``) when the caller has them already.
    Kafka is read before PostgreSQL, so a position is never reported past its end offset by a
    batch applied between the two reads (the lag is then at most overstated)."""
    starts, ends = bounds if bounds is not None else await log_bounds(settings)
    stored = await progress.positions_with_times(conn, settings.consumer_group)
    generation = (await generations.current(conn)).number
    dlq = settings.topic("dlq")
    projected = {tp: o for tp, o in ends.items() if tp[0] != dlq}
    return PipelineState(partition_states(stored, starts, projected), dead_letter_count(settings, starts, ends),
                         generation, time.time())


async def rebuilding(conn: asyncpg.Connection) -> bool:
    """Whether a rebuild is building a generation (one cheap query, before asking Kafka)."""
    return await generations.building(conn) is not None


async def rebuild_progress(conn: asyncpg.Connection, settings: Settings, starts: dict[TP, int],
                           ends: dict[TP, int]) -> tuple[int, float] | None:
    """(generation number, ratio) of the generation a rebuild is building, or None. The ratio
    is how far the rebuild's consumer got over the projected topics' records now in the log."""
    found = await generations.building(conn)
    if found is None:
        return None
    gen = found[0]
    try:
        rows = await conn.fetch(f"SELECT topic, partition, max(next_offset) AS o FROM {gen.schema}.consumer_positions "
                                "GROUP BY topic, partition")
    except asyncpg.UndefinedTableError:  # dropped or not laid out yet
        return None
    dlq = settings.topic("dlq")
    return gen.number, ratio({(r["topic"], r["partition"]): r["o"] for r in rows}, starts,
                             {tp: o for tp, o in ends.items() if tp[0] != dlq})
