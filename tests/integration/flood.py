"""A flood of requests from a process of its own, so that it can load the API as hard as it
likes without slowing the test's own clients: ``python -m tests.integration.flood URL KEY
CLIENTS`` sends GET ``URL`` with the API key on CLIENTS connections, each the next as soon as
the last is answered, prints ``ready`` once every connection has been answered once, and on
SIGTERM prints one JSON line: ``statuses`` (status → answers; a 503 as "503 <its error code>"), ``seconds`` flooded, the
headers and body of one 429, and the highest ``RateLimit-Remaining`` of a 200."""
from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter

import aiohttp
import orjson


async def _client(session: aiohttp.ClientSession, url: str, stop: asyncio.Event, out: dict) -> None:
    while not stop.is_set():
        try:
            async with session.get(url) as resp:
                body = await resp.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            out["statuses"][type(exc).__name__] += 1
            continue
        code = orjson.loads(body)["error"]["code"] if resp.status == 503 else ""
        out["statuses"][f"{resp.status} {code}".strip()] += 1  # a 503 with its code: "503 overloaded"
        if resp.status == 429 and "refused" not in out:
            out["refused"] = {"headers": {str(k): v for k, v in resp.headers.items()}, "body": orjson.loads(body)}
        if resp.status == 200:
            out["remaining"] = max(out["remaining"], int(resp.headers.get("RateLimit-Remaining", -1)))


async def _once(session: aiohttp.ClientSession, url: str) -> None:
    async with session.get(url) as resp:
        await resp.read()


async def main(url: str, key: str, clients: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    out: dict = {"statuses": Counter(), "remaining": -1}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {key}"}) as session:
        await asyncio.gather(*(_once(session, url) for _ in range(clients)))  # every connection open
        print("ready", flush=True)
        started = time.monotonic()
        await asyncio.gather(*(_client(session, url, stop, out) for _ in range(clients)))
    out["seconds"], out["statuses"] = time.monotonic() - started, dict(out["statuses"])
    print(orjson.dumps(out).decode(), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
