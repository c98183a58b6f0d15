"""Render the site: every page from a Jinja template, plus assets and browser data, in memory.

`render_site` is the whole job, in memory. To render in parallel or skip pages, use the parts:
`prepare` indexes the base once, `pages` lists every page as a small `Page`, and
`render_page(site, page)` renders one; `assets(site)` returns the files that are not pages;
`write_files` runs such work in this process and forked workers, writing files as they come.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from typing import Any

import networkx as nx

from kb.errors import Problem, Severity
from kb.graph import EDGE_TYPES, node_id
from kb.model import KnowledgeBase
from kb.site import refs, views
from kb.site.auditpage import AUDIT_DATA, audit_data, audit_page
from kb.site.jinja import _template
from kb.site.linking import problem_counts
from kb.site.pages import Page, pages
from kb.site.present import (
    EDGE_LABELS,
    KIND_LABELS,
    VERDICT_ORDER,
    Links,
    badge,
    evidence_level_label,
    short,
    verdict_label,
)
from kb.site.sitedata import graph_data, search_index
from kb.site.state import Citations, Site, build_date_from_env, prepare
from kb.urls import (
    GRAPH_DATA,
    SEARCH_INDEX,
    static_path,
)

# Assets copied into the site; livereload.js is served by `kb serve` only.
STATIC_FILES = ("site.css", "site.js", "graph.js", "audit.js", "favicon.svg")


def render_page(site: Site, page: Page) -> bytes:
    """Render one page to bytes; depends only on `site` and `page`."""
    u = Links(page.path)
    ctx = _context(site, page, u)
    ctx.update(u=u, site_title=site.kb.config.title, chrome=chrome(site, page.kind, u))
    return _template(f"{page.kind}.html").render(ctx).encode("utf-8")


def chrome(site: Site, kind: str, u: Links) -> dict[str, Any]:
    """Return the head, masthead and footer of a page (`_chrome.html`), made once per folder
    and kind of page: they link to the same places from every page of a folder."""
    key = ("chrome", u.folder, kind)
    got = site.refs.get(key)
    if got is None:
        m = _template("_chrome.html").module
        exports = [{"name": p.rpartition("/")[2], "href": u.to(p)} for p in site.exports]
        got = site.refs[key] = {
            "head": m.head(),  # type: ignore[attr-defined]
            "links": m.links(u),  # type: ignore[attr-defined]
            "top": m.top(u, kind, site.kb.config.title),  # type: ignore[attr-defined]
            "bottom": m.bottom(site.build_date, exports),  # type: ignore[attr-defined]
        }
    return got


def _context(site: Site, page: Page, u: Links) -> dict[str, Any]:
    k = site.kb
    if page.kind == "claim":
        return views.claim_page(site, k.claims[page.key], u)  # type: ignore[index]
    if page.kind == "expert":
        return views.expert_page(site, k.experts[page.key], u)  # type: ignore[index]
    if page.kind == "source":
        return views.source_page(site, k.sources[page.key], u)  # type: ignore[index]
    if page.kind == "topic":
        return views.topic_page(site, page.key, u)
    return _LIST_VIEWS[page.kind](site, u)


def _index(site: Site, u: Links) -> dict[str, Any]:
    k = site.kb
    by_verdict = {v: 0 for v in VERDICT_ORDER}
    for c in k.claims.values():
        by_verdict[c.verdict] = by_verdict.get(c.verdict, 0) + 1
    biggest = max(by_verdict.values(), default=0) or 1
    bars = [
        {
            "verdict": v,
            "badge": badge(v),
            "label": verdict_label(v),
            "count": n,
            "width": round(100 * n / biggest),
        }
        for v, n in by_verdict.items()
    ]
    unreviewed = sorted(cid for cid, c in k.claims.items() if c.review is None)
    # the ten latest: by date, newest first, then in id order
    reviews = heapq.nsmallest(
        10,
        ((_negated(c.review.date or ""), cid) for cid, c in k.claims.items() if c.review),
    )
    latest: list[dict[str, Any]] = []
    for _, cid in reviews:
        review = k.claims[cid].review
        assert review is not None
        latest.append(
            {
                "claim": refs.claim_ref(site, cid, u),
                "date": review.date or "",
                "reviewer": refs.expert_ref(site, review.reviewer, u),
            }
        )
    # what every one of the latest shares is said once, above the list
    same_date = len({r["date"] for r in latest}) == 1 and len(latest) > 1
    same_reviewer = len({r["reviewer"]["id"] if r["reviewer"] else None for r in latest}) == 1
    same_reviewer = same_reviewer and len(latest) > 1
    errors = sum(1 for p in site.problems if p.severity == Severity.ERROR)
    topics = _topic_rows(site, u)
    return {
        "title": "Dashboard",
        "stats": {
            "claims": len(k.claims),
            "reviewed": len(k.claims) - len(unreviewed),
            "unreviewed": len(unreviewed),
            "experts": len(k.experts),
            "sources": len(k.sources),
            "topics": len(site.topic_of),
            "errors": errors,
            "warnings": len(site.problems) - errors,
        },
        "bars": bars,
        "unreviewed": [refs.claim_ref(site, cid, u) for cid in unreviewed[:15]],
        "unreviewed_more": max(0, len(unreviewed) - 15),
        "problem_counts": problem_counts(site.problems),
        "latest": latest,
        "latest_date": latest[0]["date"] if same_date else None,
        "latest_reviewer": latest[0]["reviewer"] if same_reviewer else None,
        "articles": _articles(site, u),
        "topics": topics[:40],
        "topics_more": max(0, len(topics) - 40),
        "experts": _expert_rows(site, u, first=8),
        "sources": [dict(r, title=short(r["title"], 64)) for r in _source_rows(site, u, first=8)],
    }


# Each ASCII character to one that sorts the other way round (a date is ASCII)
_REVERSED = {i: chr(0x10FFFF - i) for i in range(128)}


def _negated(date: str) -> str:
    """A key that sorts ISO dates newest first: each character mapped to one that sorts the
    other way round (a shorter date, a prefix of a longer, still sorts first)."""
    if date.isascii():
        return date.translate(_REVERSED)
    return "".join(chr(0x10FFFF - ord(ch)) for ch in date)


def _articles(site: Site, u: Links) -> list[dict[str, Any]]:
    """The sources that claims quote, most quoted first: each one's reading view."""
    counts: dict[str, int] = {}
    for claim in site.kb.claims.values():
        for q in claim.quotes:
            if q.source in site.kb.sources:
                counts[q.source] = counts.get(q.source, 0) + 1
    top = heapq.nsmallest(5, ((-n, sid) for sid, n in counts.items()))
    return [
        {
            "title": short(site.kb.sources[sid].title, 80),  # type: ignore[index]
            "href": u.source(sid, "kb-article"),
            "quotes": -minus,
        }
        for minus, sid in top
    ]


