"""Everything the pages need, computed once per build from the records, the graph and the checks."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import networkx as nx

from kb.errors import Problem, Severity
from kb.memo import Memo
from kb.model import CITE_MARK, ClaimId, KnowledgeBase, source_date
from kb.site.marks import QuoteSpans, find_all


class CitationLike(Protocol):
    """What the pages use of a `kb.cite.claims.Citation`."""

    @property
    def reference_html(self) -> str: ...
    @property
    def reference_text(self) -> str: ...
    @property
    def intext(self) -> str: ...
    @property
    def intext_html(self) -> str: ...


Citations = Mapping[str, Mapping[str, CitationLike]]


@dataclass(frozen=True, slots=True)
class Counts:
    """How many errors and warnings the checks found about one record."""

    errors: int = 0
    warnings: int = 0

    @property
    def total(self) -> int:
        """Errors and warnings together."""
        return self.errors + self.warnings


@dataclass(slots=True)
class Site:
    """The inputs of every page, with the indexes that spare each page a scan of the whole base."""

    kb: KnowledgeBase
    graph: nx.MultiDiGraph[str]
    problems: list[Problem]
    citations: Citations
    styles: tuple[str, ...]
    build_date: str | None
    exports: tuple[str, ...]
    slugs: dict[str, str] = field(default_factory=dict)  # topic text -> slug
    topic_of: dict[str, str] = field(default_factory=dict)  # slug -> topic text
    claims_by_topic: dict[str, list[ClaimId]] = field(default_factory=dict)
    spans: QuoteSpans | None = None
    problems_by_subject: dict[str, list[Problem]] = field(default_factory=dict)
    counts: dict[str, Counts] = field(default_factory=dict)
    node_data: dict[str, dict[str, Any]] = field(default_factory=dict)  # graph node -> attrs
    # Views made once and shared by pages: records' links per folder (refs.claim_ref and co.),
    # citations, and each folder's page chrome (render.chrome); never mutated once made.
    refs: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    graph_bits: dict[str, Any] = field(default_factory=dict)  # node -> what local graphs show
    graph_links: dict[str, dict[str, str]] = field(default_factory=dict)  # folder -> node -> <a>
    # The graph's own adjacency, read-only: node -> other node -> edge key -> edge data, for the
    # edges from the node (succ) and the edges to it (pred).
    succ: dict[str, dict[str, dict[Any, dict[str, Any]]]] = field(default_factory=dict)
    pred: dict[str, dict[str, dict[Any, dict[str, Any]]]] = field(default_factory=dict)
    near: dict[str, frozenset[str]] = field(default_factory=dict)  # see `neighbours`
    # What the browser data (kb.site.sitedata) keeps between builds of a long-running process
    memo: Memo | None = None
    # the sources that reviews cite as [@id] in their rationale: claim node -> source nodes,
    # and source node -> claim nodes (a claim page shows each one's short citation)
    cites: dict[str, set[str]] = field(default_factory=dict)
    cited_by: dict[str, set[str]] = field(default_factory=dict)
    # the reviewers named in a claim's review history (earlier reviews): claim node -> expert
    # nodes, and expert node -> claim nodes (a reviewer's page lists their earlier reviews)
    earlier_reviewers: dict[str, set[str]] = field(default_factory=dict)
    reviewed_earlier: dict[str, set[str]] = field(default_factory=dict)
    # claim id -> its schema.org ClaimReview as compact JSON safe in a script
    # (kb.export.claimreview.reviews_of), embedded in the claim's page; None: the pages embed none
    claim_reviews: Callable[[str], str | None] | None = None
    # A long-running process's caches (kb.fast.memory.Memory.caches), where long tables find
    # the rows drawn by the last build ("rows:" + macro; see kb.site.jinja.table), or None; and
    # what this process drew since the build set `drawn` (the build keeps it for the next)
    caches: dict[str, Any] | None = None
    drawn: dict[str, dict[Any, Any]] = field(default_factory=dict)
    # values that several outputs of one build make alike (the audit page and its data file
    # share their rows): made once per build and process, by name; never mutated once made
    once: dict[str, Any] = field(default_factory=dict)

    def problems_of(self, node: str) -> list[Problem]:
        """Return the problems about one graph node, in file order."""
        return self.problems_by_subject.get(node, [])

    def counts_of(self, node: str) -> Counts:
        """Return the error and warning counts of one graph node."""
        return self.counts.get(node, _NO_COUNTS)

    def neighbours(self, node: str) -> frozenset[str]:
        """Return the nodes linked to `node` either way (itself too when it links to itself),
        worked out once per node."""
        near = self.near.get(node)
        if near is None:
            near = self.near[node] = self._linked(node)
        return near

    def _linked(self, node: str) -> frozenset[str]:
        return frozenset(self.succ.get(node, ())).union(self.pred.get(node, ()))

    def around(self, node: str) -> frozenset[str]:
        """Return `node` and the nodes linked to it either way, made each time: a page asks for
        its own node's, once (kept, they would grow with every page a process renders)."""
        return (self.near.get(node) or self._linked(node)) | {node}

    def forget_walks(self) -> None:
        """Drop the neighbour sets that walks over the whole graph kept (the page keys': one per
        node, 60 MB at 100,000 claims); a page needs only its own node's, made again when
        asked."""
        self.near.clear()

    def links_of(self, node: str) -> dict[str, frozenset[str]]:
        """Return {other node: types of the edges between them, either way} for a node of the
        graph (itself left out)."""
        got = {
            b: frozenset([d["type"] for d in keyed.values()])
            for b, keyed in self.succ[node].items()
            if b != node
        }
        for a, keyed in self.pred[node].items():
            if a == node:
                continue
            types = frozenset([d["type"] for d in keyed.values()])
            got[a] = types if a not in got else got[a] | types
        return got

    def incoming(self, node: str) -> list[tuple[str, str, dict[str, Any]]]:
        """Return (other node, edge type, edge data) for every edge that ends at `node`.

        Sorted by type and other node; edges that tie keep the graph's (deterministic) order.
        """
        into = self.pred.get(node, {})
        rows = [(u, d["type"], d) for u, keyed in into.items() for d in keyed.values()]
        rows.sort(key=_by_type_and_node)
        return rows


