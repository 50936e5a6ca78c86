"""A sample unified-profile section: loyalty tier and purchase count of the whole profile.

A loader receives a connection (inside the request's read-only snapshot) and the resolved
profile (``ref.tenant_id``, ``ref.profile_id``, ``ref.keys``, ``ref.customer_ids``); it must
read only that tenant's rows, and return JSON-serialisable data.
"""
from __future__ import annotations

from typing import Any

TIERS = ((10, "gold"), (3, "silver"), (0, "bronze"))


async def loyalty(conn: Any, ref: Any) -> dict[str, Any]:
    purchases = await conn.fetchval(
        """SELECT count(*) FROM interaction_history
           WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) AND interaction_type = 'purchase'""",
        ref.tenant_id, ref.customer_ids)
    tier = next(name for floor, name in TIERS if purchases >= floor)
    return {"purchases": purchases, "tier": tier}
