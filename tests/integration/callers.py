"""Callers of a running API during a fault: concurrent clients that read (and optionally write)
in a loop and log what they were answered, so a test can assert that nobody saw a 500 or a
dropped connection, only answers and 503s or 429s with the right code and ``Retry-After``, and
can tell when answers came back after a fault."""
from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import aiohttp

#: the 503 codes of an unavailable dependency (the outages of test_outages)
DEPENDENCY_CODES = frozenset({"database_unavailable", "kafka_unavailable"})
REFUSED = "refused"  # no connection could be opened: nobody listens (an API that has stopped)
DROPPED = "dropped"  # a connection was opened (or reused) and closed without an answer


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer (or the failure) arrived
    method: str
    status: int  # 0: no HTTP answer (``code`` says REFUSED or DROPPED)
    code: str | None  # the error code of a 4xx/5xx body
    retry_after: bool


#: a write: (method, path, JSON body) for writer ``client``'s ``n``-th write
Write = Callable[[int, int], tuple[str, str, dict]]
WRITE_PAUSE = 0.2  # seconds a writer waits between writes


class Callers:
    """``clients`` readers over ``paths`` round-robin, and ``writers`` clients sending ``write(i, n)``.

    Every answer is appended to ``log``. A client that is answered 503 or 429 waits 0.1 s
    before its next request, as a caller honouring ``Retry-After`` at a smaller scale would;
    so does one that got no answer.
    """

    def __init__(self, base_url: str, key: str, paths: list[str], clients: int = 20,
                 write: Write | None = None, writers: int = 0):
        self.base_url, self.paths, self.clients = base_url, paths, clients
        self.write, self.writers = write, writers if write else 0
        self.headers = {"Authorization": f"Bearer {key}"}
        self.log: list[Answer] = []
        self.stopping = asyncio.Event()
        self.writing = asyncio.Event()
        self.writing.set()
        self.writes_in_flight = 0
        self.resent = 0

    async def __aenter__(self) -> "Callers":
        trace = aiohttp.TraceConfig()
        trace.on_connection_reuseconn.append(_reused)
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), trace_configs=[trace],
                                             connector=aiohttp.TCPConnector(limit=self.clients + self.writers))
        self.fresh = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                           connector=aiohttp.TCPConnector(force_close=True))
        self.tasks = [asyncio.create_task(self._read(i)) for i in range(self.clients)]
        self.tasks += [asyncio.create_task(self._write(i)) for i in range(self.writers)]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.stopping.set()
        self.writing.set()
        await asyncio.gather(*self.tasks)
        await self.session.close()
        await self.fresh.close()

    # --- what was answered ---------------------------------------------------------------

    def since(self, start: float = 0.0, end: float = float("inf")) -> list[Answer]:
        return [a for a in self.log if start <= a.at < end]

    @property
    def tally(self) -> collections.Counter:
        return tally(self.log)

    def answered(self, status: int) -> int:
        return sum(1 for a in self.log if a.status == status)

    def errors(self, codes: frozenset[str] = DEPENDENCY_CODES) -> dict:
        return errors(self.log, codes)

    @property
    def dropped(self) -> list[Answer]:
        return [a for a in self.log if a.status == 0]

    @property
    def missing_retry_after(self) -> int:
        return sum(1 for a in self.log if a.status in (429, 503) and not a.retry_after)

    def first_ok_after(self, t: float, method: str = "GET") -> float | None:
        """When the first 2xx answer to ``method`` after ``t`` arrived (``None``: none yet)."""
        return next((a.at for a in self.log if a.at >= t and a.method == method and 200 <= a.status < 300), None)

    async def hold_writes(self) -> None:
        """Stop writing; returns once no write is waiting for its answer (``resume_writes``)."""
        self.writing.clear()
        while self.writes_in_flight:
            await asyncio.sleep(0.05)

    def resume_writes(self) -> None:
        self.writing.set()

    # --- the clients ---------------------------------------------------------------------

    async def _read(self, i: int) -> None:
        n = i
        while not self.stopping.is_set():
            await self._call("GET", self.paths[n % len(self.paths)])
            n += 1

    async def _write(self, i: int) -> None:
        n = 0
        while not self.stopping.is_set():
            await self.writing.wait()
            method, path, body = self.write(i, n)
            self.writes_in_flight += 1
            try:
                await self._call(method, path, json=body)
            finally:
                self.writes_in_flight -= 1
            await asyncio.sleep(WRITE_PAUSE)
            n += 1

    async def _call(self, method: str, path: str, **kwargs: Any) -> None:
        """One request, logged. Like a conforming HTTP/1.1 client (RFC 9112 §9.3.1), a request
        (GET and PUT are idempotent) that fails on a reused keep-alive connection before any
        answer, because the server closed that connection meanwhile, is sent once more on a new
        connection; ``resent`` counts those."""
        for session in (self.session, self.fresh):
            ctx = SimpleNamespace(reused=False)
            try:
                async with session.request(method, self.base_url + path, headers=self.headers,
                                           trace_request_ctx=ctx, **kwargs) as resp:
                    body = await resp.json(content_type=None) if resp.status >= 400 else None
                    code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
                    self.log.append(Answer(time.monotonic(), method, resp.status, code, "Retry-After" in resp.headers))
                    if resp.status in (429, 503):
                        await asyncio.sleep(0.1)
                return
            except aiohttp.ClientConnectorError:
                self.log.append(Answer(time.monotonic(), method, 0, REFUSED, False))
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                if ctx.reused and session is self.session:
                    self.resent += 1
                    continue
                self._dropped(method, exc, ctx.reused)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self._dropped(method, exc, ctx.reused)
            await asyncio.sleep(0.1)
            return

    def _dropped(self, method: str, exc: BaseException, reused: bool) -> None:
        on = "a reused connection" if reused else "a new connection"
        self.log.append(Answer(time.monotonic(), method, 0, f"{DROPPED}: {type(exc).__name__} on {on}: {exc}", False))


async def _reused(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    ctx.trace_request_ctx.reused = True


def tally(answers: list[Answer]) -> collections.Counter:
    """``(method, status, code)`` → how many; a failed request counts as status 0 with its kind."""
    return collections.Counter((a.method, a.status, a.code if a.status else a.code.split(":")[0]) for a in answers)


def errors(answers: list[Answer], codes: frozenset[str]) -> dict:
    """Every answer that is neither 2xx nor a 429 or 503 whose code is in ``codes``."""
    return {k: n for k, n in tally(answers).items() if not (200 <= k[1] < 300 or (k[1] in (429, 503) and k[2] in codes))}
