"""The `kb` command line: a thin layer over the pipeline; exit 0 ok, 1 problems, 2 bad usage."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kb import __version__
from kb.errors import KBError, Problem, Severity, printable

# Modules that add subcommands with register(subparsers); a missing one is skipped.
PLUGINS = ("kb.commands", "kb.build", "kb.cite", "kb.export", "kb.serve")

DESCRIPTION = """\
kb: a research citation knowledge base. Claims, quotes, experts and sources are YAML files;
kb checks every quote against archived text, builds a cross-linked site and cites claims.

examples:
  kb check                      check the knowledge base in this directory
  kb -C path/to/kb check --strict --format json
  kb build --out site           write the static site
  kb cite nmda-blockade --style ama
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def make_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="kb", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"kb {__version__}")
    parser.add_argument(
        "-C",
        dest="root",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="work on the knowledge base in DIR instead of the current directory",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def print_problems(
    problems: Sequence[Problem], fmt: str = "text", stream: TextIO | None = None
) -> None:
    """Print problems as text lines, a JSON array, or GitHub workflow annotations."""
    out = stream or sys.stdout
    if fmt == "json":
        text = json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False)
        print(_RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text), file=out)
        return
    for p in problems:
        if fmt == "github":
            level = "error" if p.severity is Severity.ERROR else "warning"
            msg = _gh_escape(printable(f"{p.message} [{p.code}]"))
            print(
                f"::{level} file={_gh_escape(printable(p.loc.path), True)},line={p.loc.line},"
                f"col={p.loc.col},title={p.code}::{msg}",
                file=out,
            )
        else:
            print(p.text(), file=out)


# What json.dumps leaves raw but a terminal must not see: C1 controls, bidi overrides, line and
# paragraph separators, lone surrogates (C0 controls are already escaped). Same JSON, escaped.
_RAW_IN_JSON = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def exit_code(problems: Sequence[Problem], strict: bool) -> int:
    """1 when there are errors (or warnings under --strict), else 0."""
    bad = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return 1 if any(p.severity in bad for p in problems) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not args.root.is_dir():
        print(f"kb: error: {args.root} is not a directory", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KBError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
