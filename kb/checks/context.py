"""What every check sees: the knowledge base, its graph, and work shared between checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from kb.model import Claim, KnowledgeBase, Quote


@dataclass
class Context:
    """The knowledge base and graph under check, with the quote spans found once."""

    kb: KnowledgeBase
    graph: nx.MultiDiGraph[str]
    spans: dict[tuple[str, int], list[tuple[int, int]]] = field(default_factory=dict)

    def quotes(self) -> list[tuple[Claim, int, Quote]]:
        """Every quote of every claim, in id order."""
        return [
            (c, i, q) for _, c in sorted(self.kb.claims.items()) for i, q in enumerate(c.quotes)
        ]
