"""Build the knowledge graph: typed nodes and typed edges in a networkx MultiDiGraph."""

from __future__ import annotations

from collections import Counter
from typing import Any

import networkx as nx

from kb.model import KnowledgeBase

# Edge types (the MultiDiGraph edge key is the type):
#   claim  -quoted-in->   source   (quote index in `quote`)
#   claim  -spoken-by->   expert   (quote index in `quote`)
#   claim  -origin->      source   (first appearance of a quote's words)
#   claim  -evidence->    source   (stance, directness)
#   claim  -related->     claim    (relation)
#   claim  -reviewed-by-> expert   (verdict)
#   claim  -tagged->      topic
#   source -derived-from-> source
#   expert -role-source-> source   (title)
EDGE_TYPES = (
    "quoted-in",
    "spoken-by",
    "origin",
    "evidence",
    "related",
    "reviewed-by",
    "tagged",
    "derived-from",
    "role-source",
)
NODE_TYPES = ("claim", "expert", "source", "topic")


def node_id(kind: str, ident: str) -> str:
    """Return the graph node id for a record: `claim:ID`, `expert:ID`, `source:ID`, `topic:SLUG`."""
    return f"{kind}:{ident}"


def build_graph(kb: KnowledgeBase) -> nx.MultiDiGraph[str]:
    """Return the graph of the knowledge base; edges to missing records are left out."""
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for sid, s in sorted(kb.sources.items()):
        g.add_node(node_id("source", sid), type="source", id=sid, label=s.title)
    for eid, e in sorted(kb.experts.items()):
        g.add_node(node_id("expert", eid), type="expert", id=eid, label=e.name)
    slugs = kb.topics()
    for topic, slug in sorted(slugs.items(), key=lambda kv: kv[1]):
        g.add_node(node_id("topic", slug), type="topic", id=slug, label=topic)
    for cid, c in sorted(kb.claims.items()):
        g.add_node(
            node_id("claim", cid), type="claim", id=cid, label=c.statement, verdict=c.verdict
        )

    def link(a: str, b: str, kind: str, **attrs: Any) -> None:
        if a in g and b in g:
            g.add_edge(a, b, key=kind if kind not in _MULTI else None, type=kind, **attrs)

    for cid, c in sorted(kb.claims.items()):
        me = node_id("claim", cid)
        for i, q in enumerate(c.quotes):
            link(me, node_id("source", q.source), "quoted-in", quote=i)
            if q.speaker:
                link(me, node_id("expert", q.speaker), "spoken-by", quote=i)
            if q.origin and q.origin.source:
                link(me, node_id("source", q.origin.source), "origin", quote=i)
        for ev in c.evidence:
            link(
                me,
                node_id("source", ev.source),
                "evidence",
                stance=ev.stance,
                directness=ev.directness,
            )
        for r in c.related:
            link(me, node_id("claim", r.claim), "related", relation=r.relation)
        if c.review and c.review.reviewer:
            link(me, node_id("expert", c.review.reviewer), "reviewed-by", verdict=c.verdict)
        for t in c.topics:
            link(me, node_id("topic", slugs[t]), "tagged")
    for sid, s in sorted(kb.sources.items()):
        for parent in s.derived_from:
            link(node_id("source", sid), node_id("source", parent), "derived-from")
    for eid, e in sorted(kb.experts.items()):
        for role in e.roles:
            if role.source:
                link(
                    node_id("expert", eid),
                    node_id("source", role.source),
                    "role-source",
                    title=role.title,
                )
    return g


# Edge types that may join the same two nodes several times (one edge per quote or item).
_MULTI = frozenset({"quoted-in", "spoken-by", "origin", "evidence", "role-source"})


def summary(g: nx.MultiDiGraph[str], top: int = 5) -> str:
    """Describe the graph: counts by node and edge type, the most connected records, components."""
    nodes = Counter(d["type"] for _, d in g.nodes(data=True))
    edges = Counter(d["type"] for _, _, d in g.edges(data=True))
    lines = [f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges"]
    lines.append("nodes: " + ", ".join(f"{nodes[t]} {t}" for t in NODE_TYPES))
    lines.append("edges: " + ", ".join(f"{edges[t]} {t}" for t in EDGE_TYPES if edges[t]))
    for kind in ("claim", "source", "expert"):
        ranked = sorted(
            ((g.degree(n), n) for n, d in g.nodes(data=True) if d["type"] == kind),
            key=lambda dn: (-dn[0], dn[1]),
        )[:top]
        if ranked:
            lines.append(f"most connected {kind}s:")
            lines.extend(f"  {deg:4d}  {n.partition(':')[2]}" for deg, n in ranked)
    comps = sorted((len(c) for c in nx.weakly_connected_components(g)), reverse=True)
    isolated = sum(1 for n in comps if n == 1)
    lines.append(
        f"components: {len(comps)} (largest {comps[0] if comps else 0} nodes, {isolated} isolated)"
    )
    return "\n".join(lines)
