"""Deterministic synthetic workload: catalog records and interaction events, pre-encoded.

Given ``seed`` and the anchor time (the current hour), the same events come out every time:
customers follow a Zipf law (rank r is drawn with weight 1/(r+1)^s), offers a milder one; the
type mix is impression 70 %, click 10 %, dismiss 8 %, convert 2 %, email_opened 4 %,
link_clicked 3 %, purchase 3 %; times are spread over the 30 days before the anchor.

Arrival order: as in a live stream, events are published in the order they reach the
producer, each up to ``MAX_DELAY_S`` after it happened (so neighbours arrive out of order);
``shuffled=True`` publishes them in random time order instead (a backfill of 30 days at once).

Measured here: the codec's encode rate (records/s, ``Codec.encode`` calls only).
"""
from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from profile360.events.codec import Codec
from profile360.topics import partition_key

TENANT = "bench"
TYPE_WEIGHTS = {"impression": 70, "click": 10, "dismiss": 8, "convert": 2,
                "email_opened": 4, "link_clicked": 3, "purchase": 3}
CHANNELS = (("ch_0", "Email", "EMAIL"), ("ch_1", "SMS", "SMS"), ("ch_2", "Push", "PUSH"),
            ("ch_3", "Web banner", "WEB"), ("ch_4", "In-app", "WEB"))
PLACEMENTS = ("hero", "sidebar", "inbox", "footer", "modal")
WINDOW_MS = 30 * 24 * 3600 * 1000
CHUNK = 50_000
MAX_DELAY_S = 300
HISTORY_COLUMNS = ("tenant_id", "event_id", "customer_id", "interaction_type", "occurred_at", "channel",
                   "channel_id", "offer_id", "creative_id", "campaign_id", "workflow_id", "value", "metadata")


@dataclass
class Workload:
    """Encoded messages ready to publish, the matching ``interaction_history`` rows, and timings."""

    catalog: list[tuple[bytes, bytes]] = field(default_factory=list)
    interactions: list[tuple[bytes, bytes]] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    hot_customer: str = ""
    offers: int = 0
    creatives: int = 0
    encoded: int = 0
    encode_seconds: float = 0.0
    generate_seconds: float = 0.0

    @property
    def encode_rate(self) -> float:
        return self.encoded / self.encode_seconds if self.encode_seconds else 0.0

    @property
    def payload_bytes(self) -> int:
        return sum(len(v) for _, v in self.interactions)


def customer_id(rank: int) -> str:
    return f"cust_{rank:06d}"


def zipf_cum_weights(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))


def catalog_records(offers: int, creatives: int, at: datetime) -> list[tuple[str, dict]]:
    """Channel, Offer and Creative records for every id the interactions use."""
    base = {"tenantId": TENANT, "occurredAt": at}
    out: list[tuple[str, dict]] = []
    for cid, name, medium in CHANNELS:
        out.append(("Channel", {**base, "eventId": f"cat-{cid}", "channelId": cid, "name": name, "medium": medium}))
    for i in range(offers):
        out.append(("Offer", {**base, "eventId": f"cat-offer-{i}", "offerId": f"offer_{i:03d}", "name": f"Offer {i}",
                              "issue": ("Cards", "Loans", "Savings")[i % 3], "group": ("Premium", "Standard")[i % 2],
                              "status": "active", "priority": i % 10}))
    for j in range(creatives):
        out.append(("Creative", {**base, "eventId": f"cat-creative-{j}", "creativeId": f"creative_{j:04d}",
                                 "name": f"Creative {j}", "offerId": f"offer_{j % offers:03d}",
                                 "channelId": CHANNELS[j % len(CHANNELS)][0]}))
    return out


class _Draws:
    """Pre-drawn random choices for one chunk (bulk ``random.choices`` is much faster)."""

    def __init__(self, rnd: random.Random, k: int, customer_cw: list[float], offer_cw: list[float]):
        self.customers = rnd.choices(range(len(customer_cw)), cum_weights=customer_cw, k=k)
        self.types = rnd.choices(list(TYPE_WEIGHTS), weights=list(TYPE_WEIGHTS.values()), k=k)
        self.offers = rnd.choices(range(len(offer_cw)), cum_weights=offer_cw, k=k)
        self.ages = [rnd.randrange(WINDOW_MS) for _ in range(k)]
        self.extra = [rnd.random() for _ in range(k)]


