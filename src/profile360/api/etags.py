"""Entity tags of profile-shaped answers, and ``If-None-Match``.

A tag is weak (``W/"..."``): two answers with the same tag are the same but for ``computedAt``.
It is derived from what the answer is computed from (``store.profiles.Loaded.tag``), the
request's shape and sections, and the UTC day (sliding windows move with it), so a 304 needs
no rendering.
"""
from __future__ import annotations

import hashlib

from aiohttp import web


def make(*parts: str | bytes) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x1f")
    return f'W/"{digest.hexdigest()}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(request: web.Request, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weak comparison) or is ``*``."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    wanted = _opaque(tag)
    return any(t.strip() == "*" or _opaque(t) == wanted for t in header.split(","))


def not_modified(tag: str) -> web.Response:
    return web.Response(status=304, headers={"ETag": tag})


def tagged(response: web.StreamResponse, tag: str) -> web.StreamResponse:
    response.headers["ETag"] = tag
    return response
