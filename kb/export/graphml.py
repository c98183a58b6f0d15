"""`graph.graphml`: the knowledge graph for Gephi, yEd, Cytoscape or networkx.

GraphML holds only strings, numbers and booleans, so missing (None) attributes are dropped,
anything else becomes JSON text, and characters XML cannot hold are removed. The writer is a
plain one (networkx's takes 9 s on a graph of 130,000 edges; this one about 0.2 s: it reads
networkx's adjacency dicts once and writes each distinct set of edge attributes once), and
networkx and igraph read its output back (tests/test_export.py, tests/test_graph_tools.py), and
it has what Gephi needs:
every node's GraphML id is unique (`type:id`), every key declares its type (`long`, `double`,
`boolean`, `string`), and the record's own id is the node attribute `record`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

import networkx as nx

from kb.errors import Problem
from kb.memo import Memo
from kb.model import KnowledgeBase

# Attribute names that readers take for something else: igraph keeps each node's GraphML id in
# a vertex attribute `id` unless one exists (then it warns and drops the ids), so the record's
# own id (`synaptogenesis`, which a claim and a topic may share) is written as `record`; the
# node's GraphML id (`claim:synaptogenesis`) is unique.
RENAMED = {("node", "id"): "record"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TYPES = {bool: "boolean", int: "long", float: "double", str: "string"}
# XML's escapes, and the characters XML cannot hold removed, in one pass
_CLEAN = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    | dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])
)
_NEEDS_CLEAN = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _text(v: Any) -> str:
    """A value as GraphML text (booleans as true/false, others as JSON), escaped."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v.translate(_CLEAN) if _NEEDS_CLEAN.search(v) else v
    if isinstance(v, int | float):
        return _NOT_XML.sub("", str(v))
    return json.dumps(v, sort_keys=True, ensure_ascii=False).translate(_CLEAN)


def _keys(rows: Iterable[dict[str, Any]], prefix: str) -> dict[str, tuple[str, str]]:
    """Attribute name -> (key id, GraphML type); a name with mixed types is a string."""
    kinds: dict[str, set[type]] = {}
    seen: set[tuple[Any, ...]] = set()  # (names, types) of the rows already counted
    for data in rows:
        shape = (*data, *map(type, data.values()))
        if shape in seen:
            continue
        seen.add(shape)
        for name, v in data.items():
            if v is not None:
                kinds.setdefault(name, set()).add(type(v))
    out = {}
    for i, name in enumerate(sorted(kinds)):
        found = {_TYPES.get(t, "string") for t in kinds[name]}
        out[name] = (f"{prefix}{i}", found.pop() if len(found) == 1 else "string")
    return out


def _data(data: dict[str, Any], keys: dict[str, tuple[str, str]]) -> str:
    """The <data> elements of one node or edge."""
    parts = []
    for k, v in sorted(data.items()):
        if v is not None:
            text = (
                (v.translate(_CLEAN) if _NEEDS_CLEAN.search(v) else v)
                if type(v) is str
                else _text(v)
            )
            parts.append('<data key="' + keys[k][0] + '">' + text + "</data>")
    return "".join(parts)


def _nodes(
    nodes: list[tuple[str, dict[str, Any]]], ids: dict[str, str], keys: dict[str, tuple[str, str]]
) -> list[str]:
    """The <node> lines; the attributes of each node in the order that _data gives them."""
    shapes: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    lines = []
    for node, data in nodes:
        shape = tuple(data)
        order = shapes.get(shape)
        if order is None:  # a name not in `keys` has no value but None anywhere
            order = shapes[shape] = [
                (k, '<data key="' + keys[k][0] + '">') for k in sorted(shape) if k in keys
            ]
        parts = ['    <node id="', ids[node], '">']
        for k, head in order:
            v = data[k]
            if v is not None:
                parts += (
                    head,
                    (v.translate(_CLEAN) if _NEEDS_CLEAN.search(v) else v)
                    if type(v) is str
                    else _text(v),
                    "</data>",
                )
        parts.append("</node>")
        lines.append("".join(parts))
    return lines


_PLAIN = frozenset({str, type(None)})  # values equal only to values of their own GraphML type


