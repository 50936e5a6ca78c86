"""Pure fold of interaction events into history and daily summaries.

The tables are a function of the *set* of events: every (tenant, event id) is counted once, in
its UTC day, whatever the order, duplication or batching in which events arrive. The worker
uses ``dedupe``, ``summary_deltas``, ``buckets.customer_buckets`` and ``total_deltas`` on each
batch; ``InteractionView.apply`` is the same
fold over an in-memory state, the model the property tests check.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Iterable, Iterator

from profile360.events.model import OFFER_TYPES, Interaction
from profile360.projections import buckets

#: the shared summary's groups; customers have a table of their own (see ``buckets.customer_buckets``)
DIMENSIONS = ("action", "treatment", "channel")
_SLOT = {kind: i for i, kind in enumerate(OFFER_TYPES)}

#: (tenant_id, dimension, key, day)
SummaryKey = tuple[str, str, str, date]
#: counts in OFFER_TYPES order
Counts = tuple[int, int, int, int]
#: (tenant_id, scope, key): history rows of the tenant ("all", ""), of an offer, creative or type
TotalKey = tuple[str, str, str]


def event_key(event: Interaction) -> tuple[str, str]:
    return event.tenant_id, event.event_id


def dedupe(events: Iterable[Interaction]) -> list[Interaction]:
    """The first event of each (tenant, event id), in input order."""
    seen: dict[tuple[str, str], Interaction] = {}
    for event in events:
        seen.setdefault(event_key(event), event)
    return list(seen.values())


def dimension_keys(event: Interaction) -> Iterator[tuple[str, str]]:
    """The shared (dimension, key) groups an offer interaction counts in; a missing key is skipped.

    The channel group is the catalog channel id, or the medium (EMAIL, SMS, ...) when the
    event names no channel id.
    """
    channel = event.channel_id or event.channel
    for dimension, key in (("action", event.offer_id), ("treatment", event.creative_id), ("channel", channel)):
        if key:
            yield dimension, key


def summary_deltas(events: Iterable[Interaction]) -> dict[SummaryKey, Counts]:
    """Counts per (tenant, dimension, key, day) of the offer interactions among ``events``.

    The caller passes each event once (see ``dedupe`` and the store's insert-if-new).
    """
    acc: dict[SummaryKey, list[int]] = {}
    for event in events:
        slot = _SLOT.get(event.type)
        if slot is None:
            continue
        day = event.occurred_at.date()
        for dimension, key in dimension_keys(event):
            counts = acc.get((event.tenant_id, dimension, key, day))
            if counts is None:
                counts = acc[(event.tenant_id, dimension, key, day)] = [0, 0, 0, 0]
            counts[slot] += 1
    return {key: (c[0], c[1], c[2], c[3]) for key, c in acc.items()}


def total_deltas(events: Iterable[Interaction]) -> dict[TotalKey, int]:
    """History rows added per tenant, and per offer, creative and type (every event type)."""
    acc: dict[TotalKey, int] = {}
    for e in events:
        for scope, key in (("all", ""), ("offer", e.offer_id), ("creative", e.creative_id), ("type", e.type)):
            if key is not None:
                acc[(e.tenant_id, scope, key)] = acc.get((e.tenant_id, scope, key), 0) + 1
    return acc


def add_counts(a: Counts, b: Counts) -> Counts:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


@dataclass(frozen=True)
class InteractionView:
    """In-memory model of the interaction tables."""

    history: dict[tuple[str, str], Interaction] = field(default_factory=dict)
    summary: dict[SummaryKey, Counts] = field(default_factory=dict)
    customers: dict[buckets.BucketKey, buckets.Bucket] = field(default_factory=dict)
    totals: dict[TotalKey, int] = field(default_factory=dict)

    def apply(self, batch: Iterable[Interaction]) -> "InteractionView":
        fresh = [e for e in dedupe(batch) if event_key(e) not in self.history]
        history = dict(self.history)
        history.update((event_key(e), e) for e in fresh)
        totals = dict(self.totals)
        for total_key, n in total_deltas(fresh).items():
            totals[total_key] = totals.get(total_key, 0) + n
        return replace(self, history=history, summary=_added(self.summary, summary_deltas(fresh)),
                       customers=buckets.merged(self.customers, buckets.customer_buckets(fresh)), totals=totals)


def _added(table: dict, deltas: dict) -> dict:
    out = dict(table)
    for key, counts in deltas.items():
        out[key] = add_counts(out.get(key, (0, 0, 0, 0)), counts)
    return out
