"""HTTP API load: the real app (``python -m profile360 api``) and a trivial aiohttp endpoint
returning ``{"ok": true}`` (``python -m bench.api_probe PORT``), each in its own process on
loopback, driven from this process by an aiohttp client.

Measured per endpoint: requests/s over a fixed window with a fixed number of concurrent
request loops, and the p50/p99 latency (ms) of the requests completed in it. Every response
must be 200 (or pass the caller's ``check``); other statuses and exceptions are counted as errors.

The app runs with an explicit ``--processes N`` (``profile360 api`` defaults to one process per
core, ``P360_API_PROCESSES``): the figures of the bench table are one API process unless their
label says otherwise, and a pass with N processes starts only once all N answer.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from bench import services
from profile360.devstack import free_port
from profile360.settings import Settings


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    first_error: str = ""
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> answers that passed the check


    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


#: what a request loop sends: a fixed URL, or a function giving the next URL, or the next
#: (URL, extra headers) pair
Target = str | Callable[[], str | tuple[str, dict]]
#: ``check(status, body)``: None if the answer counts, else the error to report
Check = Callable[[int, bytes], str | None]


def only_200(status: int, body: bytes) -> str | None:
    return None if status == 200 else f"HTTP {status}"


def _next(target: Target, headers: dict) -> tuple[str, dict]:
    got = target() if callable(target) else target
    return (got, headers) if isinstance(got, str) else (got[0], {**headers, **got[1]})


async def _loop(session: aiohttp.ClientSession, target: Target, headers: dict, deadline: float, latencies: list[float],
                errors: list[str], statuses: Counter, check: Check) -> None:
    while time.perf_counter() < deadline:
        url, sent = _next(target, headers)
        t0 = time.perf_counter()
        try:
            async with session.get(url, headers=sent) as resp:
                problem = check(resp.status, await resp.read())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            errors.append(problem)
            continue
        latencies.append(time.perf_counter() - t0)
        statuses[resp.status] += 1


async def drive(url: Target, seconds: float, concurrency: int, headers: dict | None = None,
                check: Check = only_200) -> Load:
    """``concurrency`` request loops against ``url`` (or a new URL, or URL and extra headers,
    from ``url()`` per request) for ``seconds`` (after a short warm-up)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = headers or {}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await _loop(session, url, headers, time.perf_counter() + 0.3, [], [], Counter(), check)
        latencies: list[float] = []
        errors: list[str] = []
        statuses: Counter = Counter()
        t0 = time.perf_counter()
        await asyncio.gather(*(_loop(session, url, headers, t0 + seconds, latencies, errors, statuses, check)
                               for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return Load(len(latencies), len(errors), elapsed, percentile(latencies, 0.50) * 1000,
                percentile(latencies, 0.99) * 1000, errors[0] if errors else "", statuses)


async def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start_app(settings: Settings, port: int, processes: int = 1) -> subprocess.Popen:
    """``profile360 api --processes N`` on loopback ``port`` (N explicit: the command's default
    is one process per core), without request-rate limits: the bench's one key measures what
    the process can serve."""
    env = {**services.worker_env(settings), "API_BIND": f"127.0.0.1:{port}", "P360_RATE_LIMIT_PER_KEY": "0",
           "P360_RATE_LIMIT_PER_TENANT": "0"}
    return subprocess.Popen([sys.executable, "-m", "profile360", "api", "--processes", str(processes)], env=env,
                            cwd=services.REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_serving(base: str, proc: subprocess.Popen, processes: int, timeout: float = 60) -> None:
    """Return once ``/healthz`` has answered from ``processes`` distinct pids (each process of
    ``--processes N`` starts on its own time: a pass measured earlier would run on fewer)."""
    await wait_http(f"{base}/healthz", proc, timeout)
    deadline, pids = time.perf_counter() + timeout, set()
    while len(pids) < processes:
        if proc.poll() is not None or time.perf_counter() > deadline:
            raise RuntimeError(f"{len(pids)} of {processes} API processes answered (exit code {proc.poll()})")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            async with session.get(f"{base}/healthz") as resp:  # a new connection: any listening process
                pids.add((await resp.json())["pid"])
        await asyncio.sleep(0.02)


@asynccontextmanager
async def serving_app(settings: Settings, processes: int = 1) -> AsyncIterator[str]:
    """The app with ``processes`` API processes, all answering; yields its base URL."""
    port = free_port()
    proc = start_app(settings, port, processes)
    try:
        await wait_serving(f"http://127.0.0.1:{port}", proc, processes)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def start_trivial(port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bench.api_probe", str(port)], cwd=services.REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def app_targets(tenant: str, hot_customer: str) -> list[tuple[str, str, str]]:
    """(key, label, path) of the app requests measured; ``key`` names the figure for the goals
    table (``bench.goals``), the label is the row's (never renamed: runs compare by label)."""
    return [("history_newest", "history, tenant newest 20", "/api/v1/interaction-history?limit=20"),
            ("history_hot", f"history, hot customer {hot_customer}",
             f"/api/v1/interaction-history?limit=20&customerId={hot_customer}"),
            ("summary_action", "summary groupBy=action", "/api/v1/interaction-summary?groupBy=action"),
            ("summary_treatment", "summary groupBy=treatment", "/api/v1/interaction-summary?groupBy=treatment"),
            ("summary_channel", "summary groupBy=channel", "/api/v1/interaction-summary?groupBy=channel"),
            ("summary_customer", "summary groupBy=customer (first page, id order)",
             "/api/v1/interaction-summary?groupBy=customer"),
            ("summary_customer_total", "summary groupBy=customer&sort=total (ranks all)",
             "/api/v1/interaction-summary?groupBy=customer&sort=total")]


def with_processes(key: str, label: str, processes: int) -> tuple[str, str]:
    """Key and label of a figure measured with ``processes`` API processes (one: unchanged)."""
    return (key, label) if processes == 1 else (f"{key}@{processes}", f"{label} ({processes} API processes)")


async def auth_headers(settings: Settings, tenant: str) -> dict[str, str]:
    """Headers of a fresh admin API key of ``tenant`` (the API needs one on every route)."""
    import asyncpg

    from profile360.store import api_keys

    conn = await asyncpg.connect(settings.database_url)
    try:
        return {"Authorization": f"Bearer {await api_keys.create(conn, tenant, 'admin', 'bench')}"}
    finally:
        await conn.close()


async def run(settings: Settings, tenant: str, hot_customer: str, seconds: float, concurrency: int = 16,
              processes: tuple[int, ...] = (1,)) -> list[tuple[str, str, Load]]:
    """(key, label, load): the trivial endpoint first, then each app request, one after another,
    once per entry of ``processes`` (the app restarted with that many API processes)."""
    results = []
    port = free_port()
    proc = start_trivial(port)
    try:
        await wait_http(f"http://127.0.0.1:{port}/", proc)
        results.append(("trivial", "trivial aiohttp {\"ok\": true}",
                        await drive(f"http://127.0.0.1:{port}/", seconds, concurrency)))
    finally:
        stop(proc)
    for n in processes:
        async with serving_app(settings, n) as base:
            headers = await auth_headers(settings, tenant)
            for key, label, path in app_targets(tenant, hot_customer):
                results.append((*with_processes(key, label, n), await drive(base + path, seconds, concurrency, headers)))
    return results


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def serve_trivial(port: int) -> None:
    app = web.Application()
    app.router.add_get("/", _ok)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    serve_trivial(int(sys.argv[1]))
