"""What ``store.outcomes`` says became of each record of a batch (the worker's metrics count it)."""
from __future__ import annotations

from types import SimpleNamespace as NS

from profile360.store.outcomes import outcomes


def test_each_record_has_one_outcome_by_topic():
    ev = [NS(name=f"e{i}") for i in range(5)]
    old = NS(topic="t", event=NS(name="old"))
    todo = [NS(topic="t", event=ev[0]), NS(topic="t", event=ev[1]), NS(topic="t", event=None),
            NS(topic="u", event=ev[2]), NS(topic="t", event=ev[3]), NS(topic="t", event=ev[4])]
    kept = [ev[0], ev[1], ev[3], ev[4]]  # ev[2] is erased
    interactions, fresh = [ev[1], ev[3]], [ev[3]]  # ev[1] was in the history already
    assert outcomes([old], todo, kept, interactions, fresh) == {
        ("t", "duplicate"): 2, ("t", "applied"): 3, ("t", "dead_lettered"): 1, ("u", "erased"): 1}
