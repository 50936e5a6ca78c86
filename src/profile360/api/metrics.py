"""The API's Prometheus metrics: the outermost middleware counts and times every answer, the
401s, 429s and 503s of the other middlewares included, and ``GET /metrics`` exposes them.

Labels: ``route`` is the route *template* (``/api/v1/customers/{id}``), never the raw path, so
no id becomes a label value; a path that matches no route is ``UNMATCHED``. ``method`` is one
of ``METHODS``, any other ``OTHER``. ``status`` is the answer's code; a request whose client
went away before the answer is ``499``.

``profile360 api --processes N`` runs N processes on one port, so a scrape lands on any of
them: there (``PROMETHEUS_MULTIPROC_DIR`` set by the supervisor, see ``profile360.processes``)
prometheus-client's multiprocess mode writes every process's values to that directory and
each ``/metrics`` answers the sum over all processes (the in-flight gauge: over the live
ones). A single process keeps them in a registry of its app. The metric list:
docs/operations.md.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from aiohttp import web
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector,
                               ProcessCollector, generate_latest, multiprocess, values)

UNMATCHED = "unmatched"
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CLIENT_GONE = "499"


def multiprocess_mode() -> bool:
    """Whether prometheus-client writes values to ``PROMETHEUS_MULTIPROC_DIR`` in this process
    (decided by the library when it was first imported)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class ApiMetrics:
    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        self.registry = r = CollectorRegistry()
        if not self.multiprocess:  # process metrics are per process: not summed in multiprocess mode
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
        self.requests = Counter("profile360_http_requests", "HTTP answers by route template, method and status",
                                ["route", "method", "status"], registry=r)
        self.duration = Histogram("profile360_http_request_duration_seconds", "Time from the request to its answer "
                                  "(by route template and method)", ["route", "method"], registry=r)
        self.in_flight = Gauge("profile360_http_in_flight_requests", "Requests being answered now",
                               multiprocess_mode="livesum", registry=r)

    def exposition(self) -> bytes:
        """The text exposition of every metric (summed over the processes in multiprocess mode)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed)
        return generate_latest(summed)


METRICS = web.AppKey("metrics", ApiMetrics)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def labels_of(request: web.Request) -> tuple[str, str]:
    """(route template, method) of a request, from bounded sets only."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else UNMATCHED
    return route, request.method if request.method in METHODS else OTHER


def middleware(metrics: ApiMetrics) -> Callable:
    @web.middleware
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        route, method = labels_of(request)
        status = "500"
        metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            response = await handler(request)
            status = str(response.status)
            return response
        except web.HTTPException as exc:  # a redirect, or an error no middleware turned into an answer
            status = str(exc.status)
            raise
        except asyncio.CancelledError:
            status = CLIENT_GONE
            raise
        finally:
            metrics.in_flight.dec()
            metrics.requests.labels(route, method, status).inc()
            metrics.duration.labels(route, method).observe(time.perf_counter() - started)

    return measure


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: the Prometheus text format (public, never shed)."""
    return web.Response(body=request.app[METRICS].exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
