"""Seed 003's projection: organization customers, feedback, highlights, insights and issues.
Runs inside ``writer.apply_batch``'s transaction.

Every entity keeps its latest version by (occurred_at, event_id) through a conditional
upsert, so arrival order does not matter; an insight's or issue's customer links are replaced
only when its version wins. ``last_interacted_at`` is the latest feedback date ever seen for a
customer (a maximum: order-independent), kept in ``org_activity`` and copied onto the customer
row whichever arrives first. Rows are written in key order (one lock order for every writer).
"""
from __future__ import annotations

from typing import Sequence

import asyncpg

from profile360.events.organizations import FeedbackHighlighted, FeedbackRecorded, Linked, OrgCustomerUpserted
from profile360.projections import lww

_NEWER = "WHERE (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)"


async def apply(conn: asyncpg.Connection, events: Sequence[object]) -> None:
    customers = _latest([e for e in events if isinstance(e, OrgCustomerUpserted)], lambda e: (e.tenant_id, e.customer_uuid))
    feedbacks = _latest([e for e in events if isinstance(e, FeedbackRecorded)], lambda e: (e.tenant_id, e.feedback_uuid))
    highlights = _latest([e for e in events if isinstance(e, FeedbackHighlighted)], lambda e: (e.tenant_id, e.highlight_uuid))
    findings = _latest([e for e in events if isinstance(e, Linked)], lambda e: (e.tenant_id, e.kind, e.uuid))
    touched = sorted({(e.tenant_id, e.customer_uuid) for e in [*customers, *feedbacks]})
    if touched:
        # a customer row and a feedback about it in concurrent transactions: each waits for the
        # other, so the one that commits second sees the first's last_interacted_at
        await conn.execute("SELECT count(pg_advisory_xact_lock(hashtext('profile360.org:' || current_schema() || ':' || t), hashtext(c))) "
                           "FROM (SELECT * FROM unnest($1::text[], $2::text[]) AS u(t, c) "
                           "ORDER BY t COLLATE \"C\", c COLLATE \"C\") s",
                           [t for t, _ in touched], [c for _, c in touched])
    if customers:
        await _customers(conn, customers, [e for e in events if isinstance(e, OrgCustomerUpserted)])
    if feedbacks:
        await _feedbacks(conn, feedbacks, [e for e in events if isinstance(e, FeedbackRecorded)])
    if highlights:
        await _rows(conn, "org_highlights", ("highlight_uuid", "customer_uuid", "feedback_uuid", "quote", "sentiment_score"),
                    [(e.highlight_uuid, e.customer_uuid, e.feedback_uuid, e.quote, e.sentiment_score, e) for e in highlights],
                    ("tenant_id", "highlight_uuid"))
    if findings:
        await _findings(conn, findings)


def _latest(events: list, key) -> list:
    return [w for _, w in sorted(lww.winners(events, key).items())]


async def _rows(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple], conflict: tuple[str, ...],
                returning: str = "") -> list[asyncpg.Record]:
    """Upsert ``rows`` (values of ``columns``, then the event for tenant and version) when newer."""
    cols = ("tenant_id", *columns, "occurred_at", "event_id")
    values = [(r[-1].tenant_id, *r[:-1], r[-1].occurred_at, r[-1].event_id) for r in rows]
    placeholders = ", ".join(f"${i + 1}" for i in range(len(cols)))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in conflict)
    sql = (f"INSERT INTO {table} AS t ({', '.join(cols)}) VALUES ({placeholders}) "
           f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates} {_NEWER} {returning}")
    if returning:
        return [r for v in values for r in await conn.fetch(sql, *v)]
    await conn.executemany(sql, values)
    return []


