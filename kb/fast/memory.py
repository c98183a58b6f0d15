"""Decide which pages must be rendered again: a key per page from the hashes of its inputs.

A record page shows its own record and the records that kb.site.pages says it shows (its
neighbours in the graph; for a topic, its claims' speakers and sources too), their problems
and the citations of the sources among them. Its key hashes exactly that (with each one's
out-degree: the local graph skips busy neighbours), plus the code that renders it and the
site-wide settings; a page whose key is the one recorded
with the previous site is linked from it instead of rendered. The site-wide pages (index,
audit, graph, lists) and data files are always rendered. A test builds incrementally after
edits and compares with a clean build byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from kb.errors import Problem
from kb.fast.checkmemory import CheckMemory
from kb.fast.checkstore import CheckStore, record_digests
from kb.fast.pieces import PageOrders
from kb.fast.stored import code_version
from kb.graph import build_graph, update_graph
from kb.model import ClaimId, KnowledgeBase, SourceId
from kb.output import ManifestMemo
from kb.site.marks import Job, QuoteSpans, find_all, highlights
from kb.site.pages import KINDS, RECORD_KINDS, Page, dependencies, pages_showing
from kb.site.state import Site


def _node_digest(site: Site, node: str) -> str:
    kb = site.kb
    kind, _, ident = node.partition(":")
    if kind == "topic":
        return "topic:" + str(site.topic_of.get(ident, ""))
    rec = getattr(kb, f"{kind}s").get(ident)
    if rec is None:
        return "missing"
    digest = kb.digests.get(rec.where.file, rec.where.file)
    if kind == "source":
        digest += f":{rec.snapshot_sha256}"
    return str(digest)


def page_keys(
    site: Site,
    pages: Iterable[Page],
    memory: Memory | None = None,
    orders: PageOrders | None = None,
) -> dict[str, str]:
    """Return {page path: key} for every record page (claim, expert, source, topic).

    Without a memory, each page's dependencies are those `orders` keeps (kb.fast.pieces: a
    build in a new process), or found in the graph, and kept there.

    With a `memory` whose last keys were made for the same graph structure, kb.yaml, sources,
    experts and citations, only the keys of the pages that show a record that changed since, or
    a node whose problems changed, are made again (`_stale`); the others are those of last time.
    """
    common = _common(site)
    pages = list(pages)
    last = memory.caches.get("page-keys") if memory is not None else None
    if (
        memory is not None
        and last is not None
        and last["common"] == common
        and last["structure"] == memory.structure
        and last["world"] == memory.world
        and last["citations"] is site.citations
        and last["pages"] == len(pages)
    ):
        stale = _stale(site, memory.since_plan, last["problems"])
        made = _Keys(site, common, last["out_degree"], last["place"], last["digests"], stale)
        made.orders = last["orders"]  # the same structure: every page's dependencies too
        keys = dict(last["keys"])
        centers = {f"{p.kind}:{p.key}": p for p in pages if p.kind in RECORD_KINDS}
        # the list pages' keys stay: the same structure, the same sources and experts
        showing = pages_showing(site, stale)
        # the reviewers named in an edited claim's review history, before or after the edit:
        # their pages list their earlier reviews (a list that changes with no graph edge)
        gone, now = last.get("earlier", {}), site.earlier_reviewers
        reviewers = {e for n in stale for e in (*gone.get(n, ()), *now.get(n, ()))}
        for node in sorted(showing | reviewers):
            page = centers.get(node)
            if page is None:
                continue
            if (node in stale and node.startswith("claim:")) or node in reviewers:
                made.orders.pop(page.path, None)  # what it shows may have changed
            keys[page.path] = made.key(page)
    else:
        out_degree = {n: sum(map(len, nbrs.values())) for n, nbrs in site.graph.adjacency()}
        # The graph's nodes in sorted order: sorting their places sorts the nodes, quicker.
        place = {n: i for i, n in enumerate(sorted(site.graph))}
        made = _Keys(site, common, out_degree, place, {}, set())
        if memory is None:
            keys = _keys_by_place(made, pages, orders)
        else:
            keys = {p.path: made.key(p) for p in pages if p.kind in RECORD_KINDS}
            keys.update(_list_keys(site, common, memory, pages))
    if memory is not None:
        memory.caches["page-keys"] = {
            "common": common,
            "structure": memory.structure,
            "world": memory.world,
            "citations": site.citations,
            "pages": len(pages),
            "problems": site.problems_by_subject,
            "out_degree": made.out_degree,
            "place": made.place,
            "digests": made.digests,
            "orders": made.orders,
            "keys": keys,
            "earlier": site.earlier_reviewers,
        }
        memory.since_plan = set()
    return keys


# List pages whose inputs are the graph's structure, the topics' names and the records of one
# kind (kb.site.pages: `lists`) are keyed in a long-running process, where the structure's hash
# is kept while the structure is the same. Elsewhere they are always rendered.
_LIST_PAGES = {k.name: k.lists + ":" if k.lists else "" for k in KINDS if k.lists is not None}


def _list_keys(site: Site, common: bytes, memory: Memory, pages: list[Page]) -> dict[str, str]:
    last = memory.caches.get("structure-hash")
    if last is None or last[0] != memory.structure:
        last = memory.caches["structure-hash"] = (memory.structure, _structure_hash(site))
    base = (
        common + b"\0" + last[1] + "\0".join(f"{k}\0{v}" for k, v in site.topic_of.items()).encode()
    )
    keys: dict[str, str] = {}
    for page in pages:
        kind = _LIST_PAGES.get(page.kind)
        if kind is None:
            continue
        h = hashlib.sha1(base + b"\0" + page.kind.encode())
        if kind:
            h.update(
                "\0".join(
                    f"{n}\0{d}" for n, d in sorted(memory.digests.items()) if n.startswith(kind)
                ).encode()
            )
        keys[page.path] = h.hexdigest()
    return keys


def _structure_hash(site: Site) -> bytes:
    """A hash of the graph's nodes and of its edges' ends and types, in the graph's order."""
    return hashlib.sha1(
        "\n".join(
            n + "\0" + "\0".join(b + ":" + ",".join(d["type"] for d in keyed.values())
                                for b, keyed in nbrs.items())
            for n, nbrs in site.succ.items()
        ).encode()
    ).digest()  # fmt: skip


