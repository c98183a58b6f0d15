"""The `kb` command line: a thin layer over the pipeline; exit 0 ok, 1 problems, 2 bad usage."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kb import __version__
from kb.cli import (
    browse,
    build,
    capture,
    cite,
    commands,
    export,
    importing,
    reference,
    review,
    serve,
    show,
    snapshot,
    start,
    writing,
)
from kb.errors import KBError

# The command groups, in the order `kb --help` lists them: each module's register(subparsers)
# adds its subcommands and their handlers. The modules import what their handlers need (the
# loader, the checks, networkx, the renderer) inside the handlers, so that `kb --version`,
# `kb --help` and a command's --help load none of it (tests/test_startup.py asserts which modules).
COMMANDS = (
    start,
    importing,
    snapshot,
    capture,
    commands,
    browse,
    show,
    review,
    build,
    cite,
    reference,
    writing,
    export,
    serve,
)

DESCRIPTION = """\
kb: a research citation knowledge base. Claims, quotes, experts and sources are YAML files;
kb checks every quote against archived text, builds a cross-linked site and cites claims.

Every command works on the knowledge base that holds the current folder (the nearest folder,
going up, with a kb.yaml or a claims/, experts/ or sources/ folder), or on the one given by -C.

examples:
  kb init my-kb                 start a knowledge base in the folder my-kb
  kb check                      check the knowledge base that holds this folder
  kb -C my-kb check --strict --format json
  kb -C my-kb build --out site  write the static site
  kb reference my-article --style apa
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
        help="work on the knowledge base that holds DIR instead of the current folder",
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
    try:
        return _run(args)
    except OSError as exc:  # a folder or file the command needed could not be read or written
        name = f"cannot use {exc.filename}: " if exc.filename else ""
        print(f"kb: error: {name}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    """Find the base and run the command; errors are messages and exit codes."""
    if not args.root.is_dir():
        print(f"kb: error: {args.root} is not a directory", file=sys.stderr)
        return 2
    if not os.access(args.root, os.R_OK | os.X_OK):
        print(f"kb: error: {args.root} cannot be read (permission denied)", file=sys.stderr)
        return 2
    if _needs_base(args):
        from kb.reading.files import find_base

        base = find_base(args.root)
        if base is None:
            where = args.root.resolve()
            print(
                f"kb: error: {where} is not in a knowledge base: no kb.yaml (nor claims/, "
                "experts/ or sources/ folder) there or in any folder above it.\n"
                "  Start one with `kb init DIR`, or name one with `kb -C DIR ...`.",
                file=sys.stderr,
            )
            return 2
        if base != args.root.resolve():
            args.root = base
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a full device fails here, not at exit with a traceback
        return code
    except KBError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        if exc.filename is not None or exc.errno not in _OUTPUT_ERRORS:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        print(f"kb: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return 2


# Errors of writing to stdout: a full device, a quota, a file too large, an I/O error.
_OUTPUT_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _needs_base(args: argparse.Namespace) -> bool:
    """Whether the command works on a knowledge base (`kb init` and `kb check --explain` or
    `--list` do not)."""
    if not getattr(args, "needs_base", True):
        return False
    return not (getattr(args, "explain", None) or getattr(args, "list", False))


if __name__ == "__main__":
    sys.exit(main())
