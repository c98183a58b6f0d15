"""Data files for the browser: the search index and the whole graph with a precomputed layout.

Both are JavaScript files that assign to a global (`window.KB_SEARCH`, `window.KB_GRAPH`), loaded
with `<script src>`, because `fetch()` of a JSON file fails from `file://`.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections import defaultdict
from typing import Any

import networkx as nx

from kb.graph import EDGE_TYPES, NODE_TYPES
from kb.model import Claim, Expert, Source
from kb.site.present import VERDICT_ORDER, author_list, summary_of, verdict_label
from kb.site.state import Site
from kb.urls import node_path, page_path

_WORD = re.compile(r"[^\W_]+")
# Maps every byte but an ASCII digit (48-57) or lower-case letter (97-122) to a space.
_ASCII_GAPS = bytes(c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))
_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}  # fmt: skip
_JS_UNSAFE = re.compile("[<>&\u2028\u2029]")


# one encoder for every call: json.dumps with options makes a new one each time
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def js_json(value: Any) -> str:
    """Encode as JSON that is safe anywhere in a script: `<`, `>`, `&`, U+2028/9 are escaped."""
    return _JS_UNSAFE.sub(lambda m: _JS_ESCAPES[m.group()], _ENCODE(value))


def js_assign(name: str, value: Any) -> bytes:
    """Return a script that assigns `value` to `window.NAME`."""
    return f"window.{name} = {js_json(value)};\n".encode()


_MARKS = re.compile("[\u0300-\u036f]")


def words(text: str) -> set[str]:
    """Split text into the lower-case, accent-free words that search matches (as site.js does)."""
    plain = text.lower()
    if plain.isascii():  # the same words, found quicker: the runs of [a-z0-9] (\w minus _)
        return set(plain.encode().translate(_ASCII_GAPS).decode().split())
    plain = _MARKS.sub("", unicodedata.normalize("NFKD", plain))
    return set(_WORD.findall(plain))


def search_index(site: Site) -> bytes:
    """Return `search-index.js`: every claim, expert, source and topic, and a word index.

    With `site.memo`, each record's entry and words are kept by the record's digest.
    """
    kb = site.kb
    memo = site.memo
    old: dict[str, tuple[str, str, str]] = {}
    if memo is not None:
        old = memo.store.get("search", {})
    kept: dict[str, tuple[str, str, str]] = {}
    docs: list[str] = []  # each entry's JSON text
    texts: list[str] = []  # each entry's words, sorted, joined by spaces (kept small)

    digests = memo.digests if memo is not None else {}
    kinds: list[tuple[str, dict[Any, Any], Any]] = [
        ("claim:", kb.claims, _claim_entry),
        ("expert:", kb.experts, _expert_entry),
        ("source:", kb.sources, _source_entry),
    ]
    for prefix, records, entry in kinds:
        for ident, rec in sorted(records.items()):
            node = prefix + ident
            digest = digests.get(node)
            got = old.get(node)
            if got is None or digest is None or got[0] != digest:
                doc, text = entry(ident, rec)
                got = (digest or "", js_json(doc), " ".join(sorted(words(text))))
            if digest is not None:
                kept[node] = got
            docs.append(got[1])
            texts.append(got[2])
    for slug in sorted(site.topic_of):
        n = len(site.claims_by_topic.get(slug, []))
        doc = ["topic", site.topic_of[slug], page_path("topic", slug),
               f"{n} claim{'s' if n != 1 else ''}"]  # fmt: skip
        docs.append(js_json(doc))
        texts.append(" ".join(sorted(words(site.topic_of[slug]))))
    index = WordIndex.of(texts, memo.store.get("words") if memo is not None else None)
    if memo is not None:
        memo.store["search"] = kept
        memo.store["words"] = index
    # js_assign of {"docs": ..., "postings": ..., "words": ...}, written in pieces
    return (
        'window.KB_SEARCH = {"docs":['
        + ",".join(docs)
        + '],"postings":['
        + ",".join(map(index.encoded.__getitem__, index.vocab))
        + '],"words":'
        + index.vocab_json
        + "};\n"
    ).encode()


def _ints(ids: list[int]) -> str:
    """A list of ints as JSON (as js_json gives it: no character of it needs escaping)."""
    return "[" + ",".join(map(str, ids)) + "]"


class WordIndex:
    """Each word's entries (by number, ascending) as JSON, and the words in order; `texts` are
    the entries' words (sorted, joined by spaces: a word has no space)."""

    def __init__(self, texts: list[str]) -> None:
        postings: dict[str, list[int]] = defaultdict(list)
        for i, found in enumerate(texts):
            for w in found.split():
                postings[w].append(i)
        self.texts = texts
        self.encoded = {w: _ints(ids) for w, ids in postings.items()}
        self.vocab = sorted(postings)
        self.vocab_json = js_json(self.vocab)

    @classmethod
    def restored(cls, texts: list[str], encoded: dict[str, str]) -> WordIndex:
        """The index whose entries' words are `texts` and whose postings are `encoded`, as
        kept between processes (kb.fast.pieces)."""
        index = cls.__new__(cls)
        index.texts, index.encoded = texts, encoded
        index.vocab = sorted(encoded)
        index.vocab_json = js_json(index.vocab)
        return index

    @classmethod
    def of(cls, texts: list[str], last: WordIndex | None) -> WordIndex:
        """The index of `texts`: the `last` one brought up to date where the entries differ
        only in words (the same number of entries), else a new one."""
        if last is None or len(last.texts) != len(texts):
            return cls(texts)
        encoded = last.encoded
        changed: dict[str, list[int]] = {}  # word -> its entries, for the words that changed
        for i, (old, new) in enumerate(zip(last.texts, texts, strict=True)):
            if old == new:
                continue
            before, after = set(old.split()), set(new.split())
            for w in before - after:
                ids = changed.get(w)
                if ids is None:
                    ids = changed[w] = json.loads(encoded[w])
                ids.remove(i)
            for w in after - before:
                ids = changed.get(w)
                if ids is None:
                    ids = changed[w] = json.loads(encoded[w]) if w in encoded else []
                bisect.insort(ids, i)
        words_changed = False
        for w, ids in changed.items():
            if ids:
                words_changed |= w not in encoded
                encoded[w] = _ints(ids)
            else:
                del encoded[w]
                words_changed = True
        last.texts = texts
        if words_changed:
            last.vocab = sorted(encoded)
            last.vocab_json = js_json(last.vocab)
        return last


