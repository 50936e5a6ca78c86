"""Loads what segment rules read of many profiles at once: a few queries per chunk, not per profile."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Sequence

import asyncpg

from profile360.events.definitions import MetricDefined
from profile360.projections import metrics, rule_syntax, traits
from profile360.projections.segment_rules import Subject
from profile360.projections.buckets import Bucket
from profile360.projections.metrics import Row
from profile360.store.identity import facts_by_key

CUSTOMER = "customer_id:"
Since = Callable[[rule_syntax.Rule], datetime]



async def bucket_rows(conn: asyncpg.Connection, tenant_id: str, customer_ids: list[str],
                      since: date | None = None) -> dict[str, list[Row]]:
    """Each customer's daily buckets (from ``since``, else every day), as (day, type, Bucket)."""
    sql = """SELECT customer_id, day, type, n, value_n, value_sum, value_min, value_max, latest_at, latest_event_id,
                    latest_value, offers FROM customer_daily WHERE tenant_id = $1 AND customer_id = ANY($2::text[])"""
    rows = await (conn.fetch(sql, tenant_id, customer_ids) if since is None else
                  conn.fetch(sql + " AND day >= $3", tenant_id, customer_ids, since))
    out: dict[str, list[Row]] = {}
    for r in rows:
        latest = (r["latest_at"], r["latest_event_id"], r["latest_value"]) if r["latest_at"] else None
        b = Bucket(r["n"], r["value_n"], r["value_sum"], r["value_min"], r["value_max"], latest, frozenset(r["offers"]))
        out.setdefault(r["customer_id"], []).append((r["day"], r["type"], b))
    return out


async def _members(conn: asyncpg.Connection, tenant_id: str, pids: Sequence[str]) -> dict[str, list[tuple[str, datetime]]]:
    """Identifier keys (and first sightings) of each live profile; a pid no node belongs to is a
    profile of one customer id if that customer has interactions and no identity event names it."""
    rows = await conn.fetch("SELECT key, profile_id, occurred_at FROM identity_nodes WHERE tenant_id = $1 "
                            "AND profile_id = ANY($2::text[])", tenant_id, list(pids))
    out: dict[str, list[tuple[str, datetime]]] = {}
    for r in rows:
        out.setdefault(r["profile_id"], []).append((r["key"], r["occurred_at"]))
    lone = [p for p in pids if p not in out]
    rows = await conn.fetch("""SELECT DISTINCT c.customer_id FROM customer_daily c WHERE c.tenant_id = $1
                               AND c.customer_id = ANY($2::text[]) AND NOT EXISTS (SELECT 1 FROM identity_nodes n
                                 WHERE n.tenant_id = $1 AND n.key = 'customer_id:' || c.customer_id)""", tenant_id, lone)
    for r in rows:
        out[r["customer_id"]] = [(CUSTOMER + r["customer_id"], datetime.max.replace(tzinfo=timezone.utc))]
    return out


async def _first_days(conn: asyncpg.Connection, tenant_id: str, customer_ids: list[str]) -> dict[str, datetime]:
    rows = await conn.fetch("""SELECT customer_id, min(day) AS first FROM customer_daily
                               WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) GROUP BY customer_id""",
                            tenant_id, customer_ids)
    return {r["customer_id"]: datetime.combine(r["first"], time(), timezone.utc) for r in rows}


def _since_day(rules: list[rule_syntax.Rule], today: date) -> date | None:
    """The first day any rule reads: None (every day) if one reads metrics or all time."""
    windows = []
    for f in (f for rule in rules for f in rule_syntax.fields(rule)):
        if f.kind == "metric" or f.kind in ("count", "sum") and f.args[1] is None:
            return None
        if f.kind in ("count", "sum"):
            windows.append(f.args[1])
    return today - timedelta(days=max(windows) - 1) if windows else None


def _since(facts: list[traits.Fact], first_seen: datetime) -> Since:
    """The time a rule's inputs last changed: its referenced facts' winners, or the profile's start."""
    won = traits.winners(facts, by_name=True)

    def read(f: rule_syntax.Field) -> list[datetime]:
        if f.kind == "trait":
            return [won[("trait", f.args[0])].occurred_at] if ("trait", f.args[0]) in won else []
        if f.kind == "consent":
            key = ("consent", "/".join(f.args))
            return [won[key].occurred_at] if key in won else []
        return []

    def since(rule: rule_syntax.Rule) -> datetime:
        tags = [won[("tag", t)].occurred_at for t in rule_syntax.tags_named(rule) if ("tag", t) in won]
        return max([first_seen, *tags, *(t for f in rule_syntax.fields(rule) for t in read(f))])
    return since


def _subject(facts: list[traits.Fact], rows: list[metrics.Row], defs: list[MetricDefined], today: date) -> Subject:
    won = traits.winners(facts, by_name=True)
    cache: dict[str, Any] = {}

    def metric(name: str) -> Any:
        if not cache:
            cache.update(metrics.all_metrics(rows, defs, today))
        return cache.get(name)

    return Subject({n: f.value for (k, n), f in won.items() if k == "trait"},
                   frozenset(n for (k, n), f in won.items() if k == "tag" and f.value),
                   {tuple(n.split("/", 1)): bool(f.value) for (k, n), f in won.items() if k == "consent"},
                   rows, metric, today)


async def load_subjects(conn: asyncpg.Connection, tenant_id: str, pids: Sequence[str], rules: list[rule_syntax.Rule],
                        defs: list[MetricDefined], today: date) -> dict[str, tuple[Subject, Since]]:
    """Each live profile among ``pids`` as a rule subject, with its ``member_since`` function."""
    members = await _members(conn, tenant_id, pids)
    keys = sorted({k for ks in members.values() for k, _ in ks})
    facts = await facts_by_key(conn, tenant_id, keys, ("trait", "tag", "consent"))
    customers = sorted(k[len(CUSTOMER):] for k in keys if k.startswith(CUSTOMER))
    counted = any(f.kind in ("count", "sum", "metric") for rule in rules for f in rule_syntax.fields(rule))
    buckets = await bucket_rows(conn, tenant_id, customers, _since_day(rules, today)) if counted else {}
    first_days = await _first_days(conn, tenant_id, customers)
    out = {}
    for pid, ks in members.items():
        cids = [k[len(CUSTOMER):] for k, _ in ks if k.startswith(CUSTOMER)]
        rows = metrics.merge_rows(r for c in cids for r in buckets.get(c, []))
        pf = [f for k, _ in ks for f in facts.get(k, [])]
        first_seen = min([t for _, t in ks] + [first_days[c] for c in cids if c in first_days])
        out[pid] = (_subject(pf, rows, defs, today), _since(pf, first_seen))
    return out
