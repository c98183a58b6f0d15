"""Run every check over a loaded knowledge base; each code is documented by its function."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import networkx as nx

from kb.checks import evidence, quotes, references, upkeep
from kb.checks.context import Context
from kb.codes import CODES, Code, apply_severity
from kb.errors import Problem
from kb.model import KnowledgeBase
from kb.reading import problems as loading

__all__ = ["CODES", "CheckMemory", "Code", "loading", "run_checks"]
_FAMILIES = (references, quotes, evidence, upkeep)  # imported for their registrations


def run_checks(kb: KnowledgeBase, graph: nx.MultiDiGraph[str]) -> list[Problem]:
    """Run every graph-wide check; return problems with kb.yaml severities applied, by place."""
    return _run(Context(kb, graph))


def _run(ctx: Context, keep: bool = True) -> list[Problem]:
    found: list[Problem] = []
    severity = ctx.kb.config.severity
    for c in CODES.values():
        if c.runs and severity.get(c.code) != "off":
            found.extend(c.func(ctx))
    if keep:
        ctx.keep()
    return sorted(apply_severity(found, severity), key=_total_order)


def _total_order(p: Problem) -> tuple[str, int, int, str, str, str, str]:
    """Problem.sort_key, then severity and subject: the same order however problems are found."""
    return (*p.sort_key(), p.severity.value, p.subject or "")


@dataclass
class CheckMemory:
    """What the checks found about each claim, kept by a long-running process so that a
    rebuild checks again only the claims that changed.

    A claim's own problems depend on its record and on the sources, experts and claim ids it
    names; the checks that look across records (loops, orphans, experts' roles) run every time.
    `check` with the changed claims is valid only when kb.yaml, every source and every expert
    and the set of claim ids are those of the last run (the caller knows: see
    kb.fast.memory.Memory); else pass None.
    """

    by_claim: dict[str, list[Problem]] = field(default_factory=dict)
    located: dict[tuple[str, int, bool], list[tuple[int, int]]] = field(default_factory=dict)
    across: list[Problem] = field(default_factory=list)  # what the checks across records found

    def check(
        self,
        kb: KnowledgeBase,
        graph: nx.MultiDiGraph[str],
        changed: Collection[str] | None,
        same_across: bool = False,
    ) -> list[Problem]:
        """Check the `changed` claims (None: all) and what looks across records; return every
        problem, as run_checks(kb, graph) would.

        `same_across`: the checks across records would find what they found last time (the
        caller knows that the graph's edges, the sources, the experts and kb.yaml are the same,
        and that no record they reported about changed), so they do not run again."""
        if changed is None:
            self.by_claim = {}
        else:  # what was found in the unchanged claims' quotes holds: the snapshots are the same
            gone = set(changed)
            kb.located.update((k, v) for k, v in self.located.items() if k[0] not in gone)
        scope = None if changed is None else sorted(set(changed) & kb.claims.keys())
        own = _run(Context(kb, graph, scope=scope, across=False))
        mine: dict[str, list[Problem]] = {
            cid: [] for cid in (kb.claims if scope is None else scope)
        }
        for p in own:
            mine[p.subject.partition(":")[2] if p.subject else ""].append(p)
        by_claim = self.by_claim
        for cid in set(by_claim) - kb.claims.keys():
            del by_claim[cid]
        by_claim.update(mine)
        if same_across and changed is not None:
            across = self.across
        else:
            across = self.across = _run(Context(kb, graph, scope=(), across=True), keep=False)
        self.located = kb.located
        every = [p for found in by_claim.values() for p in found]
        return sorted([*every, *across], key=_total_order)
