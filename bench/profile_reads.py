"""The unified profile under concurrent load: plain, and revalidated with ``If-None-Match``.

Plain: ``GET /api/v1/customers/{id}/unified-profile`` (every section, the default shape) of a
random one of the run's customers per request.

Revalidated (issue 12, item 3): the contract is that every profile-shaped answer carries an
``ETag`` (an entity tag: a quoted string, optionally ``W/``-prefixed), and that a request whose
``If-None-Match`` holds the current tag is answered 304 with an empty body. The probe first
fetches ``SAMPLE`` random profiles and keeps each answer's ``ETag``, then requests a random one
of them per request with ``If-None-Match`` = its tag. Nothing is written meanwhile, so every
answer should be 304. Both 304 and 200 answers count as served; the figure reports how many of
each, so a server that ignores the header shows 0 % 304 rather than an error. A 304 with a
body, or any other status, is an error. A profile whose first answer carried no valid ``ETag``
is requested without ``If-None-Match`` (there is nothing to revalidate; the row says how many).
"""
from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass

import aiohttp

from bench import api_probe, workload

SAMPLE = 1000  # profiles revalidated
ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"')  # RFC 9110 entity-tag


def profile_url(base: str, customer: str) -> str:
    return f"{base}/api/v1/customers/{customer}/unified-profile"


async def plain(base: str, headers: dict, customers: int, seed: int, seconds: float,
                concurrency: int) -> api_probe.Load:
    rnd = random.Random(seed)
    return await api_probe.drive(lambda: profile_url(base, workload.customer_id(rnd.randrange(customers))),
                                 seconds, concurrency, headers)


@dataclass
class Revalidation:
    load: api_probe.Load
    sample: int  # profiles fetched first
    tagged: int  # of which the answer carried a valid ETag

    @property
    def not_modified(self) -> float:
        """Share of the served answers that were 304."""
        return self.load.statuses[304] / self.load.requests if self.load.requests else 0.0

    def detail(self) -> str:
        n304, n200 = self.load.statuses[304], self.load.statuses[200]
        text = (f"304 for {self.not_modified:.1%} of answers ({n304:,} × 304, {n200:,} × 200); "
                f"ETag on {self.tagged:,} of {self.sample:,} first answers")
        return text + ("; none had one, so no If-None-Match was sent" if not self.tagged else "")


def conditional(status: int, body: bytes) -> str | None:
    """A revalidated request's answer: 304 with no body, or 200; anything else is an error."""
    if status == 304:
        return f"304 with a {len(body)}-byte body" if body else None
    return api_probe.only_200(status, body)


async def etags(base: str, headers: dict, customers: list[str], concurrency: int) -> dict[str, str]:
    """Each customer's unified profile once; the valid ``ETag`` of each answer that has one."""
    found: dict[str, str] = {}
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as http:
        async def one(customer: str) -> None:
            async with gate, http.get(profile_url(base, customer)) as resp:
                await resp.read()
                tag = resp.headers.get("ETag", "")
                if resp.status == 200 and ENTITY_TAG.fullmatch(tag):
                    found[customer] = tag
        await asyncio.gather(*(one(c) for c in customers))
    return found


async def revalidated(base: str, headers: dict, customers: int, seed: int, seconds: float,
                      concurrency: int) -> Revalidation:
    rnd = random.Random(seed)
    sample = [workload.customer_id(r) for r in rnd.sample(range(customers), min(SAMPLE, customers))]
    tags = await etags(base, headers, sample, concurrency)

    def request() -> tuple[str, dict]:
        customer = rnd.choice(sample)
        return profile_url(base, customer), ({"If-None-Match": tags[customer]} if customer in tags else {})

    load = await api_probe.drive(request, seconds, concurrency, headers, check=conditional)
    return Revalidation(load, len(sample), len(tags))