def _claim_entry(cid: str, c: Claim) -> tuple[list[str], str]:
    label = verdict_label(c.verdict)
    why = summary_of(c)
    doc = ["claim", c.statement, page_path("claim", cid), f"{label}: {why}" if why else label]
    parts = [cid, c.statement, label, c.verdict, *c.topics]
    for q in c.quotes:
        parts += [q.text, q.attribution or ""]
        if q.speaker:  # its id, whose words are the name's (john-krystal): this entry is kept
            parts.append(q.speaker)  # by the claim's digest, which a renamed expert leaves
    if c.review and c.review.rationale:
        parts.append(c.review.rationale)
    if c.review and c.review.summary:
        parts.append(c.review.summary)
    return doc, " ".join(parts)


def _expert_entry(eid: str, e: Expert) -> tuple[list[str], str]:
    roles = [" ".join(filter(None, (r.title, r.organization))) for r in e.roles]
    doc = ["expert", e.name, page_path("expert", eid), roles[0] if roles else ""]
    return doc, " ".join([eid, e.name, e.credentials or "", *roles])


def _source_entry(sid: str, s: Source) -> tuple[list[str], str]:
    authors = author_list(s, limit=3)
    sub = " · ".join(x for x in (authors, s.year or "") if x)
    doc = ["source", s.title, page_path("source", sid), sub]
    csl = s.csl
    extra = [str(csl.get(k, "")) for k in ("container-title", "publisher", "DOI")]
    return doc, " ".join([sid, s.title, author_list(s, limit=100), s.year or "", *extra])


