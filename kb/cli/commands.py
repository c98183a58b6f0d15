"""The commands that read records: check, graph."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kb.cli import COMMANDS
from kb.cli.report import exit_code, print_problems
from kb.codes import did_you_mean
from kb.errors import KBError

Sub = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _parser(sub: Any, name: str, example: str) -> argparse.ArgumentParser:
    summary = COMMANDS[name].summary
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return p


def register(sub: Any) -> None:
    """Add the check and graph subcommands."""
    p = _parser(
        sub,
        "check",
        "kb check --strict --format github",
    )
    p.add_argument("--format", choices=("text", "json", "github"), default="text")
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    p.add_argument("--explain", metavar="CODE", help="print the documentation of a check code")
    p.add_argument("--list", action="store_true", help="list every check code with its severity")
    p.set_defaults(func=cmd_check)

    p = _parser(
        sub,
        "graph",
        "kb graph --top 10",
    )
    p.add_argument("--top", type=int, default=5, help="how many most-connected records to list")
    p.set_defaults(func=cmd_graph)


def cmd_check(args: argparse.Namespace) -> int:
    """Run `kb check`."""
    from kb.checks import CODES
    from kb.pipeline import check_base

    if args.explain:
        c = CODES.get(args.explain)
        if c is None:
            raise KBError(f"no check code {args.explain!r}{did_you_mean(args.explain, CODES)}")
        print(f"{c.code} ({c.severity.value} by default; {c.family})\n\n{c.doc}")
        return 0
    if args.list:
        for c in sorted(CODES.values(), key=lambda c: (c.family, c.code)):
            print(f"{c.code:20} {c.severity.value:8} {c.summary}")
        return 0
    checked = check_base(args.root)
    problems = checked.problems
    print_problems(problems, args.format)
    if args.format == "text":
        errors = sum(p.severity == "error" for p in problems)
        print(f"{errors} error(s), {len(problems) - errors} warning(s)", file=sys.stderr)
        if checked.replayed:
            print(
                "(no file changed since the last check: its result, kept in .kb-cache/; "
                "delete that folder to check every file again)",
                file=sys.stderr,
            )
        if not checked.records:
            print(f"no records yet in {args.root}: nothing was checked", file=sys.stderr)
    return exit_code(problems, args.strict)


def cmd_graph(args: argparse.Namespace) -> int:
    """Run `kb graph`."""
    from kb.graph import summary
    from kb.pipeline import check_kb

    _kb, g, _problems = check_kb(args.root)
    print(summary(g, args.top))
    return 0
