"""`kb.csl.json`: every source as a CSL-JSON item, for Zotero, pandoc and CSL processors."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from kb.csl import csl_items
from kb.errors import Problem
from kb.export import jsontext
from kb.model import KnowledgeBase


def export(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]) -> bytes:
    """Return the sources as a CSL-JSON list sorted by id (CSL fields only, date-parts dates).

    The text of kb.csl.dumps (indented, sorted keys), written by kb.export.jsontext.
    """
    return (jsontext.dumps(csl_items(kb)) + "\n").encode("utf-8")
