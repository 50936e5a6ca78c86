"""An independent fold of identity, trait and consent records for the tests (shares no code
with the worker): which profile each identifier is in, and each profile's latest values.

It handles what the tests send: emails differing only in case and spaces, UAE mobile numbers
written with ``+971`` (spaces and dashes allowed), customer ids and other trimmed ids; an
email without a dot after the ``@`` is invalid (kept as given, trimmed) and never merges.
``expected_*`` give the identity and fact tables row by row (``full_check.py`` compares them).
"""
from __future__ import annotations

import re
from collections import defaultdict

THRESHOLD = 0.8
_UAE_MOBILE = re.compile(r"\+9715\d{8}")


def key(ident: dict) -> tuple[str, bool]:
    kind, value = ident["type"], ident["value"].strip()
    if kind == "email":
        valid = "@" in value and "." in value.split("@")[-1]
        return f"email:{value.lower() if valid else value}", valid
    if kind == "phone" and value.startswith("+"):
        e164 = re.sub(r"[ \-()]", "", value)
        if _UAE_MOBILE.fullmatch(e164):
            return f"phone:{e164}", True
        return f"phone:{value}", False
    return f"{kind}:{value}", True


#: events about one identifier: each names a node and writes facts under it
ABOUT_ONE = ("ConsentChanged", "ExperimentAssigned", "JourneyUpdated")


def _version(r: dict) -> tuple:
    return r["occurredAt"], r["eventId"]


def graph(records: list[tuple[str, dict]]) -> tuple[set[str], dict[tuple, tuple]]:
    """All identifier keys, and the last writer of every pair: pair -> (version, strength)."""
    nodes: set[str] = set()
    pairs: dict[tuple, tuple] = {}

    def write(r, x, y, strength):
        (kx, vx), (ky, vy) = x, y
        if kx == ky:
            return
        pair = tuple(sorted((kx, ky)))
        if pair not in pairs or pairs[pair][0] < _version(r):
            pairs[pair] = (_version(r), strength if vx and vy else 0.0)

    for name, r in records:
        if name == "Identify":
            ids = [key(i) for i in r["identifiers"]]
            nodes.update(k for k, _ in ids)
            valid = [i for i in ids if i[1]]
            head = next((i for i in valid if i[0].startswith("customer_id:")), valid[0] if valid else ids[0])
            for other in ids:
                write(r, head, other, 1.0)
        elif name in ("Link", "Unlink"):
            a, b = key(r["identifier"]), key(r["linkedIdentifier"])
            nodes.update((a[0], b[0]))
            write(r, a, b, r["confidence"] if name == "Link" else 0.0)
        elif name in ABOUT_ONE:
            nodes.add(key(r["identifier"])[0])
    return nodes, pairs


def profiles(records: list[tuple[str, dict]], threshold: float = THRESHOLD) -> dict[str, str]:
    """identifier key -> profile id (smallest customer id of the component, else smallest key)."""
    nodes, pairs = graph(records)
    neighbours: dict[str, set[str]] = {n: set() for n in nodes}
    for (a, b), (_, strength) in pairs.items():
        if strength >= threshold and strength > 0:
            neighbours[a].add(b)
            neighbours[b].add(a)
    out: dict[str, str] = {}
    for start in sorted(nodes):
        if start in out:
            continue
        component, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n not in component:
                component.add(n)
                todo.extend(neighbours[n] - component)
        customers = sorted(k.split(":", 1)[1] for k in component if k.startswith("customer_id:"))
        pid = customers[0] if customers else min(component)
        out.update(dict.fromkeys(component, pid))
    return out


def latest_trait(records: list[tuple[str, dict]], members: set[str], trait: str):
    """The value of ``trait`` written last by an Identify whose primary identifier is in ``members``."""
    best = None
    for name, r in records:
        if name != "Identify" or trait not in (r.get("traits") or {}):
            continue
        ids = [key(i) for i in r["identifiers"]]
        valid = [i for i in ids if i[1]]
        head = next((i for i in valid if i[0].startswith("customer_id:")), valid[0] if valid else ids[0])
        if head[0] in members and (best is None or best[0] < _version(r)):
            best = (_version(r), r["traits"][trait])
    return best[1] if best else None


def latest_consent(records: list[tuple[str, dict]], members: set[str], channel: str, purpose: str) -> bool:
    best = None
    for name, r in records:
        if name == "ConsentChanged" and key(r["identifier"])[0] in members and \
                (r["channel"].lower(), r["purpose"].lower()) == (channel, purpose):
            if best is None or best[0] < _version(r):
                best = (_version(r), r["granted"])
    return bool(best and best[1])


# --- the identity and fact tables, row by row ------------------------------------------------

IDENTITY = ("Identify", "Link", "Unlink")


def named(name: str, r: dict) -> list[dict]:
    """The raw identifiers an event names, in its order (none for other events)."""
    if name == "Identify":
        return list(r["identifiers"])
    if name in ("Link", "Unlink"):
        return [r["identifier"], r["linkedIdentifier"]]
    if name in ABOUT_ONE:
        return [r["identifier"]]
    return []


