"""An independent fold of identity, trait and consent records for the tests (shares no code
with the worker): which profile each identifier is in, and each profile's latest values.

It handles what the tests send: emails differing only in case and spaces, E.164 phones,
customer ids; an email without a dot after the ``@`` is invalid and never merges.
"""
from __future__ import annotations

THRESHOLD = 0.8


def key(ident: dict) -> tuple[str, bool]:
    kind, value = ident["type"], ident["value"].strip()
    if kind == "email":
        value = value.lower()
        return f"email:{value}", "@" in value and "." in value.split("@")[-1]
    return f"{kind}:{value}", True


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
        elif name == "ConsentChanged":
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
