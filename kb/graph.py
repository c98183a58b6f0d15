"""Build the knowledge graph: typed nodes and typed edges in a networkx MultiDiGraph.

networkx is imported where a graph is made (it takes longer to import than `kb check` on a
small base takes to run): the checks read the same nodes and edges as `Links`, plain dicts.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

from kb.model import Claim, Expert, KnowledgeBase, Source

if TYPE_CHECKING:
    import networkx as nx

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


# An adjacency: node -> neighbour -> edge key -> edge attributes
Adjacency: TypeAlias = dict[str, dict[str, dict[Any, dict[str, Any]]]]


class Links:
    """The graph's nodes and edges in networkx's own layout, in plain dicts: `nodes` (node ->
    attributes), `succ` and `pred` (node -> neighbour -> edge key -> edge attributes). What
    needs no networkx reads these (the checks), so that `kb check` does not import it."""

    __slots__ = ("nodes", "pred", "succ")

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.succ: Adjacency = {}
        self.pred: Adjacency = {}

    @classmethod
    def of(cls, g: nx.MultiDiGraph[str]) -> Links:
        """The dicts of a networkx graph, shared (a change to one is a change to the other)."""
        raw: Any = g  # networkx's own dicts, not in its type stubs
        links = cls()
        links.nodes, links.succ, links.pred = raw._node, raw._succ, raw._pred
        return links

    def in_degree(self, n: str) -> int:
        """The number of edges into `n`, as networkx's `in_degree` of a MultiDiGraph."""
        return sum(len(keys) for keys in self.pred[n].values())


# What the checks are given: a graph, or its links alone.
Graph: TypeAlias = "nx.MultiDiGraph[str] | Links"


def links_of(graph: Graph) -> Links:
    """The links of a graph (the same dicts), or the links themselves."""
    return graph if isinstance(graph, Links) else Links.of(graph)


def build_graph(kb: KnowledgeBase) -> nx.MultiDiGraph[str]:
    """Return the graph of the knowledge base; edges to missing records are left out.

    The graph is exactly what `add_node` and `add_edge` calls would make (same nodes, edges,
    keys, attributes and order), but written straight into networkx's adjacency dicts: the
    128,000 `add_edge` calls of 10,000 claims took 0.5 s, this half of that or less. Edges
    with equal attributes share one attribute dict (a third less memory), and the pairs of
    nodes joined by one edge of the same key and attributes share one key dict (`{key: data}`,
    networkx's third level: 18 MB less at 10,000 claims): read them, do not change them in
    place (networkx's add_edge and remove_edge would).
    """
    import networkx as nx

    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    build_links(kb, Links.of(g))
    return g


def as_graph(links: Links) -> nx.MultiDiGraph[str]:
    """A networkx graph of the same nodes and edges (their attribute and neighbour dicts shared)."""
    import networkx as nx

    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    mine = Links.of(g)
    mine.nodes.update(links.nodes)
    mine.succ.update(links.succ)
    mine.pred.update(links.pred)
    return g


def build_links(kb: KnowledgeBase, into: Links | None = None) -> Links:
    """Write the nodes and edges of the knowledge base into `into` (empty: new Links by
    default), as build_graph does, and return them; networkx is not imported."""
    links = Links() if into is None else into
    w = _Writer(links)
    sources = sorted(kb.sources.items())
    experts = sorted(kb.experts.items())
    claims = sorted(kb.claims.items())
    for sid, s in sources:
        w.add_node("source:" + sid, _source_attrs(sid, s))
    for eid, e in experts:
        w.add_node("expert:" + eid, _expert_attrs(eid, e))
    slugs = kb.topics()
    for topic, slug in sorted(slugs.items(), key=lambda kv: kv[1]):
        w.add_node("topic:" + slug, {"type": "topic", "id": slug, "label": topic})
    for cid, c in claims:
        w.add_node("claim:" + cid, _claim_attrs(cid, c))
    for cid, c in claims:
        w.claim_edges(cid, c, slugs)
    for sid, s in sources:
        w.source_edges(sid, s)
    for eid, e in experts:
        w.expert_edges(eid, e)
    return links


