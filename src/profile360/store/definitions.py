"""Writes and reads definition events (tenant metrics): last writer wins per id, inside the
worker's batch transaction."""
from __future__ import annotations

from typing import Sequence

import asyncpg

from profile360.events.definitions import MetricDefined
from profile360.projections import lww

_FIELDS = ("tenant_id", "metric_id", "aggregation", "event_type", "window_days", "description", "deleted",
           "occurred_at", "event_id")


async def apply_definitions(conn: asyncpg.Connection, events: Sequence[MetricDefined]) -> None:
    won = lww.winners(events, lambda e: (e.tenant_id, e.metric_id))
    rows = [tuple(getattr(won[k], f) for f in _FIELDS) for k in sorted(won)]
    if rows:
        await conn.execute(
            """INSERT INTO metric_definitions AS m (tenant_id, metric_id, aggregation, event_type, window_days, description,
                                                    deleted, occurred_at, event_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bool[],
                                    $8::timestamptz[], $9::text[])
               ON CONFLICT (tenant_id, metric_id) DO UPDATE SET aggregation = EXCLUDED.aggregation,
                 event_type = EXCLUDED.event_type, window_days = EXCLUDED.window_days,
                 description = EXCLUDED.description, deleted = EXCLUDED.deleted,
                 occurred_at = EXCLUDED.occurred_at, event_id = EXCLUDED.event_id
               WHERE (m.occurred_at, m.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)""",
            *[list(c) for c in zip(*rows)])


async def metrics_of(conn: asyncpg.Connection, tenant_id: str) -> list[MetricDefined]:
    """The tenant's live metric definitions, by id."""
    rows = await conn.fetch(f"SELECT {', '.join(_FIELDS)} FROM metric_definitions WHERE tenant_id = $1 AND NOT deleted "
                            "ORDER BY metric_id", tenant_id)
    return [MetricDefined(r["event_id"], r["tenant_id"], r["occurred_at"], r["metric_id"], r["aggregation"],
                          r["event_type"], r["window_days"], r["description"], r["deleted"]) for r in rows]
