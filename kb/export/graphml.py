"""`graph.graphml`: the knowledge graph for Gephi, yEd, Cytoscape or networkx.

GraphML holds only strings, numbers and booleans, so missing (None) attributes are dropped,
anything else becomes JSON text, and characters XML cannot hold are removed. The writer is a
plain one (networkx's takes 9 s on a graph of 130,000 edges; this one well under one), and
networkx reads its output back (tests/test_export.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

import networkx as nx

from kb.errors import Problem
from kb.model import KnowledgeBase

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TYPES = {bool: "boolean", int: "long", float: "double", str: "string"}
_NEEDS_ESCAPE = re.compile(r'[&<>"]')
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def _text(v: Any) -> str:
    """A value as GraphML text (booleans as true/false, others as JSON), escaped."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v.translate(_ESCAPE) if _NEEDS_ESCAPE.search(v) else v
    if isinstance(v, int | float):
        return str(v)
    return json.dumps(v, sort_keys=True, ensure_ascii=False).translate(_ESCAPE)


def _keys(rows: Iterable[dict[str, Any]], prefix: str) -> dict[str, tuple[str, str]]:
    """Attribute name -> (key id, GraphML type); a name with mixed types is a string."""
    kinds: dict[str, set[type]] = {}
    for data in rows:
        for name, v in data.items():
            if v is not None:
                kinds.setdefault(name, set()).add(type(v))
    out = {}
    for i, name in enumerate(sorted(kinds)):
        found = {_TYPES.get(t, "string") for t in kinds[name]}
        out[name] = (f"{prefix}{i}", found.pop() if len(found) == 1 else "string")
    return out


def _data(data: dict[str, Any], keys: dict[str, tuple[str, str]], memo: dict[Any, str]) -> str:
    """The <data> elements of one node or edge; edges mostly repeat a few attribute sets."""
    try:
        sig: Any = tuple(data.items())
        return memo[sig]
    except KeyError:
        pass
    except TypeError:  # an unhashable value
        sig = None
    text = "".join(
        f'<data key="{keys[k][0]}">{_text(v)}</data>'
        for k, v in sorted(data.items())
        if v is not None
    )
    if sig is not None:
        memo[sig] = text
    return text


def export(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]) -> bytes:
    """Return the graph as GraphML: every node and edge with its type and attributes."""
    nkeys = _keys((d for _, d in graph.nodes(data=True)), "n")
    ekeys = _keys((d for _, _, d in graph.edges(data=True)), "k")
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    for domain, keys in (("node", nkeys), ("edge", ekeys)):
        out += [
            f'  <key id="{kid}" for="{domain}" attr.name={quoteattr(name)} attr.type="{kind}"/>'
            for name, (kid, kind) in keys.items()
        ]
    out.append('  <key id="g0" for="graph" attr.name="name" attr.type="string"/>')
    out.append('  <graph edgedefault="directed">')
    out.append(f'    <data key="g0">{_text(kb.config.title)}</data>')
    ids = {node: _text(node) for node in graph}
    for node, data in graph.nodes(data=True):
        out.append(f'    <node id="{ids[node]}">{_data(data, nkeys, {})}</node>')
    memo: dict[Any, str] = {}
    for i, (a, b, data) in enumerate(graph.edges(data=True)):  # ids unique, as Gephi needs
        out.append(
            f'    <edge id="e{i}" source="{ids[a]}" target="{ids[b]}">'
            f"{_data(data, ekeys, memo)}</edge>"
        )
    out += ["  </graph>", "</graphml>", ""]
    return _NOT_XML.sub("", "\n".join(out)).encode("utf-8")  # characters XML cannot hold
