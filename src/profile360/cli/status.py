"""``profile360 status [--json]``: the pipeline's state (``profile360.status``), the API's
readiness and the worker group's health, as a table or as one JSON object.

- API: ``GET /readyz`` at ``API_BIND`` (a wildcard host is asked on the loopback), within
  3 s: its HTTP status and ``status`` (ready, busy, stalled, unavailable), or ``unreachable``.
- Worker: the live consumer group as Kafka describes it: ``up`` when it is stable with at
  least one member, ``rebalancing`` while it rebalances, ``down`` when it has no member (no
  worker runs, whatever the positions say); with the newest ``lastAppliedAt`` over the partitions.

Exit code 0 once the state was read (Kafka and PostgreSQL answered), whatever the health says:
the health is for the reader; a script checks ``--json``'s ``api.status`` and ``worker.health``.
When Kafka or PostgreSQL is away (``outages``), the report says which (``unavailable``) in
place of the partitions, still shows the API's and the worker's health as far as they can be
read, and the exit code is 1; no traceback.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
import sys
from typing import Any, Awaitable, TypeVar

import aiohttp
import asyncpg
import orjson

from profile360 import outages, status
from profile360.jsonfmt import timestamp
from profile360.settings import Settings
from profile360.worker import progress

HTTP_TIMEOUT = 3.0
DEPENDENCY_TIMEOUT = 10.0  # each read of Kafka or PostgreSQL
T = TypeVar("T")
_COLUMNS = ("topic", "partition", "position", "endOffset", "lag", "lastAppliedAt")
_HEADINGS = ("topic", "partition", "position", "end offset", "lag", "last applied")


class _Away(Exception):
    """Kafka or PostgreSQL is away: ``str()`` says which and why."""


async def _reading(what: str, step: Awaitable[T], timeout: float = DEPENDENCY_TIMEOUT) -> T:
    try:
        return await asyncio.wait_for(step, timeout)
    except Exception as exc:
        if outages.outage(exc):
            raise _Away(f"{what}: {outages.describe(exc)}") from exc
        raise


async def report(settings: Settings) -> dict[str, Any]:
    """Everything ``status`` shows, as the ``--json`` object: the pipeline's state, or
    ``{"unavailable": "<what is away and why>"}`` in its place during an outage."""
    try:
        body = await _pipeline(settings)
    except _Away as exc:
        body = {"unavailable": str(exc), "topics": [], "checkedAt": timestamp(datetime.now(timezone.utc))}
    api, worker = await asyncio.gather(api_health(settings), worker_health(settings, body))
    return {**body, "api": api, "worker": worker}


async def _pipeline(settings: Settings) -> dict[str, Any]:
    bounds = await _reading("Kafka", status.log_bounds(settings))
    conn = await _reading("PostgreSQL", asyncpg.connect(settings.database_url))
    try:
        return (await _reading("PostgreSQL", status.pipeline_state(settings, conn, bounds))).to_json()
    finally:
        await conn.close()


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
    try:
        state, members = await _reading("Kafka", progress.group_state(settings, settings.consumer_group))
        health = "up" if state == "Stable" and members else "rebalancing" if "Rebalance" in state else "down"
    except _Away as exc:
        state, members, health = f"unknown ({exc})", 0, "unknown"
    applied = [t["lastAppliedAt"] for t in body["topics"] if t["lastAppliedAt"]]
    return {"group": settings.consumer_group, "state": state, "members": members, "health": health,
            "lastAppliedAt": max(applied) if applied else None}


def render(rep: dict[str, Any]) -> str:
    """The report as a table of partitions, then one line each for the rest."""
    rows = [_HEADINGS] + [tuple("-" if t[c] is None else str(t[c]) for c in _COLUMNS) for t in rep["topics"]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADINGS))]
    lines = ["  ".join(cell.rjust(w) if 0 < i < 5 else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             .rstrip() for r in rows]
    api, worker = rep["api"], rep["worker"]
    if "unavailable" in rep:
        lines = [f"unavailable    {rep['unavailable']}"]
    else:
        lines += ["", f"total lag      {sum(t['lag'] for t in rep['topics'])}", f"dead letters   {rep['deadLetters']}",
                  f"generation     {rep['generation']}"]
    lines += [
              f"api            {api['status']} ({api['url']}{'' if api['httpStatus'] is None else ', HTTP ' + str(api['httpStatus'])})",
              f"worker         {worker['health']}: group {worker['group']} {worker['state']}, {worker['members']} member(s), "
              f"last applied {worker['lastAppliedAt'] or 'never'}",
              f"checked at     {rep['checkedAt']}"]
    return "\n".join(lines)


async def run_status(settings: Settings, as_json: bool) -> int:
    rep = await report(settings)
    sys.stdout.write(orjson.dumps(rep).decode() + "\n" if as_json else render(rep) + "\n")
    return 1 if "unavailable" in rep else 0
