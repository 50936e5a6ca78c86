"""Pure fold of catalog events (offers, creatives, channels): last writer wins per entity.

The winner is the event with the greatest (occurredAt, eventId), so the result does not
depend on arrival order; the store applies the same rule with a conditional upsert.
"""
from __future__ import annotations

from typing import Iterable

from profile360.events.model import CatalogEvent, Channel, Creative, Offer
from profile360.projections import lww

#: (kind, tenant_id, entity id)
EntityKey = tuple[str, str, str]


def entity_key(event: CatalogEvent) -> EntityKey:
    if isinstance(event, Offer):
        return "offer", event.tenant_id, event.offer_id
    if isinstance(event, Creative):
        return "creative", event.tenant_id, event.creative_id
    if isinstance(event, Channel):
        return "channel", event.tenant_id, event.channel_id
    raise TypeError(f"not a catalog event: {type(event).__name__}")


def latest(events: Iterable[CatalogEvent], current: dict[EntityKey, CatalogEvent] | None = None) -> dict[EntityKey, CatalogEvent]:
    """Fold ``events`` into ``current`` (not modified): the newest version of each entity."""
    return lww.winners(events, entity_key, current)
