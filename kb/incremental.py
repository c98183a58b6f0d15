"""Decide which pages must be rendered again: a key per page from the hashes of its inputs.

A record page shows its own record and the records `render.dependencies` names (its direct
neighbours in the graph; for a topic, its claims' speakers and sources too), their problems and
the citations of the sources among them. Its key hashes exactly that (with each one's
out-degree: the local graph skips busy neighbours),
plus the code that renders it and the site-wide settings; a page whose key is the one recorded
with the previous site is linked from it instead of rendered. The site-wide pages (index,
audit, graph, lists) and data files are always rendered. A test builds incrementally after
edits and compares with a clean build byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from kb.render import dependencies

# Modules whose code shapes the pages; a change in any of them changes every key.
_RENDER_MODULES = (
    "render.py", "site.py", "views.py", "present.py", "localgraph.py", "marks.py", "urls.py",
    "sitedata.py", "quotes.py", "graph.py", "model.py", "__init__.py",
)  # fmt: skip


@cache
def code_version() -> str:
    """Hash the templates, static files and rendering modules of the installed kb."""
    h = hashlib.sha1()
    root = resources.files("kb")
    for folder in ("templates", "static"):
        for item in sorted((root / folder).iterdir(), key=lambda p: p.name):
            if item.is_file():
                h.update(item.name.encode() + b"\0" + item.read_bytes())
    for name in _RENDER_MODULES:
        item = root / name
        if item.is_file():
            h.update(name.encode() + b"\0" + item.read_bytes())
    return h.hexdigest()


def _node_digest(site: Any, node: str) -> str:
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


def page_keys(site: Any, pages: Iterable[Any]) -> dict[str, str]:
    """Return {page path: key} for every record page (claim, expert, source, topic)."""
    common = "\0".join(
        [
            code_version(),
            site.kb.config.title,
            ",".join(site.styles),
            ",".join(site.exports),
            str(site.build_date),
        ]
    ).encode()
    out_degree = {n: sum(map(len, nbrs.values())) for n, nbrs in site.graph.adjacency()}

    class Digests(dict[str, bytes]):
        """Everything a page can show of a node, hashed once per node (on first use)."""

        def __missing__(self, n: str) -> bytes:
            h = hashlib.sha1(f"{n}\0{_node_digest(site, n)}\0".encode())
            h.update(str(out_degree.get(n, -1)).encode())
            for p in site.problems_by_subject.get(n, ()):
                h.update(f"\0{p.code}\0{p.severity}\0{p.loc}\0{p.message}".encode())
            if n.startswith("source:"):
                sid = n.partition(":")[2]
                for style in site.styles:
                    c = site.citations.get(style, {}).get(sid)
                    if c is not None:
                        h.update(
                            f"\0{style}\0{c.reference_html}\0{c.intext}\0{c.intext_html}".encode()
                        )
            got = self[n] = h.digest()
            return got

    digest = Digests().__getitem__
    # The graph's nodes in sorted order: sorting their places sorts the nodes, quicker.
    nodes = sorted(site.graph)
    place = {n: i for i, n in enumerate(nodes)}.__getitem__
    at = [digest(n) for n in nodes].__getitem__
    keys: dict[str, str] = {}
    for page in pages:
        if page.kind not in ("claim", "expert", "source", "topic"):
            continue
        deps = dependencies(site, page)
        try:
            digests = map(at, sorted(map(place, deps)))
        except KeyError:  # a node outside the graph
            digests = map(digest, sorted(deps))
        # One update with the digests joined hashes the same bytes as one update per digest.
        keys[page.path] = hashlib.sha1(common + b"".join(digests)).hexdigest()
    return keys
