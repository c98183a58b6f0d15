"""What every check sees: the knowledge base, its graph, and work shared between checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from kb.model import Claim, KnowledgeBase, Quote, SourceId
from kb.quotes import Folded, fold


@dataclass
class Context:
    """The knowledge base and graph under check, with each snapshot folded once."""

    kb: KnowledgeBase
    graph: nx.MultiDiGraph[str]
    folded: dict[SourceId, Folded] = field(default_factory=dict)

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
        """Every quote of every claim, in id order."""
        return [
            (c, i, q) for _, c in sorted(self.kb.claims.items()) for i, q in enumerate(c.quotes)
        ]
