"""`kb serve`: build, serve on 127.0.0.1, rebuild on change."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kb.cli import COMMANDS


def register(sub: Any) -> None:
    """Add the `serve` subcommand."""
    parser = sub.add_parser(
        "serve",
        help=COMMANDS["serve"].summary,
        description=(
            "Build the site into the output directory, serve it on 127.0.0.1 only, rebuild\n"
            "when a file of the knowledge base changes, and reload the open page.\n\n"
            "example:\n  kb serve --port 8000"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        metavar="N",
        help="port to listen on, 1 to 65535 (default 8000; 0: any free port)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output directory (default: site/ in the knowledge base)",
    )
    parser.add_argument(
        "--poll",
        action="store_true",
        help="look for changed files every 0.5 s instead of waiting for the system's notes "
        "(for file systems that give none, such as some network ones)",
    )
    parser.set_defaults(func=_serve)


def _port(text: str) -> int:
    """A TCP port number (0: one the system picks), else a usage error."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535 (or 0), not {port}")
    return port


def _serve(args: argparse.Namespace) -> int:
    """Run `kb serve` (kb.serve: the build and the server load only now)."""
    from kb.serve import handler

    return handler(args)
