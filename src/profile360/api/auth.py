"""Who is calling: API keys (``Authorization: Bearer <key>``) and roles per route.

Every route but the health checks, the metrics, the API description and the pages (``PUBLIC``) needs a key. The key names the
tenant: a request's ``X-Tenant-Id``, where sent, must be that tenant (403 otherwise), and every
handler reads the tenant from the key, never from the request. Roles (seed 001): reads for
admin, editor and viewer; writes for admin and editor; erasures and the dead letters for admin only.
The ``producer`` role may only publish events (``POST /api/v1/events``, also open to admin and
editor): every other route, reads included, is 403 for it.

Verified keys are remembered for ``_TTL`` seconds, so a revoked key stops working within that
time (a key is looked up at most once per TTL and process, not per request), on the primary
even when reads go to a replica (``keys``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from profile360.api.errors import ApiError, json_response
from profile360.api.keys import PRIMARY
from profile360.store import api_keys

#: paths served without a key, each with what lies under it (``/console/main.js``): the pages
#: and their files carry no data, they call the data routes with the user's key
PUBLIC = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/console", "/metrics"})
READ, WRITE, ADMIN = frozenset({"admin", "editor", "viewer"}), frozenset({"admin", "editor"}), frozenset({"admin"})
PUBLISH = WRITE | {"producer"}
_ONLY = {("POST", "/api/v1/events"): PUBLISH,
         ("DELETE", "/api/v1/customers/{id}"): ADMIN,
         ("DELETE", "/api/v1/organizations/{org_uuid}/customers/{customer_uuid}"): ADMIN,
         ("GET", "/api/v1/dead-letters"): ADMIN, ("POST", "/api/v1/dead-letters/redrive"): ADMIN}
_TTL = 5.0


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    role: str
    key_id: str
    rate: float | None = None  # the key's own request rate (None: the API's default)


PRINCIPAL = web.RequestKey("principal", Principal)


def is_public(path: str) -> bool:
    """Whether ``path`` (a request's path or a route template) is served without a key: its
    first segment is one of ``PUBLIC``."""
    return "/" + path.lstrip("/").partition("/")[0] in PUBLIC


def roles_for(method: str, route: str) -> frozenset[str]:
    """The roles that may call ``method`` on the route template ``route``."""
    return _ONLY.get((method, route)) or (READ if method in ("GET", "HEAD") else WRITE)


#: what ``GET /api/v1/me`` tells a client (the console) its key may do, each a route the API checks
_CAN = {"editSegments": ("PUT", "/api/v1/segments/{id}"), "readDeadLetters": ("GET", "/api/v1/dead-letters"),
        "redrive": ("POST", "/api/v1/dead-letters/redrive")}


async def me(request: web.Request) -> web.Response:
    """``GET /api/v1/me`` (any role): the key's ``tenantId``, ``role`` and ``keyId``, and ``can``:
    for each of ``_CAN``, whether the role may call its route (the API refuses it anyway)."""
    who = request[PRINCIPAL]
    can = {name: who.role in roles_for(*route) for name, route in _CAN.items()}
    return json_response({"tenantId": who.tenant_id, "role": who.role, "keyId": who.key_id, "can": can})


class _Cache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, api_keys.Key | None]] = {}

    async def key(self, request: web.Request, token: str) -> api_keys.Key | None:
        hit = self.entries.get(token)
        if hit is not None and time.monotonic() - hit[0] < _TTL:
            return hit[1]
        async with request.app[PRIMARY].acquire() as conn:
            key = await api_keys.verify(conn, token)
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[token] = (time.monotonic(), key)
        return key


def middleware() -> Callable:
    cache = _Cache()

    @web.middleware
    async def authenticate(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if is_public(request.path) or request.match_info.route.resource is None:
            return await handler(request)  # public, or no such route (404 from the router)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "Authorization: send 'Bearer <API key>'", "Authorization")
        key = await cache.key(request, token.strip())
        if key is None:
            raise ApiError(401, "unauthorized", "Authorization: unknown or revoked API key", "Authorization")
        claimed = request.headers.get("X-Tenant-Id")
        if claimed is not None and claimed != key.tenant_id:
            raise ApiError(403, "tenant_mismatch", "X-Tenant-Id: does not match the API key's tenant", "X-Tenant-Id")
        route = request.match_info.route.resource.canonical
        if key.role not in roles_for(request.method, route):
            raise ApiError(403, "forbidden", f"the {key.role} role may not {request.method} {route}")
        request[PRINCIPAL] = Principal(key.tenant_id, key.role, key.key_id, key.rate)
        return await handler(request)

    return authenticate
