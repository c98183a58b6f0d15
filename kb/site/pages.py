"""Every page of the site and what each shows: the one definition that rendering, page keys and
incremental rebuilds all read.

A site-wide page (index, audit, graph and the lists) has one path. A record page (claim,
expert, source, topic) has one per record and shows its centre and what `shows` reaches from
it: walks in the graph, each a sequence of steps (an edge type or ANY, then the kind of node
reached or ANY). Its page key hashes every node its walks reach (kb.fast.memory), and an edit
of a node makes again the pages whose walks reach it (`pages_showing`, the same walks
backwards). A list page with `lists` set shows only the graph's structure, the topics' names
and the records of that kind ("" for none), and is keyed by exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kb.graph import node_id
from kb.site.state import Site
from kb.urls import (
    AUDIT_PAGE,
    EXPERTS_PAGE,
    GRAPH_PAGE,
    INDEX_PAGE,
    SOURCES_PAGE,
    TOPICS_PAGE,
    page_path,
)

ANY = ""
Step = tuple[str, str]  # (edge type, or ANY; kind of the node reached, or ANY)
Walk = tuple[Step, ...]
NEIGHBOURS: Walk = ((ANY, ANY),)


@dataclass(frozen=True, slots=True, order=True)
class Page:
    """One page of the site: where it goes, which template draws it, and for which record."""

    path: str
    kind: str  # claim, expert, source, topic, index, audit, graph, topics, experts, sources
    key: str = ""  # the record id or topic slug, for record pages


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of page: its template is `<name>.html`."""

    name: str
    path: str | None = None  # a site-wide page's path; None: a page per record of kind `name`
    shows: tuple[Walk, ...] = ()  # a record page: what it shows beyond its centre
    lists: str | None = None  # a list page keyed by the structure and records of this kind

    @property
    def record(self) -> bool:
        """True for a page per record (claim, expert, source, topic)."""
        return self.path is None


KINDS: tuple[Kind, ...] = (
    Kind("index", INDEX_PAGE),
    Kind("audit", AUDIT_PAGE),
    Kind("graph", GRAPH_PAGE, lists=ANY),
    Kind("topics", TOPICS_PAGE, lists=ANY),
    Kind("experts", EXPERTS_PAGE, lists="expert"),
    Kind("sources", SOURCES_PAGE, lists="source"),
    # a claim, expert or source page shows its neighbours; an expert page also the sources of
    # the quotes they spoke; a topic page also its claims' speakers, sources and other topics
    Kind("claim", shows=(NEIGHBOURS,)),
    Kind("expert", shows=(NEIGHBOURS, (("spoken-by", "claim"), (ANY, "source")))),
    Kind("source", shows=(NEIGHBOURS,)),
    Kind("topic", shows=(NEIGHBOURS, ((ANY, "claim"), (ANY, ANY)))),
)
BY_NAME = {k.name: k for k in KINDS}
RECORD_KINDS = frozenset(k.name for k in KINDS if k.record)
# The site-wide pages: each shows many records (the heaviest to render).
LIST_KINDS = frozenset(k.name for k in KINDS if not k.record)


def pages(site: Site) -> list[Page]:
    """List every page of the site, in a fixed order: the site-wide ones, then claims,
    experts, sources and topics, each by id."""
    kb = site.kb
    ids: dict[str, Iterable[str]] = {
        "claim": kb.claims,
        "expert": kb.experts,
        "source": kb.sources,
        "topic": site.topic_of,
    }
    out = [Page(k.path, k.name) for k in KINDS if k.path is not None]
    for k in KINDS:
        if k.record:
            out += [Page(page_path(k.name, key), k.name, key) for key in sorted(ids[k.name])]
    return out


def dependencies(site: Site, page: Page) -> set[str]:
    """The graph nodes a record page shows: its centre and every node its walks reach. A
    site-wide page depends on everything and returns an empty set."""
    kind = BY_NAME[page.kind]
    if not kind.record:
        return set()
    center = node_id(page.kind, page.key)
    deps = {center}
    deps.update(site.cites.get(center, ()))  # the sources its rationale cites as [@id]
    # earlier reviews: a reviewer's page lists them, a claim's page names their reviewers
    deps.update(site.reviewed_earlier.get(center, ()))
    deps.update(site.earlier_reviewers.get(center, ()))
    for walk in kind.shows:
        frontier = {center}
        for edge, reached in walk:
            frontier = {n for f in frontier for n in _step(site, f, edge, reached)}
            deps |= frontier
    return deps


def pages_showing(site: Site, nodes: Iterable[str]) -> set[str]:
    """The centres of the record pages that may show one of `nodes`: its own, and those whose
    walks reach it (the walks taken backwards)."""
    out: set[str] = set()
    for node in nodes:
        if node not in site.succ:
            continue
        out.add(node)
        out.update(site.cited_by.get(node, ()))  # the claims whose rationale cites it as [@id]
        out.update(site.earlier_reviewers.get(node, ()))  # who reviewed this claim before
        out.update(site.reviewed_earlier.get(node, ()))  # what this reviewer reviewed before
        for kind in KINDS:
            for walk in kind.shows:
                for j, (_, reached) in enumerate(walk):
                    if reached and not node.startswith(reached + ":"):
                        continue
                    frontier = {node}
                    for i in range(j, -1, -1):
                        before = walk[i - 1][1] if i else kind.name
                        frontier = {n for f in frontier for n in _step(site, f, walk[i][0], before)}
                    out |= frontier
    return out


def _step(site: Site, node: str, edge: str, reached: str) -> set[str] | frozenset[str]:
    """The nodes one step from `node`, either way, by an edge of type `edge` (ANY: any) that
    are of kind `reached` (ANY: any)."""
    prefix = reached + ":" if reached else ""
    if not edge:
        near = site.neighbours(node)
        return near if not prefix else {n for n in near if n.startswith(prefix)}
    out: set[str] = set()
    for adjacent in (site.succ.get(node, {}), site.pred.get(node, {})):
        for other, keyed in adjacent.items():
            if other.startswith(prefix) and any(d["type"] == edge for d in keyed.values()):
                out.add(other)
    return out
