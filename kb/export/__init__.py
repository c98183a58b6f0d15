"""Exports for writers and tools: CSL-JSON, BibTeX, ClaimReview, GraphML, CSV and the audit.

Every format is a module with `export(kb, graph, problems, memo=None) -> bytes`; the output is
deterministic (sorted, no timestamps); a long-running process passes a `Memo` so that only the
records that changed are encoded again. `export_files` gives the site's `exports/` folder and
`kb export FORMAT` writes one of them to standard output or a file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import networkx as nx

from kb.errors import KBError, Problem, Severity
from kb.export import audit, bibtex, claimreview, claimscsv, csljson, graphml
from kb.export.memo import Memo
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
    "claimreview": ("claimreview.jsonld", claimreview.export, ("jsonld",)),
    "graphml": ("graph.graphml", graphml.export, ()),
    "csv": ("claims.csv", claimscsv.export, ("claims",)),
    "audit": ("audit.json", audit.export, ()),
}
EXPORT_DIR = "exports"


def export_files(
    kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]
) -> dict[str, bytes]:
    """Return every export as {site path: bytes}, e.g. {"exports/kb.bib": b"..."}."""
    return {f"{EXPORT_DIR}/{name}": func(kb, graph, problems) for name, func, _ in FORMATS.values()}


def resolve_format(name: str) -> str:
    """Return the canonical format name for a name, alias or file name; else a usage error."""
    for key, (file, _, aliases) in FORMATS.items():
        if name.lower() in (key, file, *aliases):
            return key
    import difflib

    close = difflib.get_close_matches(name, list(FORMATS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise KBError(f"unknown export format {name!r}{hint} (choose {', '.join(FORMATS)})")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` subcommand."""
    lines = "\n".join(f"  {k:12} {f}" for k, (f, _, _) in FORMATS.items())
    p = sub.add_parser(
        "export",
        help="write one export (CSL-JSON, BibTeX, ClaimReview, GraphML, CSV, audit)",
        description="Write one of the exports that `kb build` puts in site/exports/, to\n"
        "standard output or to a file. Formats (and the file each is in the site):\n" + lines,
        epilog="examples:\n  kb export bibtex -o refs.bib\n  kb export csl-json > kb.csl.json\n"
        "  pandoc --citeproc --bibliography kb.csl.json --csl apa.csl draft.md -o draft.docx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("format", metavar="FORMAT", help=", ".join(FORMATS))
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not to stdout")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Run `kb export`."""
    from kb.checks import run_checks
    from kb.graph import build_graph
    from kb.load import load_kb

    fmt = resolve_format(args.format)
    kb, problems = load_kb(args.root)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        for p in errors:
            print(p.text(), file=sys.stderr)
        return 1
    graph = build_graph(kb)
    problems = sorted([*problems, *run_checks(kb, graph)], key=Problem.sort_key)
    data = FORMATS[fmt][1](kb, graph, problems)
    if args.output is None or str(args.output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise KBError(f"cannot write {args.output}: {exc}", exit_code=1) from exc
    print(f"wrote {args.output} ({FORMATS[fmt][0]}, {len(data)} bytes)", file=sys.stderr)
    return 0