def _stale(site: Site, changed: set[str], problems: dict[str, list[Problem]]) -> set[str]:
    """The nodes whose digest may differ from last time: the changed records, and the nodes
    whose problems changed."""
    stale = set(changed)
    now = site.problems_by_subject
    for n in problems.keys() | now.keys():
        if problems.get(n) != now.get(n):
            stale.add(n)
    return stale


class _Keys:
    """Makes page keys: each node's digest (everything a page can show of it) made once."""

    def __init__(
        self,
        site: Site,
        common: bytes,
        out_degree: dict[str, int],
        place: dict[str, int],
        digests: dict[str, bytes],
        stale: set[str],
    ) -> None:
        self.site, self.common = site, common
        self.out_degree, self.place = out_degree, place
        self.digests = {n: d for n, d in digests.items() if n not in stale} if stale else digests
        self.orders: dict[str, list[str]] = {}  # page -> its dependencies, in order

    def digest(self, n: str) -> bytes:
        got = self.digests.get(n)
        if got is not None:
            return got
        site = self.site
        h = hashlib.sha1(f"{n}\0{_node_digest(site, n)}\0".encode())
        h.update(str(self.out_degree.get(n, -1)).encode())
        for p in site.problems_by_subject.get(n, ()):
            h.update(f"\0{p.code}\0{p.severity}\0{p.loc}\0{p.message}".encode())
        if n.startswith("source:"):
            sid = n.partition(":")[2]
            for style in site.styles:
                c = site.citations.get(style, {}).get(sid)
                if c is not None:
                    h.update(f"\0{style}\0{c.reference_html}\0{c.intext}\0{c.intext_html}".encode())
        got = self.digests[n] = h.digest()
        return got

    def key(self, page: Page) -> str:
        ordered = self.orders.get(page.path)
        if ordered is None:
            deps = dependencies(self.site, page)
            try:
                ordered = sorted(deps, key=self.place.__getitem__)
            except KeyError:  # a node outside the graph
                ordered = sorted(deps)
            self.orders[page.path] = ordered
        digest = self.digest
        # One update with the digests joined hashes the same bytes as one update per digest.
        return hashlib.sha1(self.common + b"".join(map(digest, ordered))).hexdigest()


def _common(site: Site) -> bytes:
    """What every page key hashes first: the code that renders and the site-wide settings."""
    return "\0".join(
        [
            code_version(),
            site.kb.config.title,
            str(site.kb.config.base_url),  # the claim pages' ClaimReview links
            ",".join(site.styles),
            ",".join(site.exports),
            str(site.build_date),
        ]
    ).encode()


