"""Freshness under a steady mixed load: publish → visible in the API, p50 and p99.

A burst measures throughput, not freshness (a change waits for the whole backlog). So after the
mixed burst (``bench.people``), more of the same mix is published at a steady rate while probes
publish one change at a time and poll the API until it shows it. Two probes, each over a window
of its own (one after the other, the same rate of the same kind of mix), so that neither one's
polls load the API while the other is measured:

- **interaction**: one marker interaction of customer ``probe-freshness``; visible when
  ``GET /api/v1/interaction-history?customerId=probe-freshness&limit=1`` returns its id.
- **profile change**: an Identify that sets trait ``benchProbe`` of customer ``probe-profile``
  to a new value, and a Link of that customer id to a new device id, published together;
  visible when ``GET /api/v1/customers/probe-profile/unified-profile`` (every section, the
  default shape) shows the value in ``attributes.attributes`` and the device id in
  ``identities``. The change's time is the later of the two; each part's own time is kept.

A change's time runs from just before its publish to the first answer that shows it. Polls
follow each other 20 ms apart (each waits for its answer); a change not visible within
``DEADLINE`` seconds is counted as missed and the probe moves on to the next.
"""
from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from bench import api_probe, people, workload
from bench.report import Figure
from profile360.events.codec import Codec
from profile360.settings import Settings

TENANT = workload.TENANT
DEADLINE = 30.0  # seconds a change may take to show before it counts as missed
POLL_GAP = 0.02  # between one poll's answer and the next poll
PAUSE = 0.2  # between a change shown and the next change

Message = tuple[str, bytes, bytes]  # (topic family, key, value)


class Probe:
    """One change at a time until stopped. A subclass names its ``parts``, builds change ``i``
    (``change`` → messages) and says which parts an API answer shows (``shown``)."""

    parts: tuple[str, ...] = ()
    KEY = LABEL = ""  # the report row's key and label

    def __init__(self, settings: Settings, codec: Codec, api: str):
        self.settings, self.codec, self.api = settings, codec, api
        self.latencies: dict[str, list[float]] = defaultdict(list)  # part (and "all") -> seconds
        self.missed = 0
        self.stop = asyncio.Event()

    def what(self) -> str:
        """What the row's count counts."""
        return "changes"

    @property
    def url(self) -> str:
        raise NotImplementedError

    def change(self, i: int) -> list[Message]:
        raise NotImplementedError

    def shown(self, body: Any, i: int) -> set[str]:
        raise NotImplementedError

    async def run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=0)
        await producer.start()
        try:
            async with aiohttp.ClientSession(headers=await api_probe.auth_headers(self.settings, TENANT)) as http:
                i = 0
                while not self.stop.is_set():
                    messages = self.change(i)
                    t0 = time.perf_counter()
                    await asyncio.gather(*(producer.send_and_wait(self.settings.topic(family), value, key=key)
                                           for family, key, value in messages))
                    await self._until_shown(http, i, t0)
                    i += 1
                    await asyncio.sleep(PAUSE)
        finally:
            await producer.stop()

    async def _until_shown(self, http: aiohttp.ClientSession, i: int, t0: float) -> None:
        seen: dict[str, float] = {}
        while len(seen) < len(self.parts):
            if time.perf_counter() - t0 > DEADLINE:
                self.missed += 1
                return
            async with http.get(self.url) as resp:
                body = await resp.json() if resp.status == 200 else None
            now = time.perf_counter()
            for part in self.shown(body, i) - seen.keys():
                seen[part] = now - t0
            if len(seen) < len(self.parts):
                await asyncio.sleep(POLL_GAP)
        for part, seconds in seen.items():
            self.latencies[part].append(seconds)
        self.latencies["all"].append(max(seen.values()))

    def sorted(self, part: str = "all") -> list[float]:
        return sorted(self.latencies.get(part, []))


class InteractionProbe(Probe):
    """A marker interaction → the customer's newest history item."""

    parts = ("marker",)
    CUSTOMER = "probe-freshness"
    KEY, LABEL = "freshness", "Freshness at a steady mixed load (publish → API shows it)"

    def what(self) -> str:
        return "markers"

    def __init__(self, settings: Settings, codec: Codec, api: str):
        super().__init__(settings, codec, api)
        self._expected: dict[int, str] = {}

    @property
    def url(self) -> str:
        return f"{self.api}/api/v1/interaction-history?customerId={self.CUSTOMER}&limit=1"

    def change(self, i: int) -> list[Message]:
        rec = {"eventId": f"probe-{time.time_ns()}-{i}", "tenantId": TENANT, "customerId": self.CUSTOMER,
               "occurredAt": datetime.now(timezone.utc), "type": "impression", "metadata": {}}
        self._expected[i] = rec["eventId"]
        return [("interactions", *people.encode(self.codec, [("InteractionEvent", rec)])[0])]

    def shown(self, body: Any, i: int) -> set[str]:
        data = (body or {}).get("data")
        return {"marker"} if data and data[0]["id"] == self._expected[i] else set()


