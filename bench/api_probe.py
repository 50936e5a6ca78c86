"""HTTP API load: the real app (``python -m profile360 api``) and a trivial aiohttp endpoint
returning ``{"ok": true}`` (``python -m bench.api_probe PORT``), each in its own process on
loopback, driven from this process by an aiohttp client.

Measured per endpoint: requests/s over a fixed window with a fixed number of concurrent
request loops, and the p50/p99 latency (ms) of the requests completed in it. Every response
must be 200; other statuses and exceptions are counted as errors.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

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

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def _loop(session: aiohttp.ClientSession, url: str | Callable[[], str], headers: dict, deadline: float,
                latencies: list[float], errors: list[str]) -> None:
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        try:
            async with session.get(url() if callable(url) else url, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors.append(f"HTTP {resp.status}")
                    continue
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - t0)


async def drive(url: str | Callable[[], str], seconds: float, concurrency: int, headers: dict | None = None) -> Load:
    """``concurrency`` request loops against ``url`` (or a new URL from ``url()`` per request)
    for ``seconds`` (after a short warm-up)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await _loop(session, url, headers or {}, time.perf_counter() + 0.3, [], [])
        latencies: list[float] = []
        errors: list[str] = []
        t0 = time.perf_counter()
        await asyncio.gather(*(_loop(session, url, headers or {}, t0 + seconds, latencies, errors)
                               for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return Load(len(latencies), len(errors), elapsed, percentile(latencies, 0.50) * 1000,
                percentile(latencies, 0.99) * 1000, errors[0] if errors else "")


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


def start_app(settings: Settings, port: int) -> subprocess.Popen:
    env = {**services.worker_env(settings), "API_BIND": f"127.0.0.1:{port}"}
    return subprocess.Popen([sys.executable, "-m", "profile360", "api"], env=env, cwd=services.REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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


def app_targets(tenant: str, hot_customer: str) -> list[tuple[str, str]]:
    """(label, path) of the app requests measured."""
    return [("history, tenant newest 20", "/api/v1/interaction-history?limit=20"),
            (f"history, hot customer {hot_customer}", f"/api/v1/interaction-history?limit=20&customerId={hot_customer}"),
            ("summary groupBy=action", "/api/v1/interaction-summary?groupBy=action"),
            ("summary groupBy=customer (first page, id order)", "/api/v1/interaction-summary?groupBy=customer"),
            ("summary groupBy=customer&sort=total (ranks all)", "/api/v1/interaction-summary?groupBy=customer&sort=total")]


async def auth_headers(settings: Settings, tenant: str) -> dict[str, str]:
    """Headers of a fresh admin API key of ``tenant`` (the API needs one on every route)."""
    import asyncpg

    from profile360.store import api_keys

    conn = await asyncpg.connect(settings.database_url)
    try:
        return {"Authorization": f"Bearer {await api_keys.create(conn, tenant, 'admin', 'bench')}"}
    finally:
        await conn.close()


async def run(settings: Settings, tenant: str, hot_customer: str, seconds: float,
              concurrency: int = 16) -> list[tuple[str, Load]]:
    """Trivial endpoint first, then each app request, one after another."""
    results = []
    port = free_port()
    proc = start_trivial(port)
    try:
        await wait_http(f"http://127.0.0.1:{port}/", proc)
        results.append(("trivial aiohttp {\"ok\": true}", await drive(f"http://127.0.0.1:{port}/", seconds, concurrency)))
    finally:
        stop(proc)
    port = free_port()
    proc = start_app(settings, port)
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        headers = await auth_headers(settings, tenant)
        for label, path in app_targets(tenant, hot_customer):
            load = await drive(f"http://127.0.0.1:{port}{path}", seconds, concurrency, headers)
            results.append((label, load))
    finally:
        stop(proc)
    return results


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def serve_trivial(port: int) -> None:
    app = web.Application()
    app.router.add_get("/", _ok)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    serve_trivial(int(sys.argv[1]))
