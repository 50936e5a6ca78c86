"""One JSON error format for every route: ``{"error": {"status", "code", "message", "field"?}}``;
under seed 000's ``/{locale}/api/customer360`` the same object beside the seed's ``result``
envelope (``envelope.py``).

Status codes: 4xx for the caller's mistakes; 503 with ``Retry-After`` when a dependency is
away (``database_unavailable``, ``kafka_unavailable``, the cause in the message), when the
process is at capacity (``overloaded``) or a query ran past its timeout (``query_timeout``,
see ``limits``), or a write is not applied yet; 500 (``internal_error``) only for bugs. A read (GET/HEAD) that meets a
connection broken under it (a PostgreSQL restart leaves every pooled connection dead) is
answered once more on fresh connections (of the replica's pool and the primary's) before it
is given up as 503.
"""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

import asyncpg
from aiohttp import web

from profile360 import jsonfmt
from profile360.api import envelope
from profile360.api.keys import POOL, PRIMARY, SETTINGS
from profile360.api.limits import Overloaded
from profile360.outages import database_down, describe, kafka_down

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict:
        err = {"status": self.status, "code": self.code, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        return {"error": err}


def bad_param(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{field}: {message}", field)


def json_response(data: object, status: int = 200) -> web.Response:
    """``data`` as JSON; ``datetime`` values as ISO 8601 UTC with milliseconds and ``Z``."""
    body = jsonfmt.dumps(data)
    return web.Response(body=body, status=status, content_type="application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def unavailable(exc: BaseException) -> ApiError | None:
    """The 503 for an outage of PostgreSQL or Kafka, else None."""
    if database_down(exc):
        return ApiError(503, "database_unavailable", f"the database is unavailable ({describe(exc)}); retry shortly")
    if kafka_down(exc):
        return ApiError(503, "kafka_unavailable", f"Kafka is unavailable ({describe(exc)}); retry shortly")
    return None


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Exception as exc:
        if request.method not in ("GET", "HEAD") or isinstance(exc, Overloaded) or not database_down(exc) \
                or POOL not in request.app:
            raise
        log.info("%s %s met a broken database connection (%s); answering once more on fresh ones",
                 request.method, request.path, describe(exc))
        for pool in {id(p): p for p in (request.app[POOL], request.app[PRIMARY])}.values():
            await pool.expire_connections()
        return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await _answer(request, handler)
    except ApiError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        # 405 names the methods the route has (RFC 9110)
        return error_response(request, ApiError(exc.status, code, exc.reason),
                              {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {})
    except Overloaded as exc:
        return error_response(request, ApiError(503, "overloaded", f"the service is at capacity ({exc}); retry shortly"))
    except asyncpg.exceptions.QueryCanceledError:
        return error_response(request, ApiError(
            503, "query_timeout", f"the query ran longer than {request.app[SETTINGS].statement_timeout_ms} ms and was "
            "cancelled; retry shortly, or narrow the request"))
    except Exception as exc:
        outage = unavailable(exc)
        if outage is not None:
            log.warning("%s %s: %s", request.method, request.path, outage.message)
            return error_response(request, outage)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, ApiError(500, "internal_error", "internal error"))


def shed(request: web.Request) -> web.Response:
    """The answer to a request refused because the process has too many in flight."""
    return error_response(request, ApiError(503, "overloaded", "the service is at capacity (too many requests in "
                                                               "flight); retry shortly"))


def error_response(request: web.Request, err: ApiError, headers: dict[str, str] | None = None) -> web.Response:
    """The answer for ``err``: its ``error`` object, and on the Customer 360 module's paths
    also seed 000's envelope (``data: null``, the message, the status, the locale); a 503
    carries ``Retry-After``."""
    body = err.body()
    in_module, locale = envelope.module_locale(request.path)
    if in_module:
        body.update(envelope.result(None, err.message, err.status, locale))
    response = json_response(body, err.status)
    response.headers.update(headers or {})
    if err.status == 503:
        response.headers["Retry-After"] = "1"
    return response