async def _customers(conn: asyncpg.Connection, customers: list[OrgCustomerUpserted],
                     every: list[OrgCustomerUpserted]) -> None:
    """Upsert the winners; ``created_at`` is the earliest version of all (``every``)."""
    first: dict[tuple[str, str], object] = {}
    for e in every:
        k = (e.tenant_id, e.customer_uuid)
        first[k] = min(first.get(k, e.occurred_at), e.occurred_at)
    await conn.executemany(
        f"""INSERT INTO org_customers AS t (tenant_id, customer_uuid, full_name, email, role, persona_uuid, company_uuid,
                                         created_at, last_interacted_at, occurred_at, event_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $10,
                    (SELECT last_interacted_at FROM org_activity WHERE tenant_id = $1 AND customer_uuid = $2), $8, $9)
            ON CONFLICT (tenant_id, customer_uuid) DO UPDATE SET
              full_name = CASE WHEN (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)
                               THEN EXCLUDED.full_name ELSE t.full_name END,
              email = CASE WHEN (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)
                           THEN EXCLUDED.email ELSE t.email END,
              role = CASE WHEN (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)
                          THEN EXCLUDED.role ELSE t.role END,
              persona_uuid = CASE WHEN (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)
                                  THEN EXCLUDED.persona_uuid ELSE t.persona_uuid END,
              company_uuid = CASE WHEN (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)
                                  THEN EXCLUDED.company_uuid ELSE t.company_uuid END,
              created_at = LEAST(t.created_at, EXCLUDED.created_at),
              event_id = CASE WHEN (t.occurred_at, t.event_id) < (EXCLUDED.occurred_at, EXCLUDED.event_id)
                              THEN EXCLUDED.event_id ELSE t.event_id END,
              occurred_at = GREATEST(t.occurred_at, EXCLUDED.occurred_at)""",
        [(e.tenant_id, e.customer_uuid, e.full_name, e.email, e.role, e.persona_uuid, e.company_uuid, e.occurred_at,
          e.event_id, first[(e.tenant_id, e.customer_uuid)]) for e in customers])


async def _feedbacks(conn: asyncpg.Connection, winners: list[FeedbackRecorded], every: list[FeedbackRecorded]) -> None:
    await _rows(conn, "org_feedbacks", ("feedback_uuid", "customer_uuid", "contents", "feedback_date", "sentiment", "source"),
                [(e.feedback_uuid, e.customer_uuid, e.contents, e.feedback_date, e.sentiment, e.source, e) for e in winners],
                ("tenant_id", "feedback_uuid"))
    latest: dict[tuple[str, str], object] = {}
    for e in every:
        k = (e.tenant_id, e.customer_uuid)
        latest[k] = max(latest.get(k, e.feedback_date), e.feedback_date)
    rows = [(*k, latest[k]) for k in sorted(latest)]
    await conn.executemany(
        """INSERT INTO org_activity AS a (tenant_id, customer_uuid, last_interacted_at) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, customer_uuid) DO UPDATE SET last_interacted_at = GREATEST(a.last_interacted_at, EXCLUDED.last_interacted_at)""",
        rows)
    await conn.executemany(
        """UPDATE org_customers SET last_interacted_at = GREATEST(last_interacted_at, $3)
           WHERE tenant_id = $1 AND customer_uuid = $2 AND last_interacted_at IS DISTINCT FROM GREATEST(last_interacted_at, $3)""",
        rows)


async def _findings(conn: asyncpg.Connection, findings: list[Linked]) -> None:
    won = await _rows(conn, "org_findings", ("kind", "uuid", "title", "description", "score"),
                      [(e.kind, e.uuid, e.title, e.description, e.score, e) for e in findings],
                      ("tenant_id", "kind", "uuid"), returning="RETURNING tenant_id, kind, uuid, event_id")
    by_key = {(e.tenant_id, e.kind, e.uuid): e for e in findings}
    for r in won:
        e = by_key[(r["tenant_id"], r["kind"], r["uuid"])]
        await conn.execute("DELETE FROM org_finding_customers WHERE tenant_id = $1 AND kind = $2 AND uuid = $3",
                           e.tenant_id, e.kind, e.uuid)
        await conn.executemany("INSERT INTO org_finding_customers (tenant_id, kind, uuid, customer_uuid) VALUES ($1, $2, $3, $4)",
                               [(e.tenant_id, e.kind, e.uuid, c) for c in e.customer_uuids])