def interaction(i: int, d: _Draws, k: int, anchor_ms: int, offers: int, creatives: int, seed: int) -> dict:
    """The i-th event (k-th of its chunk) as an Avro-ready dict."""
    kind, offer, x = d.types[k], d.offers[k], d.extra[k]
    creative = (offer + offers * int(x * 4)) % creatives
    cid, _, medium = CHANNELS[creative % len(CHANNELS)]
    behavioural = kind in ("email_opened", "link_clicked", "purchase")
    if kind == "email_opened":
        cid, medium = "ch_0", "EMAIL"
    value = round(5 + x * 495, 2) if kind in ("purchase", "convert") else None
    return {"eventId": f"ev-{seed}-{i:09d}", "tenantId": TENANT, "customerId": customer_id(d.customers[k]),
            "occurredAt": datetime.fromtimestamp((anchor_ms - d.ages[k]) / 1000, timezone.utc), "type": kind,
            "channel": medium, "channelId": cid, "offerId": f"offer_{offer:03d}",
            "creativeId": None if kind == "purchase" else f"creative_{creative:04d}",
            "campaignId": f"cmp_{offer % 12:02d}", "workflowId": f"wf_{offer % 5}" if behavioural else None,
            "value": value, "metadata": {"placement": PLACEMENTS[int(x * 1000) % len(PLACEMENTS)]}}


def history_row(rec: dict) -> tuple:
    """The ``interaction_history`` row the writer would COPY for ``rec`` (same column order)."""
    return (rec["tenantId"], rec["eventId"], rec["customerId"], rec["type"], rec["occurredAt"], rec["channel"],
            rec["channelId"], rec["offerId"], rec["creativeId"], rec["campaignId"], rec["workflowId"], rec["value"],
            orjson.dumps(rec["metadata"]).decode())


def _encode_timed(codec: Codec, wl: Workload, named: list[tuple[str, dict]]) -> list[tuple[bytes, bytes]]:
    t0 = time.perf_counter()
    values = [codec.encode(name, rec) for name, rec in named]
    wl.encode_seconds += time.perf_counter() - t0
    wl.encoded += len(values)
    return [(partition_key(name, rec), v) for (name, rec), v in zip(named, values)]


def arrival_order(recs: list[dict], rnd: random.Random) -> list[dict]:
    """``recs`` in the order a live producer would see them: by occurrence plus a random delay."""
    delays = [timedelta(seconds=rnd.uniform(0, MAX_DELAY_S)) for _ in recs]
    order = sorted(range(len(recs)), key=lambda i: recs[i]["occurredAt"] + delays[i])
    return [recs[i] for i in order]


def build(codec: Codec, events: int, customers: int, seed: int, zipf_s: float = 1.0,
          offers: int = 50, creatives: int = 200, shuffled: bool = False) -> Workload:
    """Generate and encode the whole workload; encode time is kept apart from generation time."""
    t_start = time.perf_counter()
    rnd = random.Random(seed)
    anchor = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    anchor_ms = int(anchor.timestamp() * 1000)
    wl = Workload(hot_customer=customer_id(0), offers=offers, creatives=creatives)
    wl.catalog = _encode_timed(codec, wl, catalog_records(offers, creatives, anchor - timedelta(days=31)))
    customer_cw, offer_cw = zipf_cum_weights(customers, zipf_s), zipf_cum_weights(offers, 0.8)
    recs: list[dict] = []
    for start in range(0, events, CHUNK):
        k = min(CHUNK, events - start)
        draws = _Draws(rnd, k, customer_cw, offer_cw)
        recs += [interaction(start + j, draws, j, anchor_ms, offers, creatives, seed) for j in range(k)]
    if not shuffled:
        recs = arrival_order(recs, rnd)
    for start in range(0, len(recs), CHUNK):
        chunk = recs[start:start + CHUNK]
        wl.interactions += _encode_timed(codec, wl, [("InteractionEvent", r) for r in chunk])
        wl.rows += [history_row(r) for r in chunk]
    wl.generate_seconds = time.perf_counter() - t_start - wl.encode_seconds
    return wl


def describe(wl: Workload, args: Any, settings: Any, stamp: str) -> str:
    """The report's sentence about the run's workload (``args``: the bench's options)."""
    a, s = args, settings
    hot = Counter(r[2] for r in wl.rows).most_common(1)[0][1] if wl.rows else 0
    return (f"{a.events:,} interaction events ({wl.payload_bytes / max(len(wl.interactions), 1):.0f} B Avro on "
            f"average) over {a.customers:,} customers (Zipf s={a.zipf}, hot customer {wl.hot_customer} has "
            f"{hot:,}), {wl.offers} offers, {wl.creatives} creatives, 5 channels, 30 days, seed {a.seed}, "
            f"{'shuffled (random time order)' if a.shuffled else f'arrival order (up to {MAX_DELAY_S} s late)'}; plus "
            f"{len(wl.catalog)} catalog records. {s.topic_partitions} partitions per topic, worker batch ≤ "
            f"{s.batch_max_records} records. Database `bench_{stamp}`, topics `bench-{stamp}.*`.")
