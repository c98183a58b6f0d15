"""`graph.graphml`: the knowledge graph for Gephi, yEd, Cytoscape or networkx.

GraphML holds only strings, numbers and booleans, so missing (None) attributes are dropped,
anything else becomes JSON text, and characters XML cannot hold are removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import networkx as nx

from kb.errors import Problem
from kb.model import KnowledgeBase

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _value(v: Any) -> str | int | float | bool:
    if isinstance(v, bool | int | float):
        return v
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False)
    return _NOT_XML.sub("", text)


def _attrs(data: dict[str, Any]) -> dict[str, str | int | float | bool]:
    return {k: _value(v) for k, v in sorted(data.items()) if v is not None}


def export(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]) -> bytes:
    """Return the graph as GraphML: every node and edge with its type and attributes."""
    clean: nx.MultiDiGraph[str] = nx.MultiDiGraph(name=kb.config.title)
    for node, data in graph.nodes(data=True):
        clean.add_node(_NOT_XML.sub("", node), **_attrs(data))
    for a, b, key, data in graph.edges(keys=True, data=True):
        clean.add_edge(_NOT_XML.sub("", a), _NOT_XML.sub("", b), key=key, **_attrs(data))
    return ("\n".join(nx.generate_graphml(clean, prettyprint=True)) + "\n").encode("utf-8")