def _graph(site: Site, u: Links) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for d in site.node_data.values():
        counts[d["type"]] = counts.get(d["type"], 0) + 1
    ecounts: dict[str, int] = {}  # links: (from, to, type) once each, loops left out
    for a, nbrs in site.succ.items():
        for b, keyed in nbrs.items():
            if a != b:
                for t in {d["type"] for d in keyed.values()}:
                    ecounts[t] = ecounts.get(t, 0) + 1
    return {
        "title": "Graph",
        "node_types": [(t, KIND_LABELS[t], counts.get(t, 0)) for t in KIND_LABELS],
        "edge_types": [(t, EDGE_LABELS[t], ecounts.get(t, 0)) for t in EDGE_TYPES],
        "verdicts": [(v, verdict_label(v)) for v in VERDICT_ORDER],
        "nodes": site.graph.number_of_nodes(),
        "edges": sum(ecounts.values()),
    }


def _topic_rows(site: Site, u: Links) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "label": site.topic_of[s],
            "href": u.topic(s),
            "count": len(site.claims_by_topic.get(s, [])),
        }
        for s in site.topic_of
    ]
    rows.sort(key=lambda r: (-r["count"], r["label"].casefold(), r["href"]))
    return rows


def _first(keys: list[tuple[Any, ...]], first: int | None) -> list[tuple[Any, ...]]:
    """The keys in order, or only the `first` ones (found without sorting them all)."""
    return sorted(keys) if first is None else heapq.nsmallest(first, keys)