class _Edges:
    """Every edge as the text between its number and its attributes, and its attribute set.

    Most edges repeat a few sets of attributes: `first[k]` is the first edge with set k and
    `at[i]` the set of the i-th edge. Like the writer before it, an edge takes the text of the
    first edge whose attributes are equal (a key, value pair at a time); the key types still
    count every edge's own values (`odd` has the equal sets whose values differ in type).
    """

    def __init__(self, graph: nx.MultiDiGraph[str], ids: dict[str, str]) -> None:
        self.first: list[dict[str, Any]] = []
        self.at: list[int] = []
        self.ends: list[str] = []  # '" source="A" target="B">'
        self.odd: list[dict[str, Any]] = []
        index: dict[Any, int] = {}
        # per set, the (place, type) of each value that is not text or None, checked on reuse
        typed: list[tuple[tuple[int, type], ...]] = []
        for a, nbrs in graph.adjacency():
            head = '" source="' + ids[a] + '" target="'
            for b, keyed in nbrs.items():
                ends = head + ids[b] + '">'
                for data in keyed.values():
                    try:
                        sig: Any = tuple(data.items())
                        k = index[sig]
                    except KeyError:
                        k = index[sig] = len(self.first)
                        typed.append(
                            tuple(
                                (i, type(v))
                                for i, v in enumerate(data.values())
                                if type(v) not in _PLAIN
                            )
                        )
                        self.first.append(data)
                    except TypeError:  # an unhashable value: a set of its own
                        k = len(self.first)
                        typed.append(())
                        self.first.append(data)
                    else:
                        for i, kind in typed[k]:
                            if type(sig[i][1]) is not kind:
                                self.odd.append(data)
                                break
                    self.at.append(k)
                    self.ends.append(ends)


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return the graph as GraphML: every node and edge with its type and attributes.

    With a `memo`, the edges' text is kept while the graph's structure (nodes, edges and their
    attributes) stays the same, and each node's line by its attributes.
    """
    nodes = [(n, d) for n, d in graph.nodes(data=True)]
    store = memo.store if memo is not None else {}
    kept = store.get("edges")
    if memo is not None and kept is not None and kept[0] == memo.structure:
        ekeys, edge_lines = kept[1], kept[2]
        ids = kept[3]
    else:
        ids = {node: _text(node) for node, _ in nodes}
        edges = _Edges(graph, ids)
        ekeys = _keys([*edges.first, *edges.odd], "k")
        texts = [_data(data, ekeys) + "</edge>" for data in edges.first]
        edge_lines = "\n".join(  # edge ids unique, as Gephi needs
            f'    <edge id="e{i}{ends}{texts[k]}'
            for i, (ends, k) in enumerate(zip(edges.ends, edges.at, strict=True))
        )
        del edges
        if memo is not None:
            store["edges"] = (memo.structure, ekeys, edge_lines, ids)
    nkeys = _keys((d for _, d in nodes), "n")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    for domain, keys in (("node", nkeys), ("edge", ekeys)):
        for name, (kid, kind) in keys.items():
            name = RENAMED.get((domain, name), name)
            line = (
                f'  <key id="{kid}" for="{domain}" attr.name={quoteattr(name)} attr.type="{kind}"/>'
            )
            out.append(_NOT_XML.sub("", line))
    out.append('  <key id="g0" for="graph" attr.name="name" attr.type="string"/>')
    out.append('  <graph edgedefault="directed">')
    out.append(f'    <data key="g0">{_text(kb.config.title)}</data>')
    if memo is None:
        out += _nodes(nodes, ids, nkeys)
        if edge_lines:
            out.append(edge_lines)
        out += ["  </graph>", "</graphml>", ""]
        del edge_lines, ids, nodes  # only `out` holds the edges' text now
        text = "\n".join(out)
        del out  # the lines go before the bytes come: a third less memory at the peak
        return text.encode("utf-8")
    return _kept_parts(out, nodes, ids, nkeys, store)


def _kept_parts(
    out: list[str],
    nodes: list[tuple[str, dict[str, Any]]],
    ids: dict[str, str],
    nkeys: dict[str, tuple[str, str]],
    store: dict[str, Any],
) -> bytes:
    """The document after its head `out`, with a memo's `store`: each node's line kept as bytes
    by its attributes, the edges' as bytes."""
    old = store.get("nodes")
    lines: dict[str, tuple[Any, bytes]] = old[1] if old is not None and old[0] == nkeys else {}
    sigs = [tuple(data.items()) for _, data in nodes]
    todo = [
        (node, data)
        for (node, data), sig in zip(nodes, sigs, strict=True)
        if (got := lines.get(node)) is None or got[0] != sig
    ]
    made = dict(zip((node for node, _ in todo), _nodes(todo, ids, nkeys), strict=True))
    fresh: dict[str, tuple[Any, bytes]] = {}
    parts = ["\n".join(out).encode("utf-8")]
    for (node, _), sig in zip(nodes, sigs, strict=True):
        made_line = made.get(node)
        got = lines[node] if made_line is None else (sig, made_line.encode("utf-8"))
        fresh[node] = got
        parts.append(got[1])
    store["nodes"] = (nkeys, fresh)
    kept = store["edges"]
    if type(kept[2]) is str:  # the edges' text kept as bytes (made once per structure)
        kept = store["edges"] = (kept[0], kept[1], kept[2].encode("utf-8"), kept[3])
    if kept[2]:
        parts.append(kept[2])
    parts.append(b"  </graph>\n</graphml>\n")
    return b"\n".join(parts)
