"""What every check sees: the knowledge base, its graph, and work shared between checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from kb.model import Claim, KnowledgeBase, Quote, SourceId
from kb.quotes import Folded, fold

# (source id, words, prefix, suffix): what locate() is given, bar the snapshot the id names
SpanKey = tuple[SourceId, str, str | None, str | None]


@dataclass
class Context:
    """The knowledge base and graph under check, with each snapshot folded once."""

    kb: KnowledgeBase
    graph: nx.MultiDiGraph[str]
    folded: dict[SourceId, Folded] = field(default_factory=dict)
    # Where the same words were looked for in the same snapshot (an origin that is the quote
    # itself, as most are, is found once for both).
    spans: dict[SpanKey, list[tuple[int, int]]] = field(default_factory=dict)
    _quotes: list[tuple[Claim, int, Quote]] | None = field(default=None, init=False, repr=False)

    def snapshot(self, sid: SourceId) -> Folded | None:
        """Return the folded snapshot of a source (folded once per run), or None."""
        got = self.folded.get(sid)
        if got is None:
            src = self.kb.sources.get(sid)
            if src is None or src.snapshot_text is None:
                return None
            got = self.folded[sid] = fold.__wrapped__(src.snapshot_text)
        return got

    def quotes(self) -> list[tuple[Claim, int, Quote]]:
        """Every quote of every claim, in id order (listed once per run)."""
        if self._quotes is None:
            self._quotes = [
                (c, i, q) for _, c in sorted(self.kb.claims.items()) for i, q in enumerate(c.quotes)
            ]
        return self._quotes
