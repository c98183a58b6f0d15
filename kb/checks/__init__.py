"""Run every check over a loaded knowledge base; each code is documented by its function."""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from kb.checks import evidence, loading, quotes, references, upkeep
from kb.checks.context import Context
from kb.checks.registry import CODES, Code, apply_severity
from kb.errors import Problem
from kb.model import KnowledgeBase

__all__ = ["CODES", "CheckMemory", "Code", "check_kb", "loading", "run_checks"]
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
    kb.incremental.Memory); else pass None.
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


def check_kb(root: Path) -> tuple[KnowledgeBase, nx.MultiDiGraph[str], list[Problem]]:
    """Load, graph and check the knowledge base at `root`; return every problem, by place."""
    from kb.collector import gc_paused
    from kb.graph import build_graph
    from kb.load import load_kb

    with gc_paused():
        kb, problems = load_kb(root)
        placing = _Placing.start(kb)
        try:
            graph = build_graph(kb)
        finally:
            placing.finish(kb)  # the forked process is waited for, whatever happens here
        problems = sorted([*problems, *run_checks(kb, graph)], key=Problem.sort_key)
    return kb, graph, problems


class _Placing:
    """Every quote's places in its snapshot (`kb.located`), found by a forked process while
    this one makes the graph (the other core is idle then): the checks find them made. If that
    process fails in any way, the checks find the places themselves, as without it.

    Only for `kb check` and the commands like it: in a build, pandoc has the other core.
    """

    MIN_QUOTES = 2000  # fewer are placed sooner than a process starts

    def __init__(self, pid: int = 0, fd: int = -1) -> None:
        self.pid, self.fd = pid, fd

    @classmethod
    def start(cls, kb: KnowledgeBase) -> _Placing:
        from kb.load import fork_is_safe

        quotes = sum(len(c.quotes) for c in kb.claims.values())
        if quotes < cls.MIN_QUOTES or not fork_is_safe():
            return cls()
        try:
            fd, out = os.pipe()
            pid = os.fork()
        except OSError:
            return cls()
        if pid == 0:  # pragma: no cover - the forked process (its result is tested)
            code = 1
            try:
                os.close(fd)
                with os.fdopen(out, "wb") as fh:
                    pickle.dump(_places(kb), fh, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            finally:
                os._exit(code)
        os.close(out)
        return cls(pid, fd)

    def finish(self, kb: KnowledgeBase) -> None:
        """Wait for the places and keep them in `kb.located` (nothing if the process failed)."""
        if not self.pid:
            return
        found: Any = None
        try:
            with os.fdopen(self.fd, "rb") as fh:
                found = pickle.load(fh)
        except Exception:  # cut short (the process died) or garbled: the checks place them
            found = None
        finally:
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.pid = 0
        if isinstance(found, dict):
            kb.located.update(found)


def _places(kb: KnowledgeBase) -> dict[tuple[str, int, bool], list[tuple[int, int]]]:
    """Place every quote and origin in its snapshot, as the quote checks do (no graph needed)."""
    ctx = Context(kb, nx.MultiDiGraph())
    for c, i, q in ctx.quotes():
        quotes.quote_spans(ctx, c, i)
        o = q.origin
        if o is not None and o.text and o.source:
            quotes.quote_spans(ctx, c, i, origin=True)
    return kb.located
