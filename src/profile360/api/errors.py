"""One JSON error format for every route: ``{"error": {"status", "code", "message", "field"?}}``."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable

import orjson
from aiohttp import web

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
        response = json_response(exc.body(), exc.status)
        if exc.status == 503:
            response.headers["Retry-After"] = "1"
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        response = json_response(ApiError(exc.status, code, exc.reason).body(), exc.status)
        if "Allow" in exc.headers:  # 405 names the methods the route has (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response(ApiError(500, "internal_error", "internal error").body(), 500)
