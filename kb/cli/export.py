"""`kb export`: write one export to a file or standard output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kb.codes import did_you_mean
from kb.errors import KBError, Problem, Severity
from kb.export import FORMATS


def resolve_format(name: str) -> str:
    """Return the canonical format name for a name, alias or file name; else a usage error."""
    for key, (file, _, aliases) in FORMATS.items():
        if name.lower() in (key, file, *aliases):
            return key
    hint = did_you_mean(name, FORMATS)
    raise KBError(f"unknown export format {name!r}{hint}; choose {', '.join(FORMATS)}")


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
    from kb.reading.load import load_kb

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
