"""``profile360 status [--json]``: the pipeline's state (``profile360.status``), the API's
readiness and the worker group's health, as a table or as one JSON object.

- API: ``GET /readyz`` at ``API_BIND`` (a wildcard host is asked on the loopback), within
  3 s: its HTTP status and ``status`` (ready, busy, stalled, unavailable), or ``unreachable``.
- Worker: the live consumer group as Kafka describes it: ``up`` when it is stable with at
  least one member, ``rebalancing`` while it rebalances, ``down`` when it has no member (no
  worker runs, whatever the positions say); with the newest ``lastAppliedAt`` over the partitions.

Exit code 0 once the state was read (Kafka and PostgreSQL answered), whatever the health says:
the health is for the reader; a script checks ``--json``'s ``api.status`` and ``worker.health``.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
import asyncpg
import orjson

from profile360 import status
from profile360.settings import Settings
from profile360.worker import progress

HTTP_TIMEOUT = 3.0
KAFKA_TIMEOUT = 10.0
_COLUMNS = ("topic", "partition", "position", "endOffset", "lag", "lastAppliedAt")
_HEADINGS = ("topic", "partition", "position", "end offset", "lag", "last applied")


async def report(settings: Settings) -> dict[str, Any]:
    """Everything ``status`` shows, as the ``--json`` object."""
    bounds = await asyncio.wait_for(status.log_bounds(settings), KAFKA_TIMEOUT)
    conn = await asyncpg.connect(settings.database_url)
    try:
        state = await status.pipeline_state(settings, conn, bounds)
    finally:
        await conn.close()
    body = state.to_json()
    api, worker = await asyncio.gather(api_health(settings), worker_health(settings, body))
    return {**body, "api": api, "worker": worker}


def api_url(settings: Settings) -> str:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.api_host, settings.api_host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.api_port}/readyz"


async def api_health(settings: Settings) -> dict[str, Any]:
    url = api_url(settings)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT)) as session:
            async with session.get(url) as resp:
                body = await resp.json(content_type=None)
                return {"url": url, "httpStatus": resp.status, "status": body.get("status", "?")}
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        return {"url": url, "httpStatus": None, "status": f"unreachable ({type(exc).__name__}: {exc or 'no answer'})"}


async def worker_health(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    state, members = await asyncio.wait_for(progress.group_state(settings, settings.consumer_group), KAFKA_TIMEOUT)
    health = "up" if state == "Stable" and members else "rebalancing" if "Rebalance" in state else "down"
    applied = [t["lastAppliedAt"] for t in body["topics"] if t["lastAppliedAt"]]
    return {"group": settings.consumer_group, "state": state, "members": members, "health": health,
            "lastAppliedAt": max(applied) if applied else None}


def render(rep: dict[str, Any]) -> str:
    """The report as a table of partitions, then one line each for the rest."""
    rows = [_HEADINGS] + [tuple("-" if t[c] is None else str(t[c]) for c in _COLUMNS) for t in rep["topics"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADINGS))]
    lines = ["  ".join(cell.rjust(w) if 0 < i < 5 else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             .rstrip() for r in rows]
    lag = sum(t["lag"] for t in rep["topics"])
    api, worker = rep["api"], rep["worker"]
    lines += ["", f"total lag      {lag}", f"dead letters   {rep['deadLetters']}", f"generation     {rep['generation']}",
              f"api            {api['status']} ({api['url']}{'' if api['httpStatus'] is None else ', HTTP ' + str(api['httpStatus'])})",
              f"worker         {worker['health']}: group {worker['group']} {worker['state']}, {worker['members']} member(s), "
              f"last applied {worker['lastAppliedAt'] or 'never'}",
              f"checked at     {rep['checkedAt']}"]
    return "\n".join(lines)


async def run_status(settings: Settings, as_json: bool) -> int:
    rep = await report(settings)
    sys.stdout.write(orjson.dumps(rep).decode() + "\n" if as_json else render(rep) + "\n")
    return 0