def graph_data(site: Site) -> bytes:
    """Return `graph-data.js`: nodes with a precomputed layout, and edges as index triples.

    With `site.memo`, all but the labels and verdicts is kept while the graph's structure (its
    nodes and edges) stays the same: an edited statement moves no node.
    """
    g = site.graph
    memo = site.memo
    kept = memo.store.get("graph") if memo is not None else None
    if memo is None or kept is None or kept[0] != memo.structure:
        kept = (memo.structure if memo is not None else None, *_graph_pieces(g))
        if memo is not None:
            memo.store["graph"] = kept
    nodes: list[str] = kept[1]
    data: dict[str, dict[str, Any]] = {n: d for n, d in g.nodes(data=True)}
    attrs = [data[n] for n in nodes]
    verdicts = {v: i for i, v in enumerate(VERDICT_ORDER)}
    label = [str(d.get("label", n)) for n, d in zip(nodes, attrs, strict=True)]
    verdict = [verdicts.get(d["verdict"], -1) if "verdict" in d else -1 for d in attrs]
    p = kept[2]
    # js_assign of the whole dict, sorted keys, written in pieces
    return (
        f'window.KB_GRAPH = {{"edgeTypes":{js_json(list(EDGE_TYPES))},"edges":{p["edges"]},'
        f'"ids":{p["ids"]},"nodeTypes":{js_json(list(NODE_TYPES))},'
        f'"nodes":{{"label":{js_json(label)},"type":{p["type"]},"url":{p["url"]},'
        f'"verdict":{js_json(verdict)},"x":{p["x"]},"y":{p["y"]}}},'
        f'"verdictLabels":{js_json([verdict_label(v) for v in VERDICT_ORDER])},'
        f'"verdicts":{js_json(list(VERDICT_ORDER))}}};\n'
    ).encode()