class ProfileChangeProbe(Probe):
    """A new trait value and a newly linked device id → the unified profile."""

    parts = ("trait", "link")
    CUSTOMER = "probe-profile"
    TRAIT = "benchProbe"
    KEY = "freshness_profile"
    LABEL = "Freshness of a profile change (trait + identity link → unified profile) at a steady mixed load"

    def what(self) -> str:
        return f"changes (trait alone p50/p99 {_p50_p99(self, 'trait')}, link alone {_p50_p99(self, 'link')})"

    def __init__(self, settings: Settings, codec: Codec, api: str):
        super().__init__(settings, codec, api)
        self.run_id = time.time_ns()

    @property
    def url(self) -> str:
        return f"{self.api}/api/v1/customers/{self.CUSTOMER}/unified-profile"

    def _token(self, i: int) -> str:
        return f"{self.run_id}-{i}"

    def change(self, i: int) -> list[Message]:
        token, now = self._token(i), datetime.now(timezone.utc)
        me = {"type": "customer_id", "value": self.CUSTOMER}
        identify = {"eventId": f"probe-trait-{token}", "tenantId": TENANT, "occurredAt": now, "identifiers": [me],
                    "traits": {self.TRAIT: token}, "tagsAdded": [], "tagsRemoved": [], "defaultRegion": None}
        link = {"eventId": f"probe-link-{token}", "tenantId": TENANT, "occurredAt": now, "identifier": me,
                "linkedIdentifier": {"type": "device_id", "value": f"probe-device-{token}"}, "confidence": 1.0}
        return [("identity", key, value) for key, value in people.encode(self.codec, [("Identify", identify), ("Link", link)])]

    def shown(self, body: Any, i: int) -> set[str]:
        sections = {s.get("name"): s.get("data") for s in (body or {}).get("sections", [])}
        token, parts = self._token(i), set()
        if ((sections.get("attributes") or {}).get("attributes") or {}).get(self.TRAIT) == token:
            parts.add("trait")
        if any(d.get("value") == f"probe-device-{token}" for d in sections.get("identities") or []):
            parts.add("link")
        return parts


async def steady(settings: Settings, mix: list[Message], rate: float, stop: asyncio.Event) -> int:
    """Publish ``mix`` (family, key, value) at ``rate`` per second, in 100 ms ticks, until ``stop``."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent, t0 = 0, time.perf_counter()
    try:
        while not stop.is_set() and sent < len(mix):
            due = min(len(mix), int((time.perf_counter() - t0) * rate))
            for family, key, value in mix[sent:due]:
                await producer.send(settings.topic(family), value, key=key)
            sent = due
            await asyncio.sleep(0.1)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def measure(settings: Settings, codec: Codec, mix: list[Message], rate: float, seconds: float,
                  probe: Probe) -> float:
    """``probe`` while ``mix`` is published at ``rate`` for ``seconds``; returns the rate
    actually sent (the probe holds its ``latencies`` and ``missed``)."""
    task = asyncio.create_task(probe.run())
    stop = asyncio.Event()
    load = asyncio.create_task(steady(settings, mix, rate, stop))
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)  # the length of the steady load, not part of any measured time
    stop.set()
    probe.stop.set()
    sent = await load
    await asyncio.wait_for(task, DEADLINE + 30)
    return sent / (time.perf_counter() - t0)


def _p50_p99(probe: Probe, part: str) -> str:
    lat = probe.sorted(part)
    return f"{api_probe.percentile(lat, 0.5) * 1000:.0f}/{api_probe.percentile(lat, 0.99) * 1000:.0f} ms" if lat else "–"


def figure(probe: Probe, sent: float) -> Figure:
    """The report's row of ``probe`` measured while ``sent`` events/s were published: p50 in ms
    as the value; p99 (a change not shown within ``DEADLINE`` counts as slower than any shown),
    how many, and how many were missed in the detail."""
    lat = probe.sorted()
    p99 = api_probe.percentile(lat + [float("inf")] * probe.missed, 0.99) * 1000
    p99_text = f"{p99:.0f} ms" if p99 != float("inf") else f"over {DEADLINE:.0f} s"
    missed = f"; {probe.missed} not shown within {DEADLINE:.0f} s" if probe.missed else ""
    what = f"{probe.what()}, while {sent:,.0f} events/s (half the mixed burst rate) were published"
    return Figure(probe.LABEL, api_probe.percentile(lat, 0.5) * 1000 if lat else None, "ms",
                  f"p50; p99 {p99_text} over {len(lat)} {what}{missed}" if lat else missed.lstrip("; "),
                  role="info", failure=None if lat else "no change shown", key=probe.KEY,
                  measures={"p99_ms": p99} if lat else {})
