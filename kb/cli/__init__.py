"""The `kb` command line: a thin layer over the pipeline; exit 0 ok, 1 problems, 2 bad usage."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from kb import __version__


class Command:
    """A command of `kb`: the module of kb.cli whose register(subparsers) adds it (with the
    other commands of that module), and its line in `kb --help`. (A plain class: `typing`
    would take longer to import than argparse.)"""

    __slots__ = ("module", "summary")

    def __init__(self, module: str, summary: str) -> None:
        self.module = module
        self.summary = summary


# Every command, in the order `kb --help` lists them (each module's commands together, in the
# order its register() adds them). `kb --version`, `kb --help` and a mistyped command load none
# of these modules: the parser lists each command by name and summary; only the module of the
# command given is loaded, and its handlers import what they need (the loader, the checks, the
# renderer) when they run. tests/test_startup.py asserts which modules each run loads.
COMMANDS: dict[str, Command] = {
    "init": Command(
        "start", "start a knowledge base: kb.yaml, the folders, .gitignore and a README"
    ),
    "new": Command("start", "write a commented template for a new record (a claim quote-first)"),
    "import": Command("importing", "write sources from CSL-JSON, BibTeX, RIS files or DOIs"),
    "snapshot": Command(
        "snapshot", "archive a source's text from a saved page, a PDF, a text file or a URL"
    ),
    "quote": Command(
        "capture", "add a quote to a claim, checked against its source's snapshot first"
    ),
    "check": Command("commands", "check every record and quote; print problems at file:line:col"),
    "graph": Command(
        "commands", "summarise the knowledge graph: counts, most connected, components"
    ),
    "list": Command("browse", "list claims (or sources, experts, people, topics), filtered"),
    "show": Command(
        "show", "show one record: a claim, a source with its claims, a person, a topic"
    ),
    "review": Command(
        "review", "record reviews: a verdict on one or more claims, or reconfirm stale ones"
    ),
    "build": Command(
        "build", "check, then write the static site (nothing is written when there are errors)"
    ),
    "cite": Command("cite", "print a claim's verified quote with its citation in a style"),
    "reference": Command(
        "reference", "print sources' references and in-text citations, as the site shows them"
    ),
    "pandoc": Command(
        "writing", "render a draft with pandoc; [@claim:ID] becomes its verified quote"
    ),
    "export": Command(
        "export",
        "write one export (CSL-JSON, BibTeX, biblatex, ClaimReview, GraphML, CSV, SQLite, audit)",
    ),
    "serve": Command("serve", "build the site, serve it on 127.0.0.1 and rebuild on change"),
}


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


def make_parser(full: Collection[str] | None = None) -> argparse.ArgumentParser:
    """Build the argument parser: every command in full, or only those of the modules `full`
    names (the others by name and summary, with no arguments of their own)."""
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
    registered: set[str] = set()
    for name, command in COMMANDS.items():
        if full is not None and command.module not in full:
            sub.add_parser(name, help=command.summary, add_help=False)
        elif command.module not in registered:
            registered.add(command.module)
            importlib.import_module(f"kb.cli.{command.module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    try:
        # First the command's name (--help, --version and a mistyped command end here), then
        # the command's own arguments, with its module loaded.
        named, _rest = make_parser(()).parse_known_args(argv)
        command = COMMANDS.get(named.command or "")
        parser = make_parser([command.module] if command else ())
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


def run() -> None:
    """`kb` as a program (the console script, `python -m kb`): `main()`, then the process ends
    at once, without the interpreter's own clean-up, which frees every object one at a time
    (0.2 s after a build of 10,000 claims). Everything kb writes is closed by then, and stdout
    flushed (`_run`); when another thread or a child process is still alive, the exit is the
    usual one, which waits for them."""
    code = main()
    threads = sys.modules.get("threading")
    processes = sys.modules.get("multiprocessing")
    if (threads is None or threads.active_count() == 1) and (
        processes is None or not processes.active_children()
    ):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
    """Find the base and run the command; errors are messages and exit codes."""
    from kb.errors import KBError

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
