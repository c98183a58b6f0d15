"""Run every check over a loaded knowledge base; each code is documented by its function."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from kb.checks import evidence, loading, quotes, references, upkeep
from kb.checks.context import Context
from kb.checks.registry import CODES, Code, apply_severity
from kb.errors import Problem
from kb.model import KnowledgeBase

__all__ = ["CODES", "Code", "check_kb", "loading", "run_checks"]
_FAMILIES = (references, quotes, evidence, upkeep)  # imported for their registrations


def run_checks(kb: KnowledgeBase, graph: nx.MultiDiGraph[str]) -> list[Problem]:
    """Run every graph-wide check; return problems with kb.yaml severities applied, by place."""
    ctx = Context(kb, graph)
    found: list[Problem] = []
    for c in CODES.values():
        if c.runs and kb.config.severity.get(c.code) != "off":
            found.extend(c.func(ctx))
    ctx.keep()
    return apply_severity(found, kb.config.severity)


def check_kb(root: Path) -> tuple[KnowledgeBase, nx.MultiDiGraph[str], list[Problem]]:
    """Load, graph and check the knowledge base at `root`; return every problem, by place."""
    from kb.build import gc_paused
    from kb.graph import build_graph
    from kb.load import load_kb

    with gc_paused():
        kb, problems = load_kb(root)
        graph = build_graph(kb)
        problems = sorted([*problems, *run_checks(kb, graph)], key=Problem.sort_key)
    return kb, graph, problems
