"""``profile360 keys create|list|revoke``: API keys (see ``store.api_keys``)."""
from __future__ import annotations

import sys

import asyncpg

from profile360.settings import Settings
from profile360.store import api_keys


async def keys(settings: Settings, action: str, tenant: str | None, role: str | None, name: str | None,
               key_id: str | None, rate: float | None = None) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await api_keys.ensure_table(conn)
        if action == "create":
            if not tenant or not role:
                raise ValueError("keys create needs --tenant and --role")
            token = await api_keys.create(conn, tenant, role, name, rate)
            print(token)
            print(f"(shown once: only its hash is stored; revoke with `profile360 keys revoke {api_keys.split(token)[0]}`)",
                  file=sys.stderr)
            return 0
        if action == "list":
            for k in await api_keys.list_keys(conn, tenant):
                state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
                limit = "default rate" if k.rate is None else f"{k.rate:g}/s" if k.rate else "no rate limit"
                print(f"{k.key_id}\t{k.tenant_id}\t{k.role}\t{k.name or ''}\t{k.created_at:%Y-%m-%d %H:%M}\t{state}\t{limit}")
            return 0
        if not key_id:
            raise ValueError("keys revoke needs the key id (the part after p360_, as `keys list` shows it)")
        if not await api_keys.revoke(conn, key_id):
            raise ValueError(f"no active key {key_id!r}")
        print(f"key {key_id} revoked (running APIs stop accepting it within 5 s)")
        return 0
    finally:
        await conn.close()
