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
from kb.urls import EXPORT_DIR, EXPORT_FILES

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
# (the file names and aliases are kb.urls.EXPORT_FILES, in its order)
_EXPORTERS: dict[str, Exporter] = {
    "csl-json": csljson.export,
    "bibtex": bibtex.export,
    "biblatex": biblatex.export,
    "claimreview": claimreview.export,
    "graphml": graphml.export,
    "csv": claimscsv.export,
    "claim-topics": claimtopics.export,
    "audit": audit.export,
}
FORMATS: dict[str, tuple[str, Exporter, tuple[str, ...]]] = {
    name: (file, _EXPORTERS[name], aliases) for name, (file, aliases) in EXPORT_FILES.items()
}


def export_files(
    kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]
) -> dict[str, bytes]:
    """Return every export as {site path: bytes}, e.g. {"exports/kb.bib": b"..."}."""
    return {f"{EXPORT_DIR}/{name}": func(kb, graph, problems) for name, func, _ in FORMATS.values()}
