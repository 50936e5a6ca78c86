"""``python -m bench.metrics_cost``: what the API's metrics middleware costs per request, alone.

The middleware (``profile360.api.metrics``) around a handler that does nothing, called in a
loop in-process, against the handler alone. Run it once as is (one process's registry) and
once with ``PROMETHEUS_MULTIPROC_DIR`` set to an empty directory (the mode of ``profile360 api
--processes N``: every update is an mmap write)."""
from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from profile360.api import metrics

CALLS = 50_000


async def _nothing(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def main() -> None:
    measured = metrics.ApiMetrics()
    measure = metrics.middleware(measured)
    app = web.Application()
    app.router.add_get("/api/v1/customers/{id}/unified-profile", _nothing)
    request = make_mocked_request("GET", "/api/v1/customers/C1/unified-profile", app=app)
    request._match_info = await app.router.resolve(request)
    started = time.perf_counter()
    for _ in range(CALLS):
        await _nothing(request)
    alone = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(CALLS):
        await measure(request, _nothing)
    wrapped = time.perf_counter() - started
    print(f"multiprocess mode: {measured.multiprocess}; handler alone {alone / CALLS * 1e6:.1f} µs, with the metrics "
          f"middleware {wrapped / CALLS * 1e6:.1f} µs: {(wrapped - alone) / CALLS * 1e6:.1f} µs per request")


if __name__ == "__main__":
    asyncio.run(main())
