"""Typed keys of the aiohttp application state.

``POOL`` is the pool reads use: the streaming replica's when ``DATABASE_READ_URL`` is set,
else the primary's. Commands wait on it too, so that what a command answers and what a read
with ``X-P360-Min-Position`` waits for is what the caller's next read sees. ``PRIMARY`` is the
primary's pool (the same object as ``POOL`` without a replica), for what must see the latest
writes: API key lookups (a new key works at once, a revoked one stops within the cache's TTL,
never later by the replica's lag) and the state a command decides from before it publishes.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from profile360.api.limits import BoundedPool
from profile360.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", BoundedPool)
PRIMARY = web.AppKey("primary_pool", BoundedPool)
SCHEMA_VERSION = web.AppKey("schema_version", int)
#: set when the process stops: every answer from then on closes its connection
STOPPING = web.AppKey("stopping", asyncio.Event)
