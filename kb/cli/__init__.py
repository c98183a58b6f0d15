"""The `kb` command line: a thin layer over the pipeline; exit 0 ok, 1 problems, 2 bad usage."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kb import __version__
from kb.cli import build, cite, commands, export, serve
from kb.errors import KBError

# The command groups, in the order `kb --help` lists them: each module's register(subparsers)
# adds its subcommands and their handlers.
COMMANDS = (commands, build, cite, export, serve)

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
    for module in COMMANDS:
        module.register(sub)
    return parser


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