def _source_attrs(sid: str, s: Source) -> dict[str, Any]:
    return {"type": "source", "id": sid, "label": s.title}


def _expert_attrs(eid: str, e: Expert) -> dict[str, Any]:
    return {"type": "expert", "id": eid, "label": e.name}


def _claim_attrs(cid: str, c: Claim) -> dict[str, Any]:
    return {"type": "claim", "id": cid, "label": c.statement, "verdict": c.verdict}


# The order in which build_graph links records: claims, then sources, then experts, each by id.
# It is the order of every node's predecessors, which update_graph restores.
_LINK_RANK = {"claim": 0, "source": 1, "expert": 2}


def _pred_order(node: str) -> tuple[int, str]:
    kind, _, ident = node.partition(":")
    return _LINK_RANK.get(kind, 3), ident


class _Writer:
    """Writes nodes and edges straight into a graph's adjacency dicts (see build_graph)."""

    def __init__(self, links: Links) -> None:
        self.nodes = links.nodes
        self.succ = links.succ
        self.pred = links.pred
        # Edges with equal attributes share one dict: most edges carry one of a few (a type
        # and a quote number, a stance, a relation); 1.3 M edges at 100,000 claims.
        self.shared: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        # Most pairs of nodes are joined by one edge: its {key: data} dict is shared too (by
        # key and the shared data's identity), and copied, not changed, when an edge is added.
        self.single: dict[tuple[Any, int], dict[Any, dict[str, Any]]] = {}

    def add_node(self, n: str, attrs: dict[str, Any]) -> None:
        if n in self.succ:
            self.nodes[n].update(attrs)
        else:
            self.succ[n] = {}
            self.pred[n] = {}
            self.nodes[n] = attrs

    def link(
        self, a: str, nbrs: dict[str, Any], b: str, key: str | None, data: dict[str, Any]
    ) -> None:
        """add_edge(a, b, key=key, **data) if b is a node; `a` is one, `nbrs` its successors.

        A key of None means the next free number, as networkx's `new_edge_key`.
        """
        into = self.pred.get(b)
        if into is None:
            return
        data = self.shared.setdefault(tuple(data.items()), data)
        keys = nbrs.get(b)
        if keys is None:
            first = 0 if key is None else key
            single = self.single.get((first, id(data)))
            if single is None:
                single = self.single[(first, id(data))] = {first: data}
            nbrs[b] = into[a] = single
            return
        keys = dict(keys)  # a copy: the dict may be shared (see build_graph)
        if key is None:
            k = len(keys)
            while k in keys:
                k += 1
            keys[k] = data
        elif key in keys:
            keys[key] = {**keys[key], **data}  # a new dict: the old one may be shared
        else:
            keys[key] = data
        nbrs[b] = into[a] = keys

    def claim_edges(self, cid: str, c: Claim, slugs: dict[str, str]) -> None:
        me = "claim:" + cid
        out = self.succ[me]
        link = self.link
        for i, q in enumerate(c.quotes):
            link(me, out, "source:" + q.source, None, {"type": "quoted-in", "quote": i})
            if q.speaker:
                link(me, out, "expert:" + q.speaker, None, {"type": "spoken-by", "quote": i})
            if q.origin and q.origin.source:
                link(me, out, "source:" + q.origin.source, None, {"type": "origin", "quote": i})
        for ev in c.evidence:
            link(
                me,
                out,
                "source:" + ev.source,
                None,
                {"type": "evidence", "stance": ev.stance, "directness": ev.directness},
            )
        for r in c.related:
            link(
                me, out, "claim:" + r.claim, "related", {"type": "related", "relation": r.relation}
            )
        if c.review and c.review.reviewer:
            link(
                me,
                out,
                "expert:" + c.review.reviewer,
                "reviewed-by",
                {"type": "reviewed-by", "verdict": c.verdict},
            )
        for t in c.topics:
            link(me, out, "topic:" + slugs[t], "tagged", {"type": "tagged"})

    def source_edges(self, sid: str, s: Source) -> None:
        me = "source:" + sid
        for parent in s.derived_from:
            self.link(
                me, self.succ[me], "source:" + parent, "derived-from", {"type": "derived-from"}
            )

    def expert_edges(self, eid: str, e: Expert) -> None:
        me = "expert:" + eid
        for role in e.roles:
            if role.source:
                self.link(
                    me,
                    self.succ[me],
                    "source:" + role.source,
                    None,
                    {"type": "role-source", "title": role.title},
                )


