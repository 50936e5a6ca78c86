"""Read queries behind the segments API and the profile's segments section."""
from __future__ import annotations

from datetime import datetime

import asyncpg

_SEGMENT = """SELECT d.segment_id, d.name, d.rule, d.description, d.version, d.windowed, d.occurred_at, d.event_id,
                     coalesce(c.members, 0) AS members
              FROM segment_definitions d
              LEFT JOIN segment_counts c ON c.tenant_id = d.tenant_id AND c.segment_id = d.segment_id
              WHERE d.tenant_id = $1 AND NOT d.deleted"""


async def segments(conn: asyncpg.Connection, tenant_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_SEGMENT} ORDER BY d.segment_id", tenant_id)


async def top_segments(conn: asyncpg.Connection, tenant_id: str, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_SEGMENT} ORDER BY members DESC, d.segment_id LIMIT $2", tenant_id, limit)


async def segment(conn: asyncpg.Connection, tenant_id: str, segment_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_SEGMENT} AND d.segment_id = $2", tenant_id, segment_id)


async def version(conn: asyncpg.Connection, tenant_id: str, segment_id: str) -> int:
    """The stored version, deleted or not (0: never defined)."""
    return await conn.fetchval("SELECT version FROM segment_definitions WHERE tenant_id = $1 AND segment_id = $2",
                               tenant_id, segment_id) or 0


async def applied(conn: asyncpg.Connection, tenant_id: str, segment_id: str, occurred_at: datetime, event_id: str) -> bool:
    """Whether the definition (``occurred_at``, ``event_id``) has been applied, or a later one."""
    return await conn.fetchval("SELECT (occurred_at, event_id) >= ($3, $4) FROM segment_definitions "
                               "WHERE tenant_id = $1 AND segment_id = $2", tenant_id, segment_id, occurred_at,
                               event_id) or False


async def members(conn: asyncpg.Connection, tenant_id: str, segment_id: str, after: str | None,
                  limit: int) -> list[asyncpg.Record]:
    """Up to ``limit + 1`` members in profile id order after ``after``."""
    return await conn.fetch("""SELECT profile_id, member_since FROM segment_members
                               WHERE tenant_id = $1 AND segment_id = $2 AND profile_id > $3
                               ORDER BY profile_id LIMIT $4""", tenant_id, segment_id, after or "", limit + 1)


async def of_profile(conn: asyncpg.Connection, tenant_id: str, profile_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("""SELECT m.segment_id, d.name, m.member_since FROM segment_members m
                               JOIN segment_definitions d ON d.tenant_id = m.tenant_id AND d.segment_id = m.segment_id
                               WHERE m.tenant_id = $1 AND m.profile_id = $2 ORDER BY m.segment_id""",
                            tenant_id, profile_id)
