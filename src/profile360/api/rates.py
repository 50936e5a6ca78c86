"""Fair sharing between callers: request-rate limits per API key and per tenant, each a token
bucket, answered ``429 rate_limited`` with ``Retry-After`` and the ``RateLimit-*`` headers.

Contract:
- A bucket of ``rate`` tokens per second holds at most ``rate`` tokens (one second of burst)
  and starts full; a request takes one token from its key's bucket and one from its tenant's,
  or none when either is empty (a refused request costs the caller nothing).
- The key's rate is the one stored with it (``profile360 keys create --rate N``), else
  ``P360_RATE_LIMIT_PER_KEY``; the tenant's is ``P360_RATE_LIMIT_PER_TENANT``. 0 means no limit.
- Buckets live in each API process: with ``api --processes N`` a caller whose connections
  spread over the processes may reach up to N times the rate.
- Every keyed answer says where the caller stands, for the tighter of its two buckets:
  ``RateLimit-Limit`` (requests per second), ``RateLimit-Remaining`` (whole requests left now)
  and ``RateLimit-Reset`` (seconds until the bucket is full again), as in the IETF httpapi
  RateLimit header fields draft.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from aiohttp import web

from profile360.api.auth import PRINCIPAL
from profile360.api.errors import ApiError, error_response

#: at most this many idle buckets are kept per kind; beyond it, full ones are forgotten (a full
#: bucket is what a new one would be)
_KEPT = 10_000


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens per second, and the capacity
    tokens: float
    at: float  # monotonic time ``tokens`` was counted at

    def refill(self, now: float) -> None:
        self.tokens, self.at = min(self.rate, self.tokens + (now - self.at) * self.rate), max(self.at, now)

    def wait(self) -> float:
        """Seconds until one token is there (0: now); call after ``refill``."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def reset(self) -> float:
        """Seconds until the bucket is full again; call after ``refill``."""
        return (self.rate - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    by: str  # the tighter bucket's kind: "API key" or "tenant"
    limit: float
    remaining: int
    reset: float  # seconds until the tighter bucket is full
    retry_after: float  # seconds until a request would be allowed (0 when allowed)

    def headers(self) -> dict[str, str]:
        out = {"RateLimit-Limit": f"{self.limit:g}", "RateLimit-Remaining": str(self.remaining),
               "RateLimit-Reset": str(math.ceil(self.reset))}
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


class Limiter:
    """The buckets of one process, per key and per tenant."""

    def __init__(self, per_key: float, per_tenant: float, clock: Callable[[], float] = time.monotonic):
        self.per_key, self.per_tenant, self.clock = per_key, per_tenant, clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def _bucket(self, kind: str, name: str, rate: float, now: float) -> TokenBucket:
        b = self._buckets.get((kind, name))
        if b is None or b.rate != rate:  # new, or its key's rate changed
            if len(self._buckets) >= 2 * _KEPT:
                self._forget_full(now)
            b = self._buckets[(kind, name)] = TokenBucket(rate, rate, now)
        b.refill(now)
        return b

    def _forget_full(self, now: float) -> None:
        for k, b in list(self._buckets.items()):
            b.refill(now)
            if b.tokens >= b.rate:
                del self._buckets[k]

    def take(self, key_id: str, key_rate: float | None, tenant_id: str) -> Verdict | None:
        """Take a token for one request of ``key_id`` (its own rate, or None: the default) of
        ``tenant_id`` from both buckets, or from neither when either is empty; None when
        neither is limited."""
        now, rate = self.clock(), self.per_key if key_rate is None else key_rate
        buckets = {kind: self._bucket(kind, name, r, now)
                   for kind, name, r in (("API key", key_id, rate), ("tenant", tenant_id, self.per_tenant)) if r > 0}
        if not buckets:
            return None
        wait = max(b.wait() for b in buckets.values())
        for b in buckets.values() if wait == 0 else ():
            b.tokens -= 1
        by = max(buckets, key=lambda kind: buckets[kind].wait()) if wait else min(buckets, key=lambda k: buckets[k].tokens)
        tight = buckets[by]
        return Verdict(wait == 0, by, tight.rate, max(0, math.floor(tight.tokens)), tight.reset(), wait)


def middleware(limiter: Limiter) -> Callable:
    """Limits every request that carries a principal (after ``auth``); its answer, an error
    included, says where the caller stands."""

    @web.middleware
    async def limit(request: web.Request, handler: Callable) -> web.StreamResponse:
        who = request.get(PRINCIPAL)
        verdict = limiter.take(who.key_id, who.rate, who.tenant_id) if who is not None else None
        if verdict is None:
            return await handler(request)
        if not verdict.allowed:
            err = ApiError(429, "rate_limited", f"more than {verdict.limit:g} requests per second for this {verdict.by}; "
                                                f"retry in {verdict.headers()['Retry-After']} s")
            return error_response(request, err, verdict.headers())
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(request, exc)
        response.headers.update(verdict.headers())
        return response

    return limit