def _keys_by_place(
    made: _Keys, pages: Iterable[Page], orders: PageOrders | None = None
) -> dict[str, str]:
    """`made.key` of every record page, made quicker for a whole base (a build that keeps no
    memory): every node's digest once, in a list by the node's place, and each page's
    dependencies sorted as places (ints), not as names; those that `orders` keeps are not
    found again (and those found are kept there)."""
    place = made.place.__getitem__
    nodes = sorted(made.place, key=place)
    at = [made.digest(n) for n in nodes].__getitem__
    kept = orders.get() if orders is not None else None
    found: dict[str, list[int]] = {}
    keys: dict[str, str] = {}
    common = made.common
    for page in pages:
        if page.kind not in RECORD_KINDS:
            continue
        places = kept.get(page.path) if kept is not None else None
        if places is None:
            deps = dependencies(made.site, page)
            try:
                places = sorted(map(place, deps))
            except KeyError:  # a node outside the graph
                ordered = b"".join(map(made.digest, sorted(deps)))
                keys[page.path] = hashlib.sha1(common + ordered).hexdigest()
                continue
        found[page.path] = places
        keys[page.path] = hashlib.sha1(common + b"".join(map(at, places))).hexdigest()
    if orders is not None:
        orders.put(found)
    return keys


MEMORY_KEY = "\0kb.memory"  # its place in a parse cache: no file's path starts with NUL


@dataclass
class Memory:
    """What a build keeps for the next one in a long-running process (`kb serve`, the
    benchmark), in the parse cache it is given: the graph, what the checks found per claim and
    the outputs' own caches, with counters that say what changed since.

    Every build finds the records that changed by their digests (`record_digests`) and brings
    the graph and the checks up to date with those alone where it can (the same record ids and
    topics; for the checks, also the same kb.yaml, sources and experts); otherwise it makes
    them anew. A build that raises forgets it all (`forget`).
    """

    config: Any = None
    digests: dict[str, str | None] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    graph: nx.MultiDiGraph[str] | None = None
    checks: CheckMemory = field(default_factory=CheckMemory)
    checked: bool = False
    checked_at: tuple[int, int] = (-1, -1)  # (structure, world) of the last check
    # Counters, each raised when what it counts changes: kb.yaml or any source or expert
    # (`world`), the graph's nodes or edges (`structure`), any node's attributes (`nodes`).
    world: int = 0
    structure: int = 0
    nodes: int = 0
    changed: set[str] = field(default_factory=set)  # records changed since the last build
    since_plan: set[str] = field(default_factory=set)  # ... since page keys were last made
    # ... and whether the record ids, and kb.yaml, the sources and the experts, stayed the same
    ids_same: bool = False
    world_same: bool = False
    manifests: ManifestMemo = field(default_factory=ManifestMemo)  # the site's, last written
    caches: dict[str, Any] = field(default_factory=dict)  # each output's own, by name

    @classmethod
    def of(cls, cache: dict[str, Any] | None) -> Memory | None:
        """Return the memory kept in a parse cache (made on first use); None without one."""
        if cache is None:
            return None
        got = cache.get(MEMORY_KEY)
        if not isinstance(got, Memory):
            got = cache[MEMORY_KEY] = Memory()
        return got

    @staticmethod
    def forget(cache: dict[str, Any] | None) -> None:
        """Drop the memory of a parse cache (a build failed half way: it may be half updated)."""
        if cache is not None:
            cache.pop(MEMORY_KEY, None)

    def note(self, kb: KnowledgeBase) -> None:
        """Note which records changed since the last build (and whether kb.yaml did)."""
        digests = record_digests(kb)
        old = self.digests
        changed = {n for n, d in digests.items() if d is None or old.get(n) != d}
        changed.update(old.keys() - digests.keys())
        self.world_same = kb.config == self.config and all(n.startswith("claim:") for n in changed)
        self.world += not self.world_same
        self.ids_same = digests.keys() == old.keys()
        self.changed = changed
        self.since_plan |= changed
        self.config, self.digests = kb.config, digests

    def graph_of(self, kb: KnowledgeBase) -> nx.MultiDiGraph[str]:
        """Return the graph of `kb` (noted): the last one brought up to date where the record
        ids and topics are the same, else a new one."""
        topics = kb.topics()
        if self.graph is not None and self.ids_same and topics == self.topics:
            attrs, edges = update_graph(self.graph, kb, self.changed, topics)
            self.nodes += attrs
            self.structure += edges
        else:
            self.graph = None  # not half up to date, should build_graph raise
            self.graph = build_graph(kb)
            self.nodes += 1
            self.structure += 1
        self.topics = topics
        return self.graph

    def citations(self) -> Any:
        """The citations of the last build if no source and not kb.yaml changed since, else None
        (they are formatted from the sources and the styles kb.yaml names)."""
        got = self.caches.get("citations")
        return got[1] if got is not None and got[0] == self.world else None

    def warm(self) -> bool:
        """True when the outputs' caches were filled by the last build (not a first one)."""
        return "assets" in self.caches

    def keep_citations(self, citations: Any) -> None:
        """Keep this build's citations for the next."""
        self.caches["citations"] = (self.world, citations)

    def check(
        self, kb: KnowledgeBase, graph: nx.MultiDiGraph[str], say: Callable[[str], None]
    ) -> list[Problem]:
        """Run the checks: on the changed claims only, where that gives what a full run would.
        The first time (or after kb.yaml, a source, an expert or the claim ids changed), the
        claims whose findings the base's store keeps (kb.fast.checkstore) are not checked
        again, and the store is brought up to date."""
        self.checked, few = False, self.checked and self.ids_same and self.world_same
        if not few:
            store = CheckStore(kb.root, say)
            recalled = store.recall(kb)
            recalled.memory.recall = self.checks.recall  # the snapshots folded last time
            self.checks = recalled.memory
            found = store.check(kb, graph, recalled)
        else:
            changed = {n.partition(":")[2] for n in self.changed}
            # The checks across records see the edges (loops of related claims, orphans),
            # sources, experts and kb.yaml; and a reported claim's file, for its place.
            same_across = self.checked_at == (self.structure, self.world) and not any(
                p.subject in self.changed for p in self.checks.across
            )
            found = self.checks.check(kb, graph, changed, same_across)
        self.checked = True  # (not when a run raised: the next checks every claim)
        self.checked_at = (self.structure, self.world)
        return found


