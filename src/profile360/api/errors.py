"""One JSON error format for every route: ``{"error": {"status", "code", "message", "field"?}}``;
under seed 000's ``/{locale}/api/customer360`` the same object beside the seed's ``result``
envelope (``envelope.py``)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable

import orjson
from aiohttp import web

from profile360.api import envelope

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


def _default(value: object) -> object:
    if isinstance(value, datetime):
        utc = value.astimezone(timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(data: object, status: int = 200) -> web.Response:
    """``data`` as JSON; ``datetime`` values as ISO 8601 UTC with milliseconds and ``Z``."""
    body = orjson.dumps(data, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    return web.Response(body=body, status=status, content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(request, exc, {"Retry-After": "1"} if exc.status == 503 else {})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        # 405 names the methods the route has (RFC 9110)
        return error_response(request, ApiError(exc.status, code, exc.reason),
                              {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {})
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, ApiError(500, "internal_error", "internal error"), {})


def error_response(request: web.Request, err: ApiError, headers: dict[str, str]) -> web.Response:
    """The answer for ``err``: its ``error`` object, and on the Customer 360 module's paths
    also seed 000's envelope (``data: null``, the message, the status, the locale)."""
    body = err.body()
    in_module, locale = envelope.module_locale(request.path)
    if in_module:
        body.update(envelope.result(None, err.message, err.status, locale))
    response = json_response(body, err.status)
    response.headers.update(headers)
    return response
