"""An independent fold of definition events (tenant settings, metrics, segments) and of segment
membership, written plainly for the tests; it shares no code with the worker.

Membership is computed from scratch: every profile of the tenant (identity components, and
customers seen only in interactions) against every live segment. The rule reader understands
only what the tests define: comparisons joined by ``and``, each one of

    trait.NAME = "text" | trait.NAME != "text" | consent.CHANNEL.PURPOSE = true|false
    count(TYPE) >= N (or > <= < = !=) | tags contains "tag"

Anything else is refused, so a test that defines another rule must extend this reader first.
"""
from __future__ import annotations

import json
import operator
import re
from collections import defaultdict
from datetime import datetime, time, timezone

from . import oracle, oracle_people

DEFAULT_SETTINGS = {"is_customer360": False, "link_threshold": oracle_people.THRESHOLD, "default_region": None}


def last_writers(records, name: str, ident) -> dict[tuple, dict]:
    best: dict[tuple, dict] = {}
    for n, r in records:
        if n == name:
            k = ident(r)
            if k not in best or (best[k]["occurredAt"], best[k]["eventId"]) < (r["occurredAt"], r["eventId"]):
                best[k] = r
    return best


def expected_tenant_settings(records) -> dict[tuple, dict]:
    return {k: {"is_customer360": bool(r.get("isCustomer360", False)), "link_threshold": float(r.get("linkThreshold", 0.8)),
                "default_region": r.get("defaultRegion"), "occurred_at": r["occurredAt"], "event_id": r["eventId"]}
            for k, r in last_writers(records, "TenantConfigured", lambda r: (r["tenantId"],)).items()}


def thresholds(records) -> dict[str, float]:
    return {t: row["link_threshold"] for (t,), row in expected_tenant_settings(records).items()}


def expected_metric_definitions(records) -> dict[tuple, dict]:
    return {k: {"aggregation": r["aggregation"], "event_type": r["eventType"], "window_days": r.get("windowDays"),
                "description": r.get("description"), "deleted": bool(r.get("deleted", False)),
                "occurred_at": r["occurredAt"], "event_id": r["eventId"]}
            for k, r in last_writers(records, "MetricDefined", lambda r: (r["tenantId"], r["metricId"])).items()}


def _windowed(rule: str) -> bool:
    """Time alone can change it: a count or sum with a window of days, or any metric."""
    return bool(re.search(r"\b(count|sum)\s*\(\s*\w+\s*,", rule) or re.search(r"\bmetric\.", rule))


def expected_segment_definitions(records) -> dict[tuple, dict]:
    return {k: {"name": r["name"], "rule": r["rule"], "description": r.get("description"),
                "version": r.get("version", 1), "deleted": bool(r.get("deleted", False)), "windowed": _windowed(r["rule"]),
                "occurred_at": r["occurredAt"], "event_id": r["eventId"]}
            for k, r in last_writers(records, "SegmentDefined", lambda r: (r["tenantId"], r["segmentId"])).items()}


# --- rules --------------------------------------------------------------------------------------

