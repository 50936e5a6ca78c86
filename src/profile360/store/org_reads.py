"""Seed 003's reads: organization customers (filtered, searched, sorted, paged) and what they
said. Every query is scoped to one tenant (the organization); filters are added to the SQL
only when present, so each shape gets its own plan.

Search is a substring of name or email after Unicode case folding (``public.p360_fold``, on
the trigram index ``org_customers_search``); ``full_name`` sorts in the ICU root collation's
linguistic order (index ``org_customers_name``). Both are defined in
``projections/0010_linguistic_search.sql``; the expressions here must stay the indexes'."""
from __future__ import annotations

from dataclasses import dataclass

import asyncpg

SEARCHED = "public.p360_fold(coalesce(full_name, '') || ' ' || coalesce(email, ''))"  # the index expression
SORTS = {"last_interacted_date": "last_interacted_at", "full_name": 'full_name COLLATE "und-x-icu"', "email": "email",
         "created_date": "created_at", "updated_date": "occurred_at"}
FEEDBACK_SORTS = {"feedback_date": "feedback_date", "sentiment": "sentiment"}


@dataclass(frozen=True)
class CustomerQuery:
    tenant_id: str
    uuids: list[str] | None = None
    search: str | None = None
    personas: list[str] | None = None
    companies: list[str] | None = None
    sort_by: str = "last_interacted_date"
    descending: bool = True
    page_size: int = 25
    page_number: int = 1


def _like(term: str) -> str:
    """A LIKE pattern for ``term`` anywhere; PostgreSQL folds it (as the index expression
    does, with the same function)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(q: CustomerQuery) -> tuple[str, list]:
    conditions, args = ["tenant_id = $1"], [q.tenant_id]
    for column, values in (("customer_uuid", q.uuids), ("persona_uuid", q.personas), ("company_uuid", q.companies)):
        if values is not None:
            args.append(values)
            conditions.append(f"{column} = ANY(${len(args)}::text[])")
    if q.search:
        args.append(_like(q.search))
        conditions.append(f"{SEARCHED} LIKE public.p360_fold(${len(args)})")
    return " AND ".join(conditions), args


def customer_queries(q: CustomerQuery) -> tuple[str, str, list]:
    """(the count's SQL, the page's SQL, their arguments) for ``q``."""
    where, args = _where(q)
    direction = "DESC" if q.descending else "ASC"
    page = (f"SELECT * FROM org_customers WHERE {where} "
            f"ORDER BY {SORTS[q.sort_by]} {direction} NULLS LAST, customer_uuid {direction} "
            f"LIMIT {q.page_size} OFFSET {(q.page_number - 1) * q.page_size}")
    return f"SELECT count(*) FROM org_customers WHERE {where}", page, args


async def customers(conn: asyncpg.Connection, q: CustomerQuery) -> tuple[list[asyncpg.Record], int]:
    """One page of customers and how many match."""
    count, page, args = customer_queries(q)
    return await conn.fetch(page, *args), await conn.fetchval(count, *args)


async def customer(conn: asyncpg.Connection, tenant_id: str, uuid: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM org_customers WHERE tenant_id = $1 AND customer_uuid = $2", tenant_id, uuid)


async def feedbacks(conn: asyncpg.Connection, tenant_id: str, uuid: str, sort_by: str, descending: bool,
                    size: int, page: int) -> tuple[list[asyncpg.Record], int]:
    direction = "DESC" if descending else "ASC"
    return await _page(conn, "org_feedbacks", f"{FEEDBACK_SORTS[sort_by]} {direction} NULLS LAST, feedback_uuid {direction}",
                       tenant_id, uuid, size, page)


async def highlights(conn: asyncpg.Connection, tenant_id: str, uuid: str, size: int, page: int) -> tuple[list, int]:
    return await _page(conn, "org_highlights", "occurred_at DESC, highlight_uuid", tenant_id, uuid, size, page)


async def findings(conn: asyncpg.Connection, tenant_id: str, uuid: str, kind: str, size: int, page: int) -> tuple[list, int]:
    total = await conn.fetchval("SELECT count(*) FROM org_finding_customers WHERE tenant_id = $1 AND customer_uuid = $2 "
                                "AND kind = $3", tenant_id, uuid, kind)
    rows = await conn.fetch(
        """SELECT f.* FROM org_finding_customers l JOIN org_findings f USING (tenant_id, kind, uuid)
           WHERE l.tenant_id = $1 AND l.customer_uuid = $2 AND l.kind = $3
           ORDER BY f.occurred_at DESC, f.uuid LIMIT $4 OFFSET $5""", tenant_id, uuid, kind, size, (page - 1) * size)
    return rows, total


async def _page(conn: asyncpg.Connection, table: str, order: str, tenant_id: str, uuid: str, size: int,
                page: int) -> tuple[list[asyncpg.Record], int]:
    total = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE tenant_id = $1 AND customer_uuid = $2", tenant_id, uuid)
    rows = await conn.fetch(f"SELECT * FROM {table} WHERE tenant_id = $1 AND customer_uuid = $2 ORDER BY {order} "
                            "LIMIT $3 OFFSET $4", tenant_id, uuid, size, (page - 1) * size)
    return rows, total
