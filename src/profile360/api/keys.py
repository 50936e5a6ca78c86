"""Typed keys of the aiohttp application state."""
from __future__ import annotations

import asyncpg
from aiohttp import web

from profile360.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
SCHEMA_VERSION = web.AppKey("schema_version", int)