def head(r: dict) -> str:
    """An Identify's primary identifier: its first valid customer id, else first valid, else first."""
    ids = [key(i) for i in r["identifiers"]]
    valid = [i for i in ids if i[1]]
    return next((i for i in valid if i[0].startswith("customer_id:")), valid[0] if valid else ids[0])[0]


def by_tenant(records: list[tuple[str, dict]]) -> dict[str, list[tuple[str, dict]]]:
    out: dict[str, list] = defaultdict(list)
    for name, r in records:
        out[r["tenantId"]].append((name, r))
    return dict(out)


def expected_nodes(records: list[tuple[str, dict]], thresholds: dict[str, float] | None = None) -> dict[tuple, dict]:
    """(tenant, key) -> identity_nodes row: the earliest sighting (by time, event id, then place in
    the event) gives the spelling; ``problem`` is only whether there is one (the text is the
    validating library's); ``profile_id`` the component under the tenant's ``thresholds``."""
    out: dict[tuple, dict] = {}
    for tenant, mine in by_tenant(records).items():
        pid = profiles(mine, (thresholds or {}).get(tenant, THRESHOLD))
        first: dict[str, tuple] = {}
        for name, r in mine:
            for place, raw in enumerate(named(name, r)):
                k, valid = key(raw)
                seen = (r["occurredAt"], r["eventId"], place)
                if k not in first or seen < first[k][0]:
                    first[k] = (seen, raw, valid)
        for k, ((at, eid, _), raw, valid) in first.items():
            kind, value = k.split(":", 1)
            out[(tenant, k)] = {"id_type": kind, "id_value": value, "original": raw["value"], "valid": valid,
                                "problem": not valid, "region": "AE" if kind == "phone" and valid else None,
                                "occurred_at": at, "event_id": eid, "profile_id": pid[k]}
    return out


def expected_edges(records: list[tuple[str, dict]]) -> dict[tuple, dict]:
    """(tenant, a, b) with a < b -> identity_edges row: the pair's last writer."""
    out: dict[tuple, dict] = {}

    def write(r, x, y, linked, confidence):
        (kx, vx), (ky, vy) = key(x), key(y)
        if kx == ky:
            return
        a, b = sorted((kx, ky))
        k = (r["tenantId"], a, b)
        if k not in out or (out[k]["occurred_at"], out[k]["event_id"]) < _version(r):
            out[k] = {"linked": linked, "confidence": confidence, "eligible": vx and vy,
                      "occurred_at": r["occurredAt"], "event_id": r["eventId"]}

    for name, r in records:
        if name == "Identify":
            primary = next(i for i in r["identifiers"] if key(i)[0] == head(r))
            for other in r["identifiers"]:
                write(r, primary, other, True, 1.0)
        elif name == "Link":
            write(r, r["identifier"], r["linkedIdentifier"], True, float(r["confidence"]))
        elif name == "Unlink":
            write(r, r["identifier"], r["linkedIdentifier"], False, 0.0)
    return out


def expected_facts(records: list[tuple[str, dict]]) -> dict[tuple, dict]:
    """(tenant, key, kind, name) -> profile_facts row: traits and tags under an Identify's primary
    identifier, consent, experiments and journeys under their identifier; the last writer of each,
    except a journey's enrolment (``journey_enrolled``), which keeps the first."""
    out: dict[tuple, dict] = {}

    def write(r, k, kind, name, value, source=None):
        reg = (r["tenantId"], k, kind, name)
        held = out.get(reg)
        if held is not None:
            older = _version(r) < (held["occurred_at"], held["event_id"])
            if older != (kind == "journey_enrolled"):
                return
        out[reg] = {"value": value, "source": source, "occurred_at": r["occurredAt"], "event_id": r["eventId"]}

    for name, r in records:
        if name == "Identify":
            for trait, value in (r.get("traits") or {}).items():
                write(r, head(r), "trait", trait, value)
            tags = {t: True for t in r.get("tagsAdded") or []} | {t: False for t in r.get("tagsRemoved") or []}
            for tag, present in tags.items():
                write(r, head(r), "tag", tag, present)
        elif name == "ConsentChanged":
            write(r, key(r["identifier"])[0], "consent", f"{r['channel'].lower()}/{r.get('purpose', 'marketing').lower()}",
                  r["granted"], r.get("source"))
        elif name == "ExperimentAssigned":
            write(r, key(r["identifier"])[0], "experiment", r["experimentId"],
                  {"variant": r["variant"], "name": r.get("experimentName")})
        elif name == "JourneyUpdated":
            k = key(r["identifier"])[0]
            write(r, k, "journey", r["journeyId"], {"status": r["status"], "step": r.get("step"), "name": r.get("journeyName")})
            write(r, k, "journey_enrolled", r["journeyId"], True)
    return out
