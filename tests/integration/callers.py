"""Callers of a running API during a fault: concurrent clients that read in a loop and tally
what they were answered, so a test can assert that nobody saw a 500 or a dropped connection,
only answers and 503s with the right code and ``Retry-After``."""
from __future__ import annotations

import asyncio
import collections
from typing import Any

import aiohttp


class Callers:
    """``clients`` readers over ``paths`` round-robin.

    ``tally`` counts ``(method, status, error code)``; ``dropped`` counts requests that got no
    HTTP answer; ``missing_retry_after`` counts 503s without the header. A client that is
    answered 503 waits 0.1 s before its next request, as a caller honouring ``Retry-After``
    at a smaller scale would.
    """

    def __init__(self, base_url: str, key: str, paths: list[str], clients: int = 20):
        self.base_url, self.paths, self.clients = base_url, paths, clients
        self.headers = {"Authorization": f"Bearer {key}"}
        self.tally: collections.Counter = collections.Counter()
        self.dropped: list[str] = []
        self.missing_retry_after = 0
        self.stopping = asyncio.Event()

    async def __aenter__(self) -> "Callers":
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.tasks = [asyncio.create_task(self._read(i)) for i in range(self.clients)]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks)
        await self.session.close()

    def answered(self, status: int) -> int:
        return sum(n for (_, s, _), n in self.tally.items() if s == status)

    def errors(self) -> dict:
        """Every answer that is neither 2xx nor a 503 naming an unavailable dependency."""
        ok = {"database_unavailable", "kafka_unavailable"}
        return {k: n for k, n in self.tally.items() if not (200 <= k[1] < 300 or (k[1] == 503 and k[2] in ok))}

    async def _read(self, i: int) -> None:
        n = i
        while not self.stopping.is_set():
            await self._call("GET", self.paths[n % len(self.paths)])
            n += 1

    async def _call(self, method: str, path: str, **kwargs: Any) -> None:
        try:
            async with self.session.request(method, self.base_url + path, headers=self.headers, **kwargs) as resp:
                body = await resp.json(content_type=None) if resp.status >= 400 else None
                code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
                self.tally[(method, resp.status, code)] += 1
                if resp.status == 503:
                    self.missing_retry_after += "Retry-After" not in resp.headers
                    await asyncio.sleep(0.1)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.dropped.append(f"{method} {path}: {type(exc).__name__}: {exc}")
