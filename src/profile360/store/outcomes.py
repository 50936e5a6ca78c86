"""What became of each record of a batch ``writer.apply_batch`` applied, per topic: the
outcomes the worker's metrics count (``profile360_records_applied_total{topic,outcome}``).

- ``duplicate``: already applied: below the partition's stored position (a redelivery after a
  crash or a rebalance), or an interaction whose (tenant, event id) is already in the history
  (a producer's re-send, or a repeat within the batch);
- ``dead_lettered``: a record the worker could not decode or validate (sent to the dead-letter
  topic, its offset applied as skipped);
- ``erased``: an event an erasure covers, kept out of every projection;
- ``applied``: every other record (folded into the projections; a profile-side event that
  loses to a newer one by event time is still ``applied``: the fold decided).

Records of a partition not applied for a gap (the worker re-seeks) have no outcome: they come
again. Pure: no I/O.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

APPLIED, DUPLICATE, DEAD_LETTERED, ERASED = "applied", "duplicate", "dead_lettered", "erased"
OUTCOMES = (APPLIED, DUPLICATE, DEAD_LETTERED, ERASED)


def outcomes(redelivered: Sequence[Any], todo: Sequence[Any], kept: Sequence[Any], interactions: Sequence[Any],
             fresh: Sequence[Any]) -> dict[tuple[str, str], int]:
    """(topic, outcome): records. ``redelivered``: entries below their stored position;
    ``todo``: the entries applied; ``kept``: their events left after the erasures;
    ``interactions``: the kept interactions; ``fresh``: those new to the history."""
    kept_ids, new_ids = {id(e) for e in kept}, {id(e) for e in fresh}
    resent = {id(e) for e in interactions} - new_ids
    found: Counter = Counter((e.topic, DUPLICATE) for e in redelivered)
    for e in todo:
        ev = e.event
        outcome = DEAD_LETTERED if ev is None else ERASED if id(ev) not in kept_ids else \
            DUPLICATE if id(ev) in resent else APPLIED
        found[(e.topic, outcome)] += 1
    return dict(found)
