"""What every check sees: the knowledge base, its graph, and work shared between checks."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from kb.graph import Graph, Links, links_of
from kb.model import Claim, ClaimId, KnowledgeBase, Quote, SourceId
from kb.text.quotes import Folded, fold, locate

# (snapshot text, words, prefix, suffix): what locate() is given, the snapshot unfolded
SpanKey = tuple[str, str, str | None, str | None]
Spans = list[tuple[int, int]]


@dataclass
class Recall:
    """What the last run folded and found, by the texts themselves: a long-running process
    (kb serve) checks again after each edit, and what did not change is not folded or searched
    again, while an edited snapshot or quote is a new key. Only the last run's are kept."""

    folded: dict[str, Folded] = field(default_factory=dict)
    found: dict[SpanKey, Spans] = field(default_factory=dict)


@dataclass
class Context:
    """The knowledge base and graph under check, with each snapshot folded once."""

    kb: KnowledgeBase
    graph: Graph  # a networkx graph or its Links: the checks read `links`, the same dicts
    # The claims whose own problems are looked for (None: all), and whether the checks that
    # look across records (loops, orphans, roles) run (kb.fast.checkmemory runs them apart).
    scope: Collection[str] | None = None
    across: bool = True
    folded: dict[SourceId, Folded] = field(default_factory=dict)
    # Snapshots folded and places found in this run, by text: the same words looked for in the
    # same snapshot (an origin that is the quote itself, as most are) are found once.
    by_text: dict[str, Folded] = field(default_factory=dict, repr=False)
    found: dict[SpanKey, Spans] = field(default_factory=dict, repr=False)
    recall: Recall | None = None  # kept between runs by a long-running process
    # how many quotes of a claim not found in a snapshot had their nearest passage looked for
    nearest_searched: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _quotes: list[tuple[Claim, int, Quote]] | None = field(default=None, init=False, repr=False)
    links: Links = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.links = links_of(self.graph)

    def snapshot(self, sid: SourceId) -> Folded | None:
        """Return the folded snapshot of a source (folded once per run), or None."""
        got = self.folded.get(sid)
        if got is None:
            src = self.kb.sources.get(sid)
            if src is None or src.snapshot_text is None:
                return None
            text = src.snapshot_text
            last = self.recall.folded.get(text) if self.recall is not None else None
            got = self.by_text.get(text) or last or fold.__wrapped__(text)
            self.folded[sid] = self.by_text[text] = got
        return got

    def spans(
        self, sid: SourceId, words: str, prefix: str | None = None, suffix: str | None = None
    ) -> Spans:
        """Return (in a new list) where `words` are in the snapshot of `sid`, as locate() does."""
        src = self.kb.sources.get(sid)
        if src is None or src.snapshot_text is None:
            return []
        key = (src.snapshot_text, words, prefix, suffix)
        got = self.found.get(key)
        if got is None:
            got = self.recall.found.get(key) if self.recall is not None else None
            if got is None:
                snap = self.snapshot(sid)
                got = locate(words, snap, prefix, suffix) if snap else []
            self.found[key] = got
        return list(got)

    def keep(self) -> None:
        """Keep what this run folded and found for the next run: in place of the last's after
        a run over every claim, beside them after a run over some."""
        recall = self.recall
        if recall is None:
            return
        if self.scope is None:
            recall.folded, recall.found = self.by_text, self.found
        else:
            recall.folded = {**recall.folded, **self.by_text}
            recall.found = {**recall.found, **self.found}

    def claims(self) -> list[tuple[ClaimId, Claim]]:
        """The claims in scope (every claim unless `scope` says otherwise), in id order."""
        if self.scope is None:
            return sorted(self.kb.claims.items())
        claims = self.kb.claims
        return [(ClaimId(cid), claims[ClaimId(cid)]) for cid in sorted(self.scope) if cid in claims]

    def quotes(self) -> list[tuple[Claim, int, Quote]]:
        """Every quote of every claim in scope, in id order (listed once per run)."""
        if self._quotes is None:
            self._quotes = [(c, i, q) for _, c in self.claims() for i, q in enumerate(c.quotes)]
        return self._quotes