def _graph_pieces(g: nx.MultiDiGraph[str]) -> tuple[list[str], dict[str, str]]:
    """What graph-data.js shows of the graph's structure: the nodes in order, and the JSON of
    their ids, types, places and links and of the edges."""
    pos = layout(g)
    nodes = sorted(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    ntype = {t: i for i, t in enumerate(NODE_TYPES)}
    etype = {t: i for i, t in enumerate(EDGE_TYPES)}
    data: dict[str, dict[str, Any]] = {n: d for n, d in g.nodes(data=True)}
    xy = [pos[n] for n in nodes]
    adjacency = dict(g.adjacency())  # node -> {other: {key: edge data}} for its out-edges
    flat: list[int] = []  # (from, to, type) triples, sorted, each once; loops left out
    for i, u in enumerate(nodes):
        nbrs = adjacency[u]
        for j in sorted(map(index.__getitem__, nbrs)):
            if j == i:
                continue
            keyed = nbrs[nodes[j]]
            if len(keyed) == 1:
                (d,) = keyed.values()
                flat += (i, j, etype.get(d["type"], 0))
            else:
                for t in sorted({etype.get(d["type"], 0) for d in keyed.values()}):
                    flat += (i, j, t)
    return nodes, {
        "ids": js_json(nodes),
        "type": js_json([ntype.get(data[n]["type"], 0) for n in nodes]),
        "x": js_json([round(x, 1) for x, _ in xy]),
        "y": js_json([round(y, 1) for _, y in xy]),
        "url": js_json([node_path(n) for n in nodes]),
        "edges": js_json(flat),
    }


_LAYOUT_SKIP = frozenset({"reviewed-by"})  # edges drawn but not used to place nodes
_STEP = 70.0  # distance between rings
_SPACING = 30.0  # least distance between neighbours on a ring


def layout(g: nx.MultiDiGraph[str]) -> dict[str, tuple[float, float]]:
    """Place every node, deterministically, in linear time: a radial tree per component, packed.

    Each weakly connected component is drawn as rings around its best-connected node (the
    breadth-first tree gives every node a slice of its parent's angle, sized by its subtree), and
    the components are packed in rows, largest first. The browser refines it for a moment.
    """
    # Nodes are numbered: first in the graph's order, then by rank (lists beat dicts of ids).
    nodes = list(g.nodes)
    number = {n: i for i, n in enumerate(nodes)}
    near: list[set[int]] = [set() for _ in nodes]
    weight = [0] * len(nodes)
    for a, nbrs in g.adjacency():  # {b: {key: edge data}} for the edges a -> b
        i = number[a]
        mine = near[i]
        counted = 0
        for b, keyed in nbrs.items():
            if a != b:
                j = number[b]
                mine.add(j)
                near[j].add(i)
                for d in keyed.values():
                    if d["type"] not in _LAYOUT_SKIP:
                        counted += 1
                        weight[j] += 1
        weight[i] += counted
    # Best-connected first, then by id: the order of neighbours and of components' roots.
    order = sorted(range(len(nodes)), key=lambda i: (-weight[i], nodes[i]))
    rank = [0] * len(nodes)
    for r, i in enumerate(order):
        rank[i] = r
    names = [nodes[i] for i in order]  # from here on a node is its rank
    und = [sorted(map(rank.__getitem__, near[i])) for i in order]
    depth = [-1] * len(names)
    children: list[list[int]] = [[] for _ in names]
    comps: list[list[int]] = []
    # Grow each component from its best-connected node, not counting the reviewer's links: a
    # reviewer of every claim is a hub that says nothing, and would crowd the middle.
    for n in range(len(names)):
        if depth[n] >= 0:
            continue
        comp, queue = [], [n]
        depth[n] = level = 0
        while queue:  # breadth first: comp is in BFS order, each node after its parent
            comp.extend(queue)
            level += 1
            nxt: list[int] = []
            for parent in queue:
                kids = children[parent] = [b for b in und[parent] if depth[b] < 0]
                for kid in kids:
                    depth[kid] = level
                nxt += kids
            queue = nxt
        comps.append(comp)
    comps.sort(key=lambda c: (-len(c), names[c[0]]))
    placed = [_radial(comp, children, depth, names) for comp in comps]
    return _pack(placed)


def _radial(
    comp: list[int], children: list[list[int]], depth: list[int], names: list[str]
) -> tuple[float, dict[str, tuple[float, float]]]:
    """Place one component in rings around its first node: `children` and `depth` are its
    breadth-first tree, by node number; `names` are the nodes' ids."""
    root = comp[0]
    leaves: dict[int, int] = {}
    for a in reversed(comp):
        leaves[a] = sum(map(leaves.__getitem__, children[a])) or 1
    angle: dict[int, float] = {root: 0.0}
    span: dict[int, tuple[float, float]] = {root: (0.0, 2 * math.pi)}
    rings: dict[int, list[int]] = defaultdict(list)
    for a in comp:
        lo, hi = span[a]
        at = lo
        for c in children[a]:
            width = (hi - lo) * leaves[c] / leaves[a]
            span[c] = (at, at + width)
            angle[c] = at + width / 2
            rings[depth[c]].append(c)
            at += width
    # Each depth is a band around the last; a crowded band gets several sub-rings, and nodes
    # next to each other by angle take turns among them, so the disc fills evenly.
    pos: dict[str, tuple[float, float]] = {names[root]: (0.0, 0.0)}
    outer = 0.0
    for d in sorted(rings):
        members = sorted(rings[d], key=lambda n: (angle[n], names[n]))
        inner = outer + _STEP
        count = len(members)
        sub = max(1, math.ceil(count * _SPACING / (2 * math.pi * inner)))
        outer = (
            math.sqrt(inner * inner + count * _SPACING * _SPACING / math.pi) if sub > 1 else inner
        )
        for j, n in enumerate(members):
            r = inner + (outer - inner) * ((j % sub) + 0.5) / sub if sub > 1 else inner
            pos[names[n]] = (r * math.cos(angle[n]), r * math.sin(angle[n]))
    return outer + _STEP / 2, pos


def _pack(
    placed: list[tuple[float, dict[str, tuple[float, float]]]],
) -> dict[str, tuple[float, float]]:
    area = sum((2 * r) ** 2 for r, _ in placed)
    row_width = max(math.sqrt(area) * 1.3, max((2 * r for r, _ in placed), default=0.0))
    out: dict[str, tuple[float, float]] = {}
    x = y = row_h = 0.0
    for r, pos in placed:
        size = 2 * r
        if x > 0 and x + size > row_width:
            x, y, row_h = 0.0, y + row_h, 0.0
        cx, cy = x + r, y + r
        for n, (px, py) in pos.items():
            out[n] = (cx + px, cy + py)
        x += size
        row_h = max(row_h, size)
    return out
