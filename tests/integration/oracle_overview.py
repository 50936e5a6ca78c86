"""Independent fold of seed 000's overview rows (``profile_activity``, ``overview_counts``) from
the events: every profile (an identity profile, or a customer id with interactions that no
identity event names) with its first event, last interaction day and granted marketing
consents, and per tenant how many profiles fall in each bucket. Shares no code with the worker."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta, timezone

from . import oracle, oracle_people, oracle_segments


def expected_activity(records, interactions) -> dict[tuple, dict]:
    """(tenant, profile id) -> {first_at, last_day, reach}."""
    nodes = oracle_people.expected_nodes(records, oracle_segments.thresholds(records))
    facts = oracle_people.expected_facts(records)
    out: dict[tuple, dict] = {}

    def row(t, p):
        return out.setdefault((t, p), {"first_at": None, "last_day": None, "reach": {}})

    for (t, k), n in nodes.items():
        r = row(t, n["profile_id"])
        r["first_at"] = min(filter(None, (r["first_at"], n["occurred_at"])))
    for (t, c, day, _type) in oracle.expected_customer_daily(interactions):
        node = nodes.get((t, f"customer_id:{c}"))
        r = row(t, node["profile_id"] if node else c)
        midnight = datetime.combine(day, time(), timezone.utc)
        r["first_at"] = min(filter(None, (r["first_at"], midnight)))
        r["last_day"] = max(filter(None, (r["last_day"], day)))
    for (t, k, kind, name), f in facts.items():
        channel, _, purpose = name.partition("/")
        if kind == "consent" and purpose == "marketing" and (t, k) in nodes:
            held = row(t, nodes[(t, k)]["profile_id"])["reach"]
            if channel not in held or held[channel][0] < (f["occurred_at"], f["event_id"]):
                held[channel] = ((f["occurred_at"], f["event_id"]), f["value"])
    return {k: {**r, "reach": sorted(c for c, (_, granted) in r["reach"].items() if granted is True)}
            for k, r in out.items()}


def expected_counts(records, interactions) -> dict[tuple, dict]:
    """(tenant, metric, key) -> {n}: the activity rows per bucket (no zero rows)."""
    n: Counter = Counter()
    for (t, _), r in expected_activity(records, interactions).items():
        n[(t, "contacts", "")] += 1
        n[(t, "first_month", r["first_at"].astimezone(timezone.utc).strftime("%Y-%m"))] += 1
        if r["last_day"] is not None:
            n[(t, "last_day", r["last_day"].isoformat())] += 1
        for channel in r["reach"]:
            n[(t, "reach", channel)] += 1
    return {k: {"n": v} for k, v in n.items()}


WINDOWS = (1, 7, 30, 90)


def expected_answers(records, interactions, today=None, lengths=WINDOWS) -> dict[tuple, dict]:
    """(tenant, days, profile id) -> what a ``groupBy=customer`` row of that window says (head,
    first day, counts per type, total, distinct offers), for windows of ``lengths`` days ending
    ``today`` (UTC; default: now)."""
    nodes = oracle_people.expected_nodes(records, oracle_segments.thresholds(records))
    today = today or datetime.now(timezone.utc).date()
    out: dict[tuple, dict] = {}
    for (t, c, day, kind), (n, *_rest, offers) in sorted(oracle.expected_customer_daily(interactions).items()):
        if kind not in oracle.OFFER_TYPES:
            continue
        node = nodes.get((t, f"customer_id:{c}"))
        for days in lengths:
            if today - timedelta(days=days) < day <= today:
                r = out.setdefault((t, days, node["profile_id"] if node else c), {
                    "head": c, "first_day": day, "offers": set(), **dict.fromkeys(oracle.OFFER_TYPES, 0)})
                r["head"], r["first_day"] = min(r["head"], c), min(r["first_day"], day)
                r[kind] += n
                r["offers"] |= set(offers)
    return {k: {**r, "total": sum(r[t] for t in oracle.OFFER_TYPES), "unique_actions": len(r["offers"])}
            for k, r in out.items()}


def expected_windows(records, interactions, today=None) -> dict[tuple, dict]:
    """(tenant, days, profile id) -> profile_windows row, for windows ending ``today``."""
    return {k: {c: r[c] for c in ("head", "first_day", "total")}
            for k, r in expected_answers(records, interactions, today).items()}
