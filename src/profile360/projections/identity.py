"""Identity resolution: a profile is a connected component of identifiers.

Facts, all pure functions of the events:
- every identifier an ``Identify``, ``Link``, consent, experiment or journey event names is a
  *node* (``type:value`` after normalization); its earliest sighting (by
  ``(occurred_at, event_id)``) keeps its original spelling. An ``Unlink`` sights nothing: an
  identifier named only in unlinks is no node, no profile, no contact;
- every pair an event connects is an *edge*, a last-writer-wins register per pair: an
  ``Identify`` links its primary identifier to each of the others (confidence 1), a ``Link``
  sets the pair's confidence, an ``Unlink`` clears it (a later link sets it again; an earlier
  one, applied after it, stays cleared). Events reach the fold only when every identifier they
  name is valid (``identifiers.check``).

An edge *merges* when it is linked, at or above the tenant's confidence threshold, and joins
two valid identifiers. Profiles are the components of merging edges; the profile id is the
smallest customer id in the component, else its smallest identifier key. Records are kept
under the identifier they arrived with, so a merge or an unmerge moves no row: it only
changes which identifiers a profile reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Iterable

from profile360.events.people import Identify, Link, PersonEvent, Unlink
from profile360.projections import lww
from profile360.projections.identifiers import Identifier, of_event

DEFAULT_THRESHOLD = 0.8
CUSTOMER_PREFIX = "customer_id:"


@dataclass(frozen=True, slots=True)
class Node:
    tenant_id: str
    key: str
    ident: Identifier
    occurred_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class Edge:
    tenant_id: str
    a: str  # a < b
    b: str
    linked: bool
    confidence: float
    eligible: bool  # both ends valid: may merge
    occurred_at: datetime
    event_id: str

    @property
    def pair(self) -> tuple[str, str, str]:
        return self.tenant_id, self.a, self.b

    def merges(self, threshold: float) -> bool:
        return self.linked and self.eligible and self.confidence >= threshold


def primary(idents: list[Identifier]) -> Identifier:
    """The identifier an Identify's traits are recorded under: its first valid customer id,
    else its first valid identifier, else its first."""
    valid = [i for i in idents if i.valid]
    return next((i for i in valid if i.type == "customer_id"), valid[0] if valid else idents[0])


def _edge(e: PersonEvent, x: Identifier, y: Identifier, linked: bool, confidence: float) -> Edge:
    a, b = sorted((x.key, y.key))
    return Edge(e.tenant_id, a, b, linked, confidence, x.valid and y.valid, e.occurred_at, e.event_id)


def facts(event: PersonEvent) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges one person event states (self-pairs are dropped). An ``Unlink``
    states its pair's edge (unlinked) and no node."""
    idents = of_event(event)
    if isinstance(event, Identify):
        head = primary(idents)
        pairs = [(head, i, True, 1.0) for i in idents if i.key != head.key]
    elif isinstance(event, (Link, Unlink)):
        linked = isinstance(event, Link)
        pairs = [(idents[0], idents[1], linked, event.confidence if linked else 0.0)] if idents[0].key != idents[1].key else []
    else:
        pairs = []
    sighted = [] if isinstance(event, Unlink) else idents
    nodes = [Node(event.tenant_id, i.key, i, event.occurred_at, event.event_id) for i in sighted]
    return nodes, [_edge(event, x, y, linked, c) for x, y, linked, c in pairs]


def seeds(nodes: Iterable[Node], edges: Iterable[Edge]) -> set[str]:
    """The identifiers whose profiles a batch may change: its nodes and the ends of its edges
    (an unlink's ends are no nodes of its own, yet it may split their profile)."""
    return {n.key for n in nodes} | {k for e in edges for k in (e.a, e.b)}


def customer_ids(keys: Iterable[str]) -> list[str]:
    """The customer ids among identifier ``keys``, sorted."""
    return sorted(k[len(CUSTOMER_PREFIX):] for k in keys if k.startswith(CUSTOMER_PREFIX))


def canonical(members: Iterable[str]) -> str:
    members = list(members)
    customers = customer_ids(members)
    return min(customers) if customers else min(members)


def components(nodes: Iterable[str], edges: Iterable[Edge], threshold: float) -> dict[str, str]:
    """Profile id of every node: the components of the merging edges among ``nodes``."""
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in edges:
        if e.merges(threshold) and e.a in parent and e.b in parent:
            parent[find(e.a)] = find(e.b)
    groups: dict[str, list[str]] = {}
    for n in parent:
        groups.setdefault(find(n), []).append(n)
    return {n: canonical(members) for members in groups.values() for n in members}


def latest_edges(edges: Iterable[Edge]) -> dict[tuple[str, str, str], Edge]:
    """The last writer of each pair."""
    return lww.winners(edges, lambda e: e.pair)


def earliest_nodes(nodes: Iterable[Node]) -> dict[tuple[str, str], Node]:
    """The first sighting of each identifier."""
    return lww.winners(nodes, lambda n: (n.tenant_id, n.key), first=True)


@dataclass(frozen=True)
class IdentityView:
    """In-memory model of the identity tables (nodes, edges, membership per tenant)."""

    nodes: dict[tuple[str, str], Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)

    def apply(self, batch: Iterable[PersonEvent]) -> "IdentityView":
        new_nodes, new_edges = [], []
        for event in batch:
            n, e = facts(event)
            new_nodes += n
            new_edges += e
        return replace(self, nodes=earliest_nodes([*self.nodes.values(), *new_nodes]),
                       edges=latest_edges([*self.edges.values(), *new_edges]))

    def profiles(self, tenant_id: str, threshold: float = DEFAULT_THRESHOLD) -> dict[str, str]:
        return components((k for t, k in self.nodes if t == tenant_id),
                          (e for e in self.edges.values() if e.tenant_id == tenant_id), threshold)
