"""Every projection table, row for row, against an independent fold of the events published.

``assert_all_tables_match(conn, events)`` reads each table the migrations in ``projections/``
create (by its unqualified name, so a view in front of a table in another schema is read the
same way), folds ``events`` with the tests' own oracles (``oracle``, ``oracle_people``,
``oracle_segments``, which share no code with the worker) and compares full rows. On a
mismatch it fails with a short diff per table. A table the migrations create and no oracle
covers fails the check too: a new projection needs an oracle here before the fault tests can
vouch for it (an oracle whose table no migration creates yet is skipped).

Normalisations (everything else is compared as stored): jsonb columns are parsed;
``identity_nodes.problem`` is compared as present or not (its text is the validating library's
message); ``segment_counts`` rows with 0 members are ignored (a segment whose members all left
keeps its row at 0, one that never had any has none: the same state), and so are
``overview_counts`` rows at 0.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable

import asyncpg

from . import oracle, oracle_orgs, oracle_overview, oracle_people, oracle_segments

PROJECTIONS = Path(__file__).resolve().parents[2] / "projections"
#: bookkeeping, not projections of events
NOT_PROJECTIONS = {"consumer_positions", "schema_migrations",
                   "window_bases"}  # the day profile_windows ends on (their oracle: today)

Records = list[tuple[str, dict]]


def projection_tables(directory: Path = PROJECTIONS) -> set[str]:
    """Tables the migrations leave behind: created (schema qualifier dropped), minus dropped, renames followed."""
    tables: set[str] = set()
    ident = r'(?:"?\w+"?\.)?"?(\w+)"?'
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        sql = re.sub(r"--[^\n]*", "", path.read_text())
        for m in re.finditer(rf"\b(CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{ident}"
                             rf"|DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?((?:{ident}\s*,\s*)*{ident})"
                             rf"|ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?{ident}\s+RENAME\s+TO\s+{ident})", sql, re.I):
            text = m.group(1).upper()
            if text.startswith("CREATE"):
                tables.add(m.group(2).lower())
            elif text.startswith("DROP"):
                for name in re.findall(ident, m.group(3)):
                    tables.discard(name.lower())
            else:
                tables.discard(m.group(6).lower())
                tables.add(m.group(7).lower())
    return tables - NOT_PROJECTIONS


# --- expected rows: table -> {primary key: the other columns} -----------------------------------

def _history(records: Records, interactions: list[dict]) -> dict:
    return {k: {"customer_id": r["customerId"], "interaction_type": r["type"], "occurred_at": r["occurredAt"],
                "channel": r.get("channel"), "channel_id": r.get("channelId"), "offer_id": r.get("offerId"),
                "creative_id": r.get("creativeId"), "campaign_id": r.get("campaignId"), "workflow_id": r.get("workflowId"),
                "value": r.get("value"), "metadata": dict(r.get("metadata") or {})}
            for k, r in oracle.expected_history(interactions).items()}


def _summary(records: Records, interactions: list[dict]) -> dict:
    return {k: dict(zip(oracle.OFFER_TYPES, v)) for k, v in oracle.expected_daily(interactions).items() if k[1] != "customer"}


def _totals(records: Records, interactions: list[dict]) -> dict:
    return {k: {"n": n} for k, n in oracle.expected_totals(interactions).items()}


def _customer_daily(records: Records, interactions: list[dict]) -> dict:
    out = {}
    for k, (n, value_n, value_sum, vmin, vmax, latest, offers) in oracle.expected_customer_daily(interactions).items():
        at, eid, value = latest or (None, None, None)
        out[k] = {"n": n, "value_n": value_n, "value_sum": value_sum, "value_min": vmin, "value_max": vmax,
                  "latest_at": at, "latest_event_id": eid, "latest_value": value, "offers": offers}
    return out


def _catalog(kind: str, columns: Callable[[dict], dict]) -> Callable[[Records, list[dict]], dict]:
    def rows(records: Records, interactions: list[dict]) -> dict:
        won = oracle.expected_catalog([(n, r) for n, r in records if n in ("Offer", "Creative", "Channel")])
        return {(t, i): {**columns(r), "occurred_at": r["occurredAt"], "event_id": r["eventId"]}
                for (k, t, i), r in won.items() if k == kind}
    return rows


def _segment_counts(records: Records, interactions: list[dict]) -> dict:
    return oracle_segments.expected_counts(oracle_segments.expected_members(records, interactions))


def _no_erasures(records: Records, interactions: list[dict]) -> dict:
    """Erasure tables hold rows only for ``ErasureRequested`` events, which these oracles do not
    fold yet (nor their effect on the other tables): a workload with one must extend them first."""
    if any(n == "ErasureRequested" for n, _ in records):
        raise NotImplementedError("full_check has no oracle for erasure events yet")
    return {}


#: table -> (primary key columns, expected rows)
ORACLES: dict[str, tuple[tuple[str, ...], Callable[[Records, list[dict]], dict]]] = {
    "interaction_history": (("tenant_id", "event_id"), _history),
    "interaction_summary_daily": (("tenant_id", "dimension", "key", "day"), _summary),
    "interaction_totals": (("tenant_id", "scope", "key"), _totals),
    "customer_daily": (("tenant_id", "customer_id", "day", "type"), _customer_daily),
    "offers": (("tenant_id", "offer_id"), _catalog("Offer", lambda r: {
        "name": r["name"], "issue": r.get("issue"), "group": r.get("group"), "status": r.get("status", "active"),
        "priority": r.get("priority") or 0})),
    "creatives": (("tenant_id", "creative_id"), _catalog("Creative", lambda r: {
        "name": r["name"], "offer_id": r.get("offerId"), "channel_id": r.get("channelId")})),
    "channels": (("tenant_id", "channel_id"), _catalog("Channel", lambda r: {"name": r["name"], "medium": r.get("medium")})),
    "identity_nodes": (("tenant_id", "key"),
                       lambda recs, _: oracle_people.expected_nodes(recs, oracle_segments.thresholds(recs))),
    "identity_edges": (("tenant_id", "a", "b"), lambda recs, _: oracle_people.expected_edges(recs)),
    "profile_facts": (("tenant_id", "key", "kind", "name"), lambda recs, _: oracle_people.expected_facts(recs)),
    "tenant_settings": (("tenant_id",), lambda recs, _: oracle_segments.expected_tenant_settings(recs)),
    "metric_definitions": (("tenant_id", "metric_id"), lambda recs, _: oracle_segments.expected_metric_definitions(recs)),
    "segment_definitions": (("tenant_id", "segment_id"), lambda recs, _: oracle_segments.expected_segment_definitions(recs)),
    "segment_members": (("tenant_id", "segment_id", "profile_id"), oracle_segments.expected_members),
    "segment_counts": (("tenant_id", "segment_id"), _segment_counts),
    "org_customers": (("tenant_id", "customer_uuid"), oracle_orgs.expected_customers),
    "org_activity": (("tenant_id", "customer_uuid"), oracle_orgs.expected_activity),
    "org_feedbacks": (("tenant_id", "feedback_uuid"), oracle_orgs.expected_feedbacks),
    "org_highlights": (("tenant_id", "highlight_uuid"), oracle_orgs.expected_highlights),
    "org_findings": (("tenant_id", "kind", "uuid"), oracle_orgs.expected_findings),
    "org_finding_customers": (("tenant_id", "kind", "uuid", "customer_uuid"), oracle_orgs.expected_finding_customers),
    "profile_activity": (("tenant_id", "profile_id"), oracle_overview.expected_activity),
    "overview_counts": (("tenant_id", "metric", "key"), oracle_overview.expected_counts),
    "profile_windows": (("tenant_id", "days", "profile_id"), oracle_overview.expected_windows),
    "erasures": (("tenant_id", "subject"), _no_erasures),
    "erasure_log": (("tenant_id", "erasure_id"), _no_erasures),
}


#: tables of documents derived from the tables above (the materialized profile): compared with
#: the documents the product computes from scratch from those tables, once they match the
#: independent fold; so the maintained documents equal a from-scratch fold of the events
DERIVED = ("profile_reads", "customer_reads")


async def assert_documents_match(conn: asyncpg.Connection, tenants: Iterable[str] | None = None) -> None:
    """Fail unless ``profile_reads`` and ``customer_reads`` hold exactly the documents
    ``read_models.from_scratch`` computes from the base rows (limited to ``tenants``)."""
    from profile360.store import read_models

    only = set(tenants) if tenants is not None else None
    want_profiles, want_customers = await read_models.from_scratch(conn)
    problems = []
    for table, id_col, want in (("profile_reads", "profile_id", want_profiles),
                                ("customer_reads", "customer_id", want_customers)):
        got = {(r["tenant_id"], r[id_col]): bytes(r["doc"]) for r in await conn.fetch(f"SELECT * FROM {table}")}
        if only is not None:
            got = {k: v for k, v in got.items() if k[0] in only}
            want = {k: v for k, v in want.items() if k[0] in only}
        wrong = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        if wrong:
            k = wrong[0]
            a, b = got.get(k) or b"", want.get(k) or b""
            at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(f"{table}: {len(wrong)} rows differ from scratch, e.g. {k}, from byte {at}: "
                            f"stored {_short(a[max(at - 40, 0):])} vs from scratch {_short(b[max(at - 40, 0):])}")
    assert not problems, "materialized documents differ from a fold from scratch:\n" + "\n".join(problems)


# --- reading and comparing ----------------------------------------------------------------------

async def read_table(conn: asyncpg.Connection, table: str) -> list[dict]:
    """Every row of ``table`` (unqualified: whatever the search path finds), jsonb parsed."""
    stmt = await conn.prepare(f"SELECT * FROM {table}")
    json_columns = [a.name for a in stmt.get_attributes() if a.type.name in ("json", "jsonb")]
    rows = []
    for r in await stmt.fetch():
        row = dict(r)
        for c in json_columns:
            if row[c] is not None:
                row[c] = json.loads(row[c])
        rows.append(row)
    return rows


def _normalised(table: str, rows: list[dict]) -> list[dict]:
    if table == "identity_nodes":
        rows = [{**r, "problem": r["problem"] is not None} for r in rows]
    if table == "segment_counts":
        rows = [r for r in rows if r["members"] != 0]
    if table == "overview_counts":
        rows = [r for r in rows if r["n"] != 0]
    return rows


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def diff_rows(table: str, pk: tuple[str, ...], got_rows: list[dict], want: dict[tuple, dict], examples: int = 3) -> str | None:
    """A few lines saying how ``got_rows`` differ from ``want``, or None when they are equal."""
    got: dict[tuple, dict] = {}
    doubled = []
    for r in got_rows:
        k = tuple(r[c] for c in pk)
        if k in got:
            doubled.append(k)
        got[k] = {c: v for c, v in r.items() if c not in pk}
    missing = sorted((k for k in want if k not in got), key=repr)
    extra = sorted((k for k in got if k not in want), key=repr)
    differing = []
    for k in sorted((k for k in want if k in got), key=repr):
        columns = sorted(set(want[k]) | set(got[k]))
        bad = [c for c in columns if c not in got[k] or c not in want[k] or got[k][c] != want[k][c]]
        if bad:
            differing.append((k, bad))
    if not (missing or extra or differing or doubled):
        return None
    lines = [f"{table}: {len(got_rows)} rows, {len(want)} expected: {len(missing)} missing, {len(extra)} unexpected, "
             f"{len(differing)} differing" + (f", {len(doubled)} keys twice" if doubled else "")]
    lines += [f"  missing    {_short(k)}: {_short(want[k])}" for k in missing[:examples]]
    lines += [f"  unexpected {_short(k)}: {_short(got[k])}" for k in extra[:examples]]
    for k, bad in differing[:examples]:
        cols = ", ".join(f"{c}: got {_short(got[k].get(c, '<no column>'), 80)} want {_short(want[k].get(c, '<no oracle>'), 80)}"
                         for c in bad[:4])
        lines.append(f"  differs    {_short(k)}: {cols}")
    lines += [f"  twice      {_short(k)}" for k in doubled[:examples]]
    return "\n".join(lines)


def split(events: Iterable[tuple[str, dict] | dict]) -> tuple[Records, list[dict]]:
    """(record name, record) pairs of everything, and the interactions among them; a bare dict is
    an interaction."""
    records: Records = [e if isinstance(e, tuple) else ("InteractionEvent", e) for e in events]
    return records, [r for n, r in records if n == "InteractionEvent"]


async def assert_all_tables_match(conn: asyncpg.Connection, events: Iterable[tuple[str, dict] | dict],
                                  tenants: Iterable[str] | None = None) -> None:
    """Fail unless every projection table holds exactly what the oracles fold from ``events``
    (every record published, duplicates included; bare dicts are interactions), limited to
    ``tenants`` when given."""
    tables = projection_tables()
    uncovered = sorted(tables - set(ORACLES) - set(DERIVED))
    assert not uncovered, f"projection tables without an oracle in full_check.py: {uncovered}"
    records, interactions = split(events)
    only = set(tenants) if tenants is not None else None
    problems = []
    for table, (pk, expected) in ORACLES.items():
        if table not in tables:  # an oracle ahead of its migration
            continue
        want = expected(records, interactions)
        got = _normalised(table, await read_table(conn, table))
        if only is not None:
            want = {k: v for k, v in want.items() if k[0] in only}
            got = [r for r in got if r["tenant_id"] in only]
        found = diff_rows(table, pk, got, want)
        if found:
            problems.append(found)
    assert not problems, "tables differ from the independent fold of the events:\n" + "\n".join(problems)
    await assert_documents_match(conn, tenants)


async def check_all_tables(settings, events, tenants=None) -> None:
    """``assert_all_tables_match`` on a connection of its own."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        await assert_all_tables_match(conn, events, tenants)
    finally:
        await conn.close()
