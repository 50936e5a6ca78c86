"""An independent fold of identity, trait and consent records for the tests (shares no code
with the worker): which profile each identifier is in, and each profile's latest values.

It handles what the tests send: emails differing only in case and spaces, UAE mobile numbers
written with ``+971``, or nationally (``050 …``) in an event whose own ``defaultRegion`` is
``AE`` (spaces and dashes allowed), customer ids and other trimmed ids. An email without a dot
after the ``@``, or any other phone, is invalid: the worker dead-letters every event naming
one, so the fold skips it (``accepted``). An ``Unlink`` sights no identifier: one named only in
unlinks is in no profile. ``expected_*`` give the identity and fact tables row by row
(``full_check.py`` compares them).
"""
from __future__ import annotations

import re
from collections import defaultdict

THRESHOLD = 0.8
_UAE_MOBILE = re.compile(r"\+9715\d{8}")


def key(ident: dict, region: str | None = None) -> tuple[str, bool]:
    """(``type:value``, valid); ``region``: the event's own ``defaultRegion``."""
    kind, value = ident["type"], ident["value"].strip()
    if kind == "email":
        valid = "@" in value and "." in value.split("@")[-1]
        return f"email:{value.lower() if valid else value}", valid
    if kind == "phone":
        digits = re.sub(r"[ \-()]", "", value)
        e164 = digits if digits.startswith("+") else "+971" + digits[1:] if region == "AE" and digits[:1] == "0" else ""
        return (f"phone:{e164}", True) if _UAE_MOBILE.fullmatch(e164) else (f"phone:{value}", False)
    return f"{kind}:{value}", True


def keys(name: str, r: dict) -> list[tuple[str, bool]]:
    """The keys of the identifiers an event names, read with its own region."""
    return [key(i, r.get("defaultRegion")) for i in named(name, r)]


def accepted(records: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The records the worker applies: none naming an invalid identifier."""
    return [(name, r) for name, r in records if all(valid for _, valid in keys(name, r))]


#: events about one identifier: each names a node and writes facts under it
ABOUT_ONE = ("ConsentChanged", "ExperimentAssigned", "JourneyUpdated")


def _version(r: dict) -> tuple:
    return r["occurredAt"], r["eventId"]


def graph(records: list[tuple[str, dict]]) -> tuple[set[str], dict[tuple, tuple]]:
    """All identifier keys, and the last writer of every pair: pair -> (version, strength)."""
    nodes: set[str] = set()
    pairs: dict[tuple, tuple] = {}

    def write(r, kx, ky, strength):
        if kx == ky:
            return
        pair = tuple(sorted((kx, ky)))
        if pair not in pairs or pairs[pair][0] < _version(r):
            pairs[pair] = (_version(r), strength)

    for name, r in accepted(records):
        ks = [k for k, _ in keys(name, r)]
        if name != "Unlink":
            nodes.update(ks)
        if name == "Identify":
            for other in ks:
                write(r, head(r), other, 1.0)
        elif name in ("Link", "Unlink"):
            write(r, ks[0], ks[1], r["confidence"] if name == "Link" else 0.0)
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
    for name, r in accepted(records):
        if name != "Identify" or trait not in (r.get("traits") or {}):
            continue
        if head(r) in members and (best is None or best[0] < _version(r)):
            best = (_version(r), r["traits"][trait])
    return best[1] if best else None


def latest_consent(records: list[tuple[str, dict]], members: set[str], channel: str, purpose: str) -> bool:
    best = None
    for name, r in accepted(records):
        if name == "ConsentChanged" and keys(name, r)[0][0] in members and \
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
    """An (accepted) Identify's primary identifier: its first customer id, else its first."""
    ks = [k for k, _ in keys("Identify", r)]
    return next((k for k in ks if k.startswith("customer_id:")), ks[0])


def by_tenant(records: list[tuple[str, dict]]) -> dict[str, list[tuple[str, dict]]]:
    out: dict[str, list] = defaultdict(list)
    for name, r in accepted(records):
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
            if name == "Unlink":
                continue  # sights no one
            for place, (raw, (k, _)) in enumerate(zip(named(name, r), keys(name, r))):
                seen = (r["occurredAt"], r["eventId"], place)
                if k not in first or seen < first[k][0]:
                    first[k] = (seen, raw)
        for k, ((at, eid, _), raw) in first.items():
            kind, value = k.split(":", 1)
            out[(tenant, k)] = {"id_type": kind, "id_value": value, "original": raw["value"], "valid": True,
                                "problem": False, "region": "AE" if kind == "phone" else None,
                                "occurred_at": at, "event_id": eid, "profile_id": pid[k]}
    return out


def expected_edges(records: list[tuple[str, dict]]) -> dict[tuple, dict]:
    """(tenant, a, b) with a < b -> identity_edges row: the pair's last writer."""
    out: dict[tuple, dict] = {}

    def write(r, kx, ky, linked, confidence):
        if kx == ky:
            return
        a, b = sorted((kx, ky))
        k = (r["tenantId"], a, b)
        if k not in out or (out[k]["occurred_at"], out[k]["event_id"]) < _version(r):
            out[k] = {"linked": linked, "confidence": confidence, "eligible": True,
                      "occurred_at": r["occurredAt"], "event_id": r["eventId"]}

    for name, r in accepted(records):
        ks = [k for k, _ in keys(name, r)]
        if name == "Identify":
            for other in ks:
                write(r, head(r), other, True, 1.0)
        elif name == "Link":
            write(r, ks[0], ks[1], True, float(r["confidence"]))
        elif name == "Unlink":
            write(r, ks[0], ks[1], False, 0.0)
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

    for name, r in accepted(records):
        if name == "Identify":
            for trait, value in (r.get("traits") or {}).items():
                write(r, head(r), "trait", trait, value)
            tags = {t: True for t in r.get("tagsAdded") or []} | {t: False for t in r.get("tagsRemoved") or []}
            for tag, present in tags.items():
                write(r, head(r), "tag", tag, present)
        elif name == "ConsentChanged":
            write(r, keys(name, r)[0][0], "consent", f"{r['channel'].lower()}/{r.get('purpose', 'marketing').lower()}",
                  r["granted"], r.get("source"))
        elif name == "ExperimentAssigned":
            write(r, keys(name, r)[0][0], "experiment", r["experimentId"],
                  {"variant": r["variant"], "name": r.get("experimentName")})
        elif name == "JourneyUpdated":
            k = keys(name, r)[0][0]
            write(r, k, "journey", r["journeyId"], {"status": r["status"], "step": r.get("step"), "name": r.get("journeyName")})
            write(r, k, "journey_enrolled", r["journeyId"], True)
    return out