@dataclass
class StoredMemo:
    """A kb.memo.Memo: what one output keeps between the builds of a long-running process."""

    digests: Mapping[str, str | None]  # graph node -> its record's digest (None: not cached)
    world: int  # changes whenever kb.yaml, a source or an expert changes
    structure: int  # changes whenever the graph's nodes or edges (attributes included) change
    store: dict[str, Any] = field(default_factory=dict)

    def digest(self, node: str) -> str | None:
        """The digest of a record this build (None: not known, make its piece again)."""
        return self.digests.get(node)


def quote_spans(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], memory: Memory) -> QuoteSpans:
    """find_all(kb), from the last build's where no source, no expert, not kb.yaml and not
    the claim ids changed since: the changed claims' quotes, and the highlights of the
    sources they quote (before and after the change), found again."""
    last = memory.caches.get("spans")
    if last is None or last["world"] != memory.world or last["claims"].keys() != kb.claims.keys():
        spans = find_all(kb)
    else:
        changed = {
            ClaimId(n.partition(":")[2]) for n in memory.since_plan if n.startswith("claim:")
        }
        spans = last["spans"]
        if changed:
            spans = QuoteSpans(dict(spans.quotes), dict(spans.origins), dict(spans.by_source))
            for cid in changed:  # what was found of the changed claims' quotes goes
                old = last["claims"].get(cid)
                for i in range(len(old.quotes) if old is not None else 0):
                    spans.quotes.pop((cid, i), None)
                    spans.origins.pop((cid, i), None)
            quoted: set[str] = set()
            for cid in changed:
                for claim in (last["claims"].get(cid), kb.claims.get(ClaimId(cid))):
                    for q in claim.quotes if claim is not None else ():
                        quoted.add(q.source)
                        if q.origin and q.origin.source:
                            quoted.add(q.origin.source)
            for sid in sorted(quoted):
                spans.by_source.pop(SourceId(sid), None)
                jobs = _jobs(kb, graph, sid)
                if jobs:
                    highlights(kb, SourceId(sid), jobs, spans)
    memory.caches["spans"] = {"world": memory.world, "claims": kb.claims, "spans": spans}
    return spans


def _jobs(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], sid: str) -> list[Job]:
    """What find_all looks for in the snapshot of `sid`, in its order."""
    node = "source:" + sid
    if node not in graph:
        return []
    jobs: list[Job] = []
    for other in sorted(graph.pred[node]):
        kind, _, cid = other.partition(":")
        claim = kb.claims.get(ClaimId(cid)) if kind == "claim" else None
        for i, q in enumerate(claim.quotes if claim is not None else ()):
            if q.source == sid:
                jobs.append(((ClaimId(cid), i), False, q.text, q.prefix, q.suffix))
            o = q.origin
            if o and o.source == sid and o.text:
                jobs.append(((ClaimId(cid), i), True, o.text, None, None))
    return jobs
