"""Query-parameter parsing: each function returns a value or raises a 400 naming the field."""
from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime

import orjson
from aiohttp import web

from profile360.api.auth import PRINCIPAL
from profile360.api.errors import bad_param
from profile360.events.rules import MAX_ID_LEN, MAX_TIME, MIN_TIME



def tenant(request: web.Request) -> str:
    """The caller's tenant: the one its API key belongs to (``api.auth``)."""
    return request[PRINCIPAL].tenant_id


MAX_PATH_ID = MAX_ID_LEN + 64  # a customer id, or type:value


def path_id(request: web.Request) -> str:
    """The ``{id}`` of a customer route: a customer id or ``type:value``."""
    value = request.match_info["id"]
    if not 0 < len(value) <= MAX_PATH_ID or "\x00" in value:
        raise bad_param("id", f"must be 1 to {MAX_PATH_ID} characters, without NUL")
    return value


def integer(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,12}", raw):
        raise bad_param(name, f"must be an integer, got {raw[:40]!r}")
    value = int(raw)
    if not lo <= value <= hi:
        raise bad_param(name, f"must be between {lo} and {hi}, got {value}")
    return value


def text(request: web.Request, *names: str, max_len: int = 256) -> str | None:
    """The first of ``names`` present (aliases), or None; rejects conflicting aliases."""
    found = {n: request.query[n] for n in names if n in request.query}
    if len(set(found.values())) > 1:
        raise bad_param(names[0], f"{' and '.join(found)} are aliases and disagree")
    if not found:
        return None
    name, value = next(iter(found.items()))
    if value == "" or len(value) > max_len or "\x00" in value:
        raise bad_param(name, f"must be 1 to {max_len} characters")
    return value


def choice(request: web.Request, name: str, options: tuple[str, ...], default: str) -> str:
    value = request.query.get(name, default)
    if value not in options:
        raise bad_param(name, f"must be one of {', '.join(options)}, got {value[:40]!r}")
    return value


def names(request: web.Request, name: str, options: tuple[str, ...]) -> list[str]:
    """A comma-separated subset of ``options`` (all of them when absent), in the order given,
    without repeats."""
    raw = request.query.get(name)
    if raw is None:
        return list(options)
    picked = list(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
    unknown = [v for v in picked if v not in options]
    if unknown or not picked:
        what = f"unknown {', '.join(repr(u[:40]) for u in unknown[:5])}" if unknown else "is empty"
        raise bad_param(name, f"{what}; valid: {', '.join(options)}")
    return picked


def _cursor_text(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LEN or "\x00" in value:
        raise ValueError("bad cursor")
    return value


def encode_cursor(occurred_at: datetime, event_id: str) -> str:
    raw = orjson.dumps([occurred_at.isoformat(), event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor(request: web.Request) -> tuple[datetime, str] | None:
    raw = request.query.get("cursor")
    if not raw:
        return None
    try:
        when, event_id = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None or not MIN_TIME <= parsed < MAX_TIME:
            raise ValueError("bad cursor")
        return parsed, _cursor_text(event_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise bad_param("cursor", "is not a cursor returned by this API") from None


def encode_key_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key])).decode().rstrip("=")


def key_cursor(request: web.Request) -> str | None:
    """The position of a page that lists ids in order (the last id served)."""
    raw = request.query.get("cursor")
    if not raw:
        return None
    try:
        (key,) = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return _cursor_text(key)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise bad_param("cursor", "is not a cursor returned by this API") from None
