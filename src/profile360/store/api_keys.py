"""API keys: who may call the API, for which tenant, in which role.

Keys are credentials, not projections of events: they live in ``public.api_keys``, outside the
generations (a rebuild keeps them), and never pass through Kafka. A key reads
``p360_<id>_<secret>``; only ``sha256(secret)`` is stored (the secret is 256 random bits, so a
fast hash is enough), and the key itself is shown once, when created.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from profile360.events.rules import TENANT_RE

#: admin, editor, viewer: seed 001's roles; producer: may only publish events (``POST /api/v1/events``)
ROLES = ("admin", "editor", "viewer", "producer")
PREFIX = "p360"


@dataclass(frozen=True)
class Key:
    key_id: str
    tenant_id: str
    role: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
    rate: float | None = None  # requests per second this key may make (None: the API's default)


async def ensure_table(conn: asyncpg.Connection) -> None:
    await conn.execute("""CREATE TABLE IF NOT EXISTS public.api_keys (
        key_id     text COLLATE "C" PRIMARY KEY,
        tenant_id  text COLLATE "C" NOT NULL,
        role       text NOT NULL,
        name       text,
        secret_sha256 bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz)""")
    await conn.execute("""ALTER TABLE public.api_keys ADD COLUMN IF NOT EXISTS
        rate double precision CHECK (rate >= 0)""")  # requests per second (NULL: the API's default; 0: no limit)
    await conn.execute(_ROLES_CHECK)


# The roles a key may have. The constraint's name stands for this set of roles: a new role
# needs a new name, so that the check of an existing table is replaced once (tables made
# before the producer role have the old inline check, api_keys_role_check).
_ROLES_CHECK = f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'api_keys_roles_v2'
                   AND conrelid = 'public.api_keys'::regclass) THEN
        ALTER TABLE public.api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check;
        ALTER TABLE public.api_keys ADD CONSTRAINT api_keys_roles_v2 CHECK (role IN ({", ".join(f"'{r}'" for r in ROLES)}));
    END IF;
END $$"""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create(conn: asyncpg.Connection, tenant_id: str, role: str, name: str | None = None,
                 rate: float | None = None) -> str:
    """A new key, limited to ``rate`` requests per second (None: the API's default, 0: none);
    returns the whole key (the only time it exists in clear)."""
    if rate is not None and not (rate >= 0 and math.isfinite(rate)):
        raise ValueError(f"rate: requests per second, 0 (no limit) or more; got {rate!r}")
    if role not in ROLES:
        raise ValueError(f"role: expected one of {ROLES}, got {role!r}")
    if not TENANT_RE.fullmatch(tenant_id):
        raise ValueError(f"tenant: must match {TENANT_RE.pattern}, as every event's tenantId does; got {tenant_id!r}")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    await conn.execute("INSERT INTO public.api_keys (key_id, tenant_id, role, name, secret_sha256, rate) "
                       "VALUES ($1, $2, $3, $4, $5, $6)", key_id, tenant_id, role, name, _digest(secret), rate)
    return f"{PREFIX}_{key_id}_{secret}"


def split(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    return (key_id, secret) if prefix == PREFIX and key_id and secret else None


async def verify(conn: asyncpg.Connection, token: str) -> Key | None:
    """The live key ``token`` is, or None (malformed, unknown, wrong secret or revoked)."""
    parts = split(token)
    if parts is None:
        return None
    row = await conn.fetchrow("SELECT * FROM public.api_keys WHERE key_id = $1", parts[0])
    if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["secret_sha256"], _digest(parts[1])):
        return None
    return _key(row)


async def list_keys(conn: asyncpg.Connection, tenant_id: str | None = None) -> list[Key]:
    rows = await conn.fetch("SELECT * FROM public.api_keys WHERE $1::text IS NULL OR tenant_id = $1 "
                            "ORDER BY tenant_id, created_at", tenant_id)
    return [_key(r) for r in rows]


async def revoke(conn: asyncpg.Connection, key_id: str) -> bool:
    done = await conn.execute("UPDATE public.api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id)
    return done.endswith(" 1")


def _key(row: asyncpg.Record) -> Key:
    return Key(row["key_id"], row["tenant_id"], row["role"], row["name"], row["created_at"], row["revoked_at"], row.get("rate"))
