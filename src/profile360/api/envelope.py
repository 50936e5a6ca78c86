"""Seed 000's answer envelope, ``{"result": {"data", "message", "status", "locale"}}``: every
answer under ``/{locale}/api/customer360`` has it, errors included (``errors.py`` adds it
beside the one ``error`` object, so a client of the seed and a client of the other routes
both find what they read)."""
from __future__ import annotations

import re
from typing import Any

#: ``en``, ``ar``, ``en-US``, ...
LOCALE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")
_MODULE_PATH = re.compile(r"/([^/]+)/api/customer360(?:/.*)?")


def result(data: Any, message: str, status: int, locale: str | None) -> dict:
    return {"result": {"data": data, "message": message, "status": status, "locale": locale}}


def module_locale(path: str) -> tuple[bool, str | None]:
    """(whether ``path`` is under the Customer 360 module, its locale when a valid one)."""
    match = _MODULE_PATH.fullmatch(path)
    if match is None:
        return False, None
    return True, match[1] if LOCALE_RE.fullmatch(match[1]) else None
