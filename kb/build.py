"""The build: load, graph, check, cite, render, export, write — one readable function."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import KBError, Problem, Severity
from kb.output import SiteWriter

DEFAULT_OUT = "site"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a base is loaded and checked.

    Loading makes millions of objects that live until the end and form no cycles worth
    collecting; each full collection would scan them all again (about 20% of a large build).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class BuildReport:
    """What a build did: wall time per stage, problems, and files written."""

    stages: dict[str, float] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    written: int = 0
    linked: int = 0
    reused: int = 0  # pages not rendered again: their inputs did not change
    exit_code: int = 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - t0


def build(
    root: Path,
    out: Path | None = None,
    strict: bool = False,
    log: Callable[[str], None] | None = None,
    parse_cache: dict[str, Any] | None = None,
) -> BuildReport:
    """Build the site of the knowledge base at `root` into `out`; write nothing on errors.

    A long-running caller (`kb serve`, the benchmark) passes the same `parse_cache` to every
    build so that only files whose bytes changed are parsed again.
    """
    from kb.checks import run_checks
    from kb.graph import build_graph
    from kb.load import load_kb
    from kb.output import check_out_dir

    say = log or (lambda line: print(line, file=sys.stderr))
    root = Path(root)
    out = Path(out) if out is not None else root / DEFAULT_OUT
    check_out_dir(out, root)
    report = BuildReport()
    with gc_paused():
        with report.stage("load"):
            kb, problems = load_kb(root, parse_cache)
        with report.stage("graph"):
            graph = build_graph(kb)
        with report.stage("checks"):
            problems = sorted([*problems, *run_checks(kb, graph)], key=Problem.sort_key)
    gc.freeze()  # what was loaded lives to the end: keep collections (and forked workers) off it
    report.problems = problems
    for p in problems:
        say(p.text())
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    if errors or (strict and warnings):
        why = f"{errors} error(s)" if errors else f"{warnings} warning(s) with --strict"
        say(f"build stopped: {why}; nothing was written, {out} is as it was")
        report.exit_code = 1
        return report
    with report.stage("citations"):
        citations = _citations(kb)
    with report.stage("exports"):
        exports = _exports(kb, graph, problems)
    with SiteWriter(out) as writer:
        with report.stage("render"):
            files, keys, reused = _render(kb, graph, problems, citations, exports, writer)
        files.update(exports)
        with report.stage("write"):
            counts = writer.write(files, keys, reused)
    report.files = len(files) + len(reused)
    report.reused = len(reused)
    report.written, report.linked = counts["written"], counts["linked"]
    say(
        f"built {out}: {report.files} files ({counts['written']} written, "
        f"{counts['linked']} unchanged); {warnings} warning(s)"
    )
    return report


def _citations(kb: Any) -> dict[str, dict[str, Any]]:
    try:
        from kb.cite import cite_sources
    except ImportError:  # the citation module is optional while it is being built
        return {}
    from kb.styles import STYLE_FILES

    styles = kb.config.styles or tuple(STYLE_FILES)
    result: dict[str, dict[str, Any]] = cite_sources(
        kb, styles=styles, cache_dir=cache_dir(kb.root)
    )
    return result


def cache_dir(root: Path) -> Path | None:
    """Return the cache folder of the base at `root`, or None (no cache) when it is a link.

    A knowledge base is data from anyone: a `.kb-cache` that links elsewhere must not make kb
    write there. Without it citations are only slower.
    """
    path = Path(root) / ".kb-cache"
    if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(root.resolve())):
        return None
    return path


def _render(
    kb: Any,
    graph: Any,
    problems: list[Problem],
    citations: Any,
    exports: dict[str, bytes],
    writer: SiteWriter,
) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    """Render the pages whose inputs changed (in parallel when there are many)."""
    from kb.incremental import page_keys
    from kb.render import pages, render_all
    from kb.site import build_date_from_env, prepare

    site = prepare(
        kb, graph, problems, citations, exports=sorted(exports), build_date=build_date_from_env()
    )
    every = pages(site)
    keys = page_keys(site, every)
    reused = [p.path for p in every if p.path in keys and writer.reusable(p.path, keys[p.path])]
    skip = set(reused)
    files = render_all(site, todo=[p for p in every if p.path not in skip])
    return files, keys, reused


def _exports(kb: Any, graph: Any, problems: list[Problem]) -> dict[str, bytes]:
    try:
        from kb.export import export_files
    except ImportError:
        return {}
    files: dict[str, bytes] = export_files(kb, graph, problems)
    return files


def register(sub: Any) -> None:
    """Add the `build` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "build",
        help="check, then write the static site (nothing is written when there are errors)",
        description="Check the knowledge base, then render the site, the exports and the "
        "citations into --out. A build with errors writes nothing; the previous site stays.",
        epilog="example:\n  kb build --out site --strict",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out", type=Path, help=f"output folder (default: {DEFAULT_OUT}/ in the knowledge base)"
    )
    p.add_argument("--strict", action="store_true", help="warnings stop the build too")
    p.add_argument("--timings", action="store_true", help="print the time each stage took")
    p.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    """Run `kb build`."""
    if args.out is not None and not args.out.is_absolute():
        args.out = Path.cwd() / args.out
    try:
        report = build(args.root, args.out, args.strict)
    except OSError as exc:
        raise KBError(f"cannot write the site: {exc}") from exc
    if args.timings:
        for name, secs in report.stages.items():
            print(f"{name:10} {secs:7.3f} s", file=sys.stderr)
    return report.exit_code