def _by_type_and_node(row: tuple[str, str, dict[str, Any]]) -> tuple[str, str]:
    return row[1], row[0]


_NO_COUNTS = Counts()


def build_date_from_env() -> str | None:
    """Return the UTC date of SOURCE_DATE_EPOCH, or None when it is not set (no wall clock).
    A value that is no date (a year past 9999) is a KBError."""
    return source_date()


def prepare(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    citations: Citations,
    *,
    exports: Sequence[str] = (),
    build_date: str | None = None,
    spans: QuoteSpans | None = None,
    claim_reviews: Callable[[str], str | None] | None = None,
) -> Site:
    """Index the knowledge base once for all pages (backlinks, problems, quote places, topics).

    `spans`: the places of the quotes, when the caller has them (a long-running process finds
    again only those of the claims that changed: kb.fast.memory.quote_spans); else found here.
    """
    shown = sorted(
        (p for p in problems if p.severity != Severity.OFF),
        key=lambda p: (*p.sort_key(), p.subject or ""),
    )
    styles = _order_styles(citations, kb.config.style)
    site = Site(kb, graph, shown, citations, styles, build_date, tuple(sorted(exports)))
    site.slugs = kb.topics()
    site.topic_of = {slug: topic for topic, slug in site.slugs.items()}
    by_topic: dict[str, list[ClaimId]] = defaultdict(list)
    for cid, claim in sorted(kb.claims.items()):
        for t in claim.topics:
            ids = by_topic[site.slugs[t]]
            if not ids or ids[-1] != cid:  # a claim is added while it is the one looked at
                ids.append(cid)
    site.claims_by_topic = dict(by_topic)
    by_subject: dict[str, list[Problem]] = defaultdict(list)
    errors: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for p in shown:
        if p.subject:
            by_subject[p.subject].append(p)
            (errors if p.severity == Severity.ERROR else warnings)[p.subject] += 1
    site.problems_by_subject = dict(by_subject)
    site.counts = {n: Counts(errors[n], warnings[n]) for n in sorted(set(errors) | set(warnings))}
    site.spans = find_all(kb) if spans is None else spans
    site.claim_reviews = claim_reviews
    for cid, claim in kb.claims.items():
        review = claim.review
        earlier = {"expert:" + h.reviewer for h in review.history if h.reviewer} if review else ()
        if earlier:
            site.earlier_reviewers["claim:" + cid] = set(earlier)
            for n in earlier:
                site.reviewed_earlier.setdefault(n, set()).add("claim:" + cid)
        if review is not None and review.rationale and "[@" in review.rationale:
            cited = {
                "source:" + m.group(1)
                for m in CITE_MARK.finditer(review.rationale)
                if m.group(1) in kb.sources
            }
            if cited:
                site.cites["claim:" + cid] = cited
                for n in cited:
                    site.cited_by.setdefault(n, set()).add("claim:" + cid)
    site.node_data = {n: d for n, d in graph.nodes(data=True)}
    site.succ = dict(graph.adjacency())
    site.pred = dict(graph.reverse(copy=False).adjacency())
    return site


def with_citations(site: Site, citations: Citations) -> Site:
    """Give a site prepared without citations (while they were being formatted) its citations,
    as `prepare` would have: nothing else it indexes depends on them."""
    site.citations = citations
    site.styles = _order_styles(citations, site.kb.config.style)
    return site


def _order_styles(citations: Citations, default: str) -> tuple[str, ...]:
    styles = [s for s in citations if citations[s]]
    styles.sort(key=lambda s: (s != default, s))
    return tuple(styles)