def _edges_of(out: dict[str, dict[Any, dict[str, Any]]]) -> list[Any]:
    """A node's out-edges, order and attributes included, as a value to compare."""
    return [(b, [(k, list(d.items())) for k, d in keyed.items()]) for b, keyed in out.items()]


def update_graph(
    g: nx.MultiDiGraph[str], kb: KnowledgeBase, changed: Iterable[str], slugs: dict[str, str]
) -> tuple[bool, bool]:
    """Bring `g`, the graph of a previous state of `kb` with the same nodes (the same record
    ids and topics), up to date with the records `changed` (graph node ids), in place.

    The result is exactly what build_graph(kb) makes, down to the order of every dict (a test
    compares them). Returns (whether any node's attributes changed, whether any edge did).
    """
    w = _Writer(Links.of(g))
    touched: set[str] = set()
    attrs_changed = edges_changed = False
    for n in sorted(changed):
        kind, _, ident = n.partition(":")
        if kind == "claim":
            c = kb.claims[ident]  # type: ignore[index]
            attrs = _claim_attrs(ident, c)
        elif kind == "source":
            s = kb.sources[ident]  # type: ignore[index]
            attrs = _source_attrs(ident, s)
        elif kind == "expert":
            e = kb.experts[ident]  # type: ignore[index]
            attrs = _expert_attrs(ident, e)
        else:
            raise ValueError(f"not a record: {n}")
        mine = w.nodes[n]
        if list(mine.items()) != list(attrs.items()):
            attrs_changed = True
            mine.clear()
            mine.update(attrs)
        out = w.succ[n]
        before = _edges_of(out)
        for b in out:
            del w.pred[b][n]
            touched.add(b)
        out.clear()
        if kind == "claim":
            w.claim_edges(ident, c, slugs)
        elif kind == "source":
            w.source_edges(ident, s)
        else:
            w.expert_edges(ident, e)
        touched.update(out)
        if _edges_of(out) != before:
            edges_changed = True
    relinked = set(changed)
    for b in touched:  # each node's predecessors in the order build_graph links them
        into = w.pred[b]
        moved = [item for item in into.items() if item[0] in relinked]
        if not moved:
            continue  # only links taken away: the others keep their order
        # The others are in order already: put each relinked one in its place among them.
        ordered = [item for item in into.items() if item[0] not in relinked]
        for item in sorted(moved, key=lambda kv: _pred_order(kv[0])):
            at = bisect.bisect_left(
                ordered, _pred_order(item[0]), key=lambda kv: _pred_order(kv[0])
            )
            ordered.insert(at, item)
        into.clear()
        into.update(ordered)
    return attrs_changed, edges_changed


# Edge types that may join the same two nodes several times (one edge per quote or item).
_MULTI = frozenset({"quoted-in", "spoken-by", "origin", "evidence", "role-source"})


def summary(g: nx.MultiDiGraph[str], top: int = 5) -> str:
    """Describe the graph: counts by node and edge type, the most connected records, components."""
    import networkx as nx

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
