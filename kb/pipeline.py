"""The one way every command opens a knowledge base: records, graph, problems.

`open_base(root)` reads the files (kb.reading), makes the graph (kb.graph) and runs the checks
(kb.checks); every command that needs a checked base (check, cite, export, graph) calls it.
The build (kb.build) does the same stages itself, timed and with its memory between builds.
The graph is made as `Links` (plain dicts): networkx is imported only when a command asks for
`Base.graph`, so that `kb check` does without it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from kb.checks import CODES, run_scoped
from kb.checks.context import Context
from kb.codes import apply_severity
from kb.errors import Problem, Severity
from kb.fast.checkstore import CheckStore
from kb.fast.collector import gc_paused
from kb.fast.placing import Placing
from kb.fast.replay import Replay, inputs_key
from kb.fast.stored import Stored
from kb.graph import Links, as_graph, build_links
from kb.model import KnowledgeBase
from kb.reading.load import load_kb

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class Base:
    """A knowledge base as read and checked: its records, graph and every problem, by place."""

    kb: KnowledgeBase
    links: Links
    problems: list[Problem]

    @cached_property
    def graph(self) -> nx.MultiDiGraph[str]:
        """The networkx graph of the same nodes and edges (networkx is imported here)."""
        return as_graph(self.links)

    @property
    def errors(self) -> list[Problem]:
        """The problems that are errors."""
        return [p for p in self.problems if p.severity is Severity.ERROR]


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _load(root: Path) -> tuple[KnowledgeBase, list[Problem]]:
    """Read the base, taking the readings of unchanged files from the store (kb.fast.stored)
    and storing the others' for the next process."""
    stored = Stored(root, _say)
    kb, problems = load_kb(root, helper=stored.start)
    stored.save()
    return kb, problems


def open_base(root: Path) -> Base:
    """Load, graph and check the knowledge base at `root`; return every problem, by place.

    The claims whose file did not change since the last run are not checked again: their
    findings come from the store in the cache folder (kb.fast.checkstore)."""
    with gc_paused():
        kb, problems = _load(root)
        store = CheckStore(root, _say)
        recalled = store.recall(kb)
        # every quote placed by a forked process while this one makes the graph, when every
        # claim is to be checked (a few changed claims are placed sooner by the checks)
        placing = Placing.start(kb) if recalled.changed is None else Placing()
        try:
            links = build_links(kb)
        finally:
            placing.finish(kb)  # the forked process is waited for, whatever happens here
        problems = sorted([*problems, *store.check(kb, links, recalled)], key=Problem.sort_key)
    return Base(kb, links, problems)


@dataclass
class Checked:
    """What `check_base` found: every problem, whether the base has any record, and whether
    the result is the stored one of an earlier run (no file changed since)."""

    problems: list[Problem]
    records: bool
    replayed: bool


def check_base(root: Path) -> Checked:
    """Every problem `open_base(root)` finds, and whether the base has any record.

    When no file the loader reads or lists changed since the last full check, the problems
    are those it stored (kb.fast.replay): nothing is loaded. Otherwise the base is opened and
    checked, and the result stored for the next run."""
    replay = Replay(root, _say)
    key = inputs_key(root)  # stamped before anything is read: a later change is a new key
    kept = replay.recall(key)
    if kept is not None:
        return Checked(*kept, replayed=True)
    base = open_base(root)
    kb = base.kb
    records = bool(kb.claims or kb.sources or kb.experts)
    replay.save(key, base.problems, records)
    return Checked(base.problems, records, replayed=False)


def open_scoped(root: Path, scope: Callable[[KnowledgeBase], Collection[str]]) -> Base:
    """Load and graph the base, and check only the claims `scope(kb)` names (their own
    problems; not the checks across records): what a command about a few records needs, in a
    fraction of `open_base`'s time on a large base. Every loading problem is kept."""
    with gc_paused():
        kb, problems = _load(root)
        links = build_links(kb)
        ctx = Context(kb, links, scope=sorted(scope(kb)), across=False)
        problems = sorted([*problems, *run_scoped(ctx, keep=False)], key=Problem.sort_key)
    return Base(kb, links, problems)


def open_for(root: Path, codes: Collection[str]) -> Base:
    """Load and graph the base, and run only the checks of `codes` (with kb.yaml's
    severities): `kb list --stale` or `--problem CODE` needs no other. Loading problems are
    kept only when one of `codes` is a loading code."""
    with gc_paused():
        kb, problems = _load(root)
        links = build_links(kb)
        ctx = Context(kb, links)
        severity = kb.config.severity
        found = [p for p in problems if p.code in codes]
        for code in codes:
            c = CODES.get(code)
            if c is not None and c.runs and severity.get(code) != "off":
                found.extend(apply_severity(list(c.func(ctx)), severity))
    return Base(kb, links, sorted(found, key=Problem.sort_key))


def check_kb(root: Path) -> tuple[KnowledgeBase, nx.MultiDiGraph[str], list[Problem]]:
    """`open_base` as a tuple (kb, graph, problems)."""
    base = open_base(root)
    return base.kb, base.graph, base.problems