_OPS = {"=": operator.eq, "!=": operator.ne, ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_CLAUSES = [
    ("trait", re.compile(r'(?:trait|attribute)\.(\w+)\s*(=|!=)\s*("(?:[^"\\]|\\.)*")')),
    ("consent", re.compile(r"consent\.(\w+)\.(\w+)\s*=\s*(true|false)")),
    ("count", re.compile(r"count\(\s*([a-z][a-z0-9_]*)\s*\)\s*(>=|<=|!=|=|>|<)\s*(\d+)")),
    ("tag", re.compile(r'tags\s+contains\s+("(?:[^"\\]|\\.)*")')),
]


def parse(rule: str) -> list[tuple]:
    """The rule's clauses, all of which must hold."""
    clauses = []
    for part in re.split(r"\s+and\s+", rule.strip()):
        for kind, pattern in _CLAUSES:
            m = pattern.fullmatch(part.strip())
            if m:
                clauses.append((kind, *m.groups()))
                break
        else:
            raise NotImplementedError(f"the test oracle does not read {part!r} (rule {rule!r}); extend oracle_segments")
    return clauses


def _holds(clause: tuple, profile: dict) -> bool:
    kind = clause[0]
    if kind == "trait":
        _, name, op, literal = clause
        value, want = profile["traits"].get(name), json.loads(literal)
        same = value == want and isinstance(value, bool) == isinstance(want, bool)
        return same if op == "=" else not same
    if kind == "consent":
        _, channel, purpose, literal = clause
        return profile["consent"].get(f"{channel.lower()}/{purpose.lower()}", False) == (literal == "true")
    if kind == "count":
        _, kind_, op, n = clause
        return _OPS[op](profile["counts"].get(kind_, 0), int(n))
    return json.loads(clause[1]) in profile["tags"]


def _reads(clauses: list[tuple]) -> list[tuple[str, str]]:
    """The fact registers (kind, name) a rule reads: its member_since moves when they are written."""
    out = []
    for c in clauses:
        if c[0] == "trait":
            out.append(("trait", c[1]))
        elif c[0] == "consent":
            out.append(("consent", f"{c[1].lower()}/{c[2].lower()}"))
        elif c[0] == "tag":
            out.append(("tag", json.loads(c[1])))
    return out


# --- membership ---------------------------------------------------------------------------------

def profiles_of(records, interactions, tenant: str) -> dict[str, dict]:
    """Every profile of ``tenant``: pid -> its identifier keys, customers, profile-wide fact winners
    per (kind, name), interaction counts per type and first event."""
    people = [(n, r) for n, r in records if r["tenantId"] == tenant]
    nodes = {k: row for (t, k), row in oracle_people.expected_nodes(people, thresholds(records)).items() if t == tenant}
    keys: dict[str, set[str]] = defaultdict(set)
    for k, row in nodes.items():
        keys[row["profile_id"]].add(k)
    history = [e for e in oracle.expected_history(interactions).values() if e["tenantId"] == tenant]
    for e in history:  # a customer no identity event names is a profile of its own
        if f"customer_id:{e['customerId']}" not in nodes:
            keys[e["customerId"]].add(f"customer_id:{e['customerId']}")
    facts_of: dict[str, list] = defaultdict(list)
    for (_, k, kind, name), f in oracle_people.expected_facts(people).items():
        facts_of[k].append((kind, name, f))
    history_of: dict[str, list] = defaultdict(list)
    for e in history:
        history_of[e["customerId"]].append(e)
    out = {}
    for pid, ks in keys.items():
        customers = {k.split(":", 1)[1] for k in ks if k.startswith("customer_id:")}
        mine = [e for c in customers for e in history_of[c]]
        won: dict[tuple, dict] = {}
        for kind, name, f in (x for k in ks for x in facts_of[k]):
            if kind in ("trait", "tag", "consent"):
                if (kind, name) not in won or (won[(kind, name)]["occurred_at"], won[(kind, name)]["event_id"]) < \
                        (f["occurred_at"], f["event_id"]):
                    won[(kind, name)] = f
        counts: dict[str, int] = defaultdict(int)
        for e in mine:
            counts[e["type"]] += 1
        firsts = [nodes[k]["occurred_at"] for k in ks if k in nodes]
        firsts += [datetime.combine(e["occurredAt"].astimezone(timezone.utc).date(), time(), timezone.utc) for e in mine]
        out[pid] = {"keys": ks, "won": won, "counts": dict(counts), "first_seen": min(firsts),
                    "traits": {n: f["value"] for (k, n), f in won.items() if k == "trait"},
                    "tags": {n for (k, n), f in won.items() if k == "tag" and f["value"]},
                    "consent": {n: bool(f["value"]) for (k, n), f in won.items() if k == "consent"}}
    return out


def expected_members(records, interactions) -> dict[tuple, dict]:
    """(tenant, segment, profile) -> {"member_since"}: the latest of the segment's definition time,
    the profile's first event and the winners of the facts the rule reads."""
    out: dict[tuple, dict] = {}
    segments = expected_segment_definitions(records)
    for tenant in sorted({t for t, _ in segments}):
        live = {s: d for (t, s), d in segments.items() if t == tenant and not d["deleted"]}
        if not live:
            continue
        profiles = profiles_of(records, interactions, tenant)
        for sid, d in live.items():
            clauses = parse(d["rule"])
            for pid, p in profiles.items():
                if all(_holds(c, p) for c in clauses):
                    times = [d["occurred_at"], p["first_seen"]] + [p["won"][r]["occurred_at"] for r in _reads(clauses)
                                                                   if r in p["won"]]
                    out[(tenant, sid, pid)] = {"member_since": max(times)}
    return out


def expected_counts(members: dict[tuple, dict]) -> dict[tuple, dict]:
    counts: dict[tuple, int] = defaultdict(int)
    for t, s, _ in members:
        counts[(t, s)] += 1
    return {k: {"members": n} for k, n in counts.items()}
