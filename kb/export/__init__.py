"""Exports for writers and tools: CSL-JSON, BibTeX, ClaimReview, GraphML, CSV and the audit.

Every format is a module with `export(kb, graph, problems, memo=None) -> bytes`; the output is
deterministic (sorted, no timestamps); a long-running process passes a `Memo` so that only the
records that changed are encoded again. `export_files` gives the site's `exports/` folder and
`kb export FORMAT` writes one of them to standard output or a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import networkx as nx

from kb.errors import Problem
from kb.export import (
    audit,
    biblatex,
    bibtex,
    claimreview,
    claimscsv,
    claimtopics,
    csljson,
    graphml,
)
from kb.memo import Memo
from kb.model import KnowledgeBase

__all__ = ["EXPORT_DIR", "FORMATS", "Exporter", "Memo", "export_files"]


class Exporter(Protocol):
    """`export(kb, graph, problems, memo=None) -> bytes`."""

    def __call__(
        self,
        kb: KnowledgeBase,
        graph: nx.MultiDiGraph[str],
        problems: Sequence[Problem],
        memo: Memo | None = None,
    ) -> bytes: ...


# format name -> (file name in exports/, exporter, aliases)
FORMATS: dict[str, tuple[str, Exporter, tuple[str, ...]]] = {
    "csl-json": ("kb.csl.json", csljson.export, ("csl", "csljson", "json")),
    "bibtex": ("kb.bib", bibtex.export, ("bib",)),
    "biblatex": ("kb-biblatex.bib", biblatex.export, ("biber",)),
    "claimreview": ("claimreview.jsonld", claimreview.export, ("jsonld",)),
    "graphml": ("graph.graphml", graphml.export, ()),
    "csv": ("claims.csv", claimscsv.export, ("claims",)),
    "claim-topics": ("claim-topics.csv", claimtopics.export, ("topics",)),
    "audit": ("audit.json", audit.export, ()),
}
EXPORT_DIR = "exports"


def export_files(
    kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]
) -> dict[str, bytes]:
    """Return every export as {site path: bytes}, e.g. {"exports/kb.bib": b"..."}."""
    return {f"{EXPORT_DIR}/{name}": func(kb, graph, problems) for name, func, _ in FORMATS.values()}
