"""Last writer wins: the register rule behind catalog entities, definitions, tenant settings,
identity links and facts. The winner of a key is the event with the greatest
``(occurred_at, event_id)`` (the first writer: the smallest), so arrival order never matters;
the store mirrors it with a conditional upsert."""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, TypeVar

E = TypeVar("E")


def version(event: Any) -> tuple:
    return event.occurred_at, event.event_id


def winners(events: Iterable[E], key: Callable[[E], Hashable], current: dict | None = None,
            first: bool = False) -> dict[Hashable, E]:
    """Fold ``events`` into ``current`` (not modified): per key the last (or ``first``) writer."""
    state = dict(current or {})
    for event in events:
        k = key(event)
        held = state.get(k)
        if held is None or (version(event) < version(held) if first else version(held) < version(event)):
            state[k] = event
    return state
