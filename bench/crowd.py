"""Many concurrent clients on the read routes (issue 13): what the API answers, how fast, and how
fast it refuses the excess.

One API process with the default limits (``P360_API_MAX_IN_FLIGHT``, the connection pool's
acquire timeout, the statement timeout) but no request-rate limit (the bench's one key would
otherwise measure the limiter), driven by ``--crowd`` request loops from this process, each
sending its next request as soon as the last is answered. Answers are split into *answered*
(200) and *shed* (429 or 503, by their JSON ``code``); anything else is an error. Callers that
honour ``Retry-After`` (``polite``) wait that long after a refusal; the others send again at once.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import orjson

from bench.api_probe import percentile


@dataclass
class Crowd:
    clients: int
    seconds: float
    answered: list[float] = field(default_factory=list)  # seconds, sorted at the end
    shed: list[float] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)  # "429 rate_limited", "503 overloaded", …
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.answered) / self.seconds if self.seconds else 0.0

    @property
    def shed_share(self) -> float:
        total = len(self.answered) + len(self.shed)
        return len(self.shed) / total if total else 0.0

    def p(self, which: str, q: float) -> float:
        return percentile(getattr(self, which), q) * 1000

    def detail(self) -> str:
        errors = f"; {len(self.errors)} errors (first: {self.errors[0]})" if self.errors else ""
        codes = ", ".join(f"{n:,} {code}" for code, n in self.codes.most_common())
        return (f"{self.clients} clients: answered p50 {self.p('answered', 0.5):.1f} ms, p99 "
                f"{self.p('answered', 0.99):.1f} ms; shed {self.shed_share:.0%} ({codes or 'none'}), shed p99 "
                f"{self.p('shed', 0.99):.1f} ms{errors}")


async def _client(session: aiohttp.ClientSession, url: str, deadline: float, out: Crowd, polite: bool) -> None:
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        try:
            async with session.get(url) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            out.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        took = time.perf_counter() - t0
        if status == 200:
            out.answered.append(took)
        elif status in (429, 503):
            out.shed.append(took)
            out.codes[f"{status} {_code(body)}"] += 1
            if polite:  # as a caller honouring Retry-After does
                await asyncio.sleep(min(float(resp.headers.get("Retry-After", "1")), max(0.0, deadline - time.perf_counter())))
        else:
            out.errors.append(f"HTTP {status}")


def _code(body: bytes) -> str:
    try:
        return orjson.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "?"


async def drive(url: str, seconds: float, clients: int, headers: dict, polite: bool = False) -> Crowd:
    """``clients`` request loops against ``url`` for ``seconds`` (after half a second of warm-up);
    ``polite`` clients wait ``Retry-After`` after a refusal, the others send again at once."""
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        warm = Crowd(clients, 0)  # half a second first: connections open, the key cached
        await asyncio.gather(*(_client(session, url, time.perf_counter() + 0.5, warm, polite) for _ in range(clients)))
        out = Crowd(clients, seconds)
        t0 = time.perf_counter()
        await asyncio.gather(*(_client(session, url, t0 + seconds, out, polite) for _ in range(clients)))
        out.seconds = time.perf_counter() - t0
    out.answered.sort()
    out.shed.sort()
    return out