def _expert_rows(site: Site, u: Links, first: int | None = None) -> list[dict[str, Any]]:
    """The experts' rows (kind `expert` only: not reviewers, organisations or other people),
    most quoted first (or only the `first` ones)."""
    keys = []
    for eid, e in site.kb.experts.items():
        if e.kind != "expert":
            continue
        into = site.pred.get(node_id("expert", eid), {})
        quotes = sum(d["type"] == "spoken-by" for keyed in into.values() for d in keyed.values())
        keys.append((-quotes, e.name.casefold(), eid))
    rows: list[dict[str, Any]] = []
    for minus, _, eid in _first(keys, first):
        e = site.kb.experts[eid]
        roles = "; ".join(", ".join(filter(None, (r.title, r.organization))) for r in e.roles)
        rows.append(
            {
                "name": e.name,
                "href": u.expert(eid),
                "id": eid,
                "quotes": -minus,
                "roles": roles,
                "credentials": e.credentials,
            }
        )
    return rows


def _source_rows(site: Site, u: Links, first: int | None = None) -> list[dict[str, Any]]:
    """The sources' rows, most linked first (or only the `first` ones)."""
    keys = [
        (-len(site.pred.get(node_id("source", sid), {})), s.title.casefold(), sid)
        for sid, s in site.kb.sources.items()
    ]  # by the number of nodes that link to it
    rows: list[dict[str, Any]] = []
    for minus, _, sid in _first(keys, first):
        s = site.kb.sources[sid]
        rows.append(
            {
                "title": s.title,
                "href": u.source(sid),
                "id": sid,
                "year": s.year or "",
                "level": evidence_level_label(s.evidence_level),
                "retracted": s.retracted,
                "claims": -minus,
                "snapshot": s.snapshot_text is not None,
            }
        )
    return rows


def _topics(site: Site, u: Links) -> dict[str, Any]:
    return {"title": "Topics", "rows": _topic_rows(site, u)}


def _experts(site: Site, u: Links) -> dict[str, Any]:
    return {"title": "Experts", "rows": _expert_rows(site, u)}


def _sources(site: Site, u: Links) -> dict[str, Any]:
    return {"title": "Sources", "rows": _source_rows(site, u)}


_LIST_VIEWS = {
    "index": _index,
    "audit": audit_page,
    "graph": _graph,
    "topics": _topics,
    "experts": _experts,
    "sources": _sources,
}


def static_asset(name: str) -> bytes:
    """Return the bytes of a bundled asset from kb/static."""
    return (resources.files("kb") / "static" / name).read_bytes()


def assets(site: Site) -> dict[str, bytes]:
    """Return the files that are not pages: styles, scripts, search index and graph data."""
    files: dict[str, bytes] = {}
    for make in asset_parts(site).values():
        files.update(make())
    return files


def asset_parts(site: Site) -> dict[str, Callable[[], dict[str, bytes]]]:
    """`assets(site)` in parts that can be made apart (in parallel), by name: the static files
    and the graph data ("graph"), the search index ("search"), and the audit page's data
    ("audit"). Each part's files are its own."""

    def static_and_graph() -> dict[str, bytes]:
        files = {static_path(name): static_asset(name) for name in STATIC_FILES}
        files[GRAPH_DATA] = graph_data(site)
        return files

    def audit() -> dict[str, bytes]:
        data = audit_data(site)
        return {AUDIT_DATA: data} if data is not None else {}

    return {
        "graph": static_and_graph,
        "search": lambda: {SEARCH_INDEX: search_index(site)},
        "audit": audit,
    }


def render_pages(site: Site, todo: Iterable[Page]) -> Iterator[tuple[str, bytes]]:
    """Render several pages (e.g. one worker's share), yielding (path, bytes)."""
    for page in todo:
        yield page.path, render_page(site, page)


def render_all(site: Site, todo: list[Page] | None = None) -> dict[str, bytes]:
    """Render the assets and every page (or the `todo` ones) in this process, in memory.

    For a site written to disk, the build uses `write_files`, which spreads the same work
    over forked workers and writes each file as it is made.
    """
    todo = pages(site) if todo is None else todo
    files = dict(assets(site))
    files.update(render_pages(site, todo))
    return dict(sorted(files.items()))


def render_site(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: list[Problem],
    citations: Citations,
    *,
    exports: Sequence[str] = (),
) -> dict[str, bytes]:
    """Render the whole site: site path (posix) -> bytes. Pure: same input, same bytes.

    `exports` lists the site paths of export files the build writes, to link them from pages.
    The build date is shown only when SOURCE_DATE_EPOCH is set.
    """
    site = prepare(
        kb, graph, problems, citations, exports=exports, build_date=build_date_from_env()
    )
    return render_all(site)
