"""A test client that authenticates like a real caller: each request that names a tenant in
``X-Tenant-Id`` carries a real API key of that tenant (created in the database on first use),
with the client's role. Requests that already carry ``Authorization`` are sent as they are."""
from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from profile360.store import api_keys


async def make_key(database_url: str, tenant: str, role: str = "admin") -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return await api_keys.create(conn, tenant, role, "tests")
    finally:
        await conn.close()


class KeyedClient(TestClient):
    def __init__(self, server: Any, database_url: str, role: str = "admin"):
        super().__init__(server)
        self.database_url, self.role = database_url, role
        self.keys: dict[str, str] = {}

    async def key_for(self, tenant: str) -> str:
        if tenant not in self.keys:
            self.keys[tenant] = await make_key(self.database_url, tenant, self.role)
        return self.keys[tenant]

    async def _request(self, method: str, path: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        tenant = headers.get("X-Tenant-Id")
        if tenant and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {await self.key_for(tenant)}"
        return await super()._request(method, path, headers=headers, **kwargs)
