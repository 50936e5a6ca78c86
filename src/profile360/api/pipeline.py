"""``GET /api/v1/status``: the pipeline's state (``profile360.status``) for any key that reads,
whatever its tenant (it says nothing about any tenant's data). Kafka's offsets are read at
most once a second per process (the console polls); the stored positions on every call, from
the primary (a replica would show them late). Kafka not answering within 2 s is a 503
``kafka_unavailable``."""
from __future__ import annotations

import asyncio
import time

from aiohttp import web

from profile360 import status
from profile360.api.errors import ApiError, json_response
from profile360.api.keys import PRIMARY, SETTINGS
from profile360.settings import Settings

KAFKA_TIMEOUT = 2.0
MAX_AGE = 1.0


class Bounds:
    """The log bounds of the last second (``status.log_bounds``)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.at = float("-inf")
        self.last: tuple[dict, dict] = ({}, {})

    async def get(self, settings: Settings) -> tuple[dict, dict]:
        async with self.lock:
            if time.monotonic() - self.at >= MAX_AGE:
                try:
                    self.last = await asyncio.wait_for(status.log_bounds(settings), KAFKA_TIMEOUT)
                except asyncio.TimeoutError:
                    raise ApiError(503, "kafka_unavailable", f"Kafka did not answer within {KAFKA_TIMEOUT:.0f} s; "
                                                             "retry shortly") from None
                self.at = time.monotonic()
            return self.last


BOUNDS = web.AppKey("status_bounds", Bounds)


async def status_handler(request: web.Request) -> web.Response:
    bounds = await request.app[BOUNDS].get(request.app[SETTINGS])
    async with request.app[PRIMARY].acquire() as conn:
        state = await status.pipeline_state(request.app[SETTINGS], conn, bounds)
    return json_response(state.to_json())
