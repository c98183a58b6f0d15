"""The build: load, graph, check, cite, render, export, write — in order, one stage at a time.

Everything that only makes builds fast (the memory between builds, forked workers, the
collector's pauses) lives in kb.fast; this module calls it at each stage.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.checks import run_checks
from kb.errors import Problem, Severity
from kb.export import EXPORT_DIR, FORMATS, Memo
from kb.fast import parsehelper
from kb.fast.collector import gc_paused
from kb.fast.memory import Memory, page_keys
from kb.fast.pending import Pending
from kb.fast.spool import Spool, keeping_rows
from kb.fast.workers import Producer, default_jobs, page_producers, write_files
from kb.graph import build_graph
from kb.output import SiteWriter, check_out_dir
from kb.reading.load import load_kb
from kb.site.pages import pages
from kb.site.render import assets
from kb.site.state import build_date_from_env, prepare, with_citations

DEFAULT_OUT = "site"


@dataclass
class BuildReport:
    """What a build did: wall time per stage, problems, and files written."""

    stages: dict[str, float] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    written: int = 0
    linked: int = 0
    reused: int = 0  # pages not rendered again: their inputs did not change
    # CPU seconds of the parallel work per kind (render, exports, assets); "citations" is the
    # wall time of formatting them beside the graph and checks
    work: dict[str, float] = field(default_factory=dict)
    in_place: bool = False  # the changed files were moved into the previous site (few changed)
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
    frozen = gc.get_freeze_count()  # a caller's own frozen objects are left frozen
    try:
        return _build(Path(root), out, strict, log, parse_cache, Memory.of(parse_cache))
    except BaseException:
        Memory.forget(parse_cache)  # it may be half brought up to date
        raise
    finally:
        # what the build froze (see _build) may be collected again: in a process that builds
        # more than once, reference cycles left by a build would otherwise be kept for good
        if not frozen:
            gc.unfreeze()


def _build(
    root: Path,
    out: Path | None,
    strict: bool,
    log: Callable[[str], None] | None,
    parse_cache: dict[str, Any] | None,
    memory: Memory | None,
) -> BuildReport:

    say = log or (lambda line: print(line, file=sys.stderr))
    out = Path(out) if out is not None else root / DEFAULT_OUT
    check_out_dir(out, root)
    report = BuildReport()
    # what is loaded lives to the end: frozen, it is kept out of collections and out of the
    # pages that forked workers copy (see kb.fast.collector)
    with gc_paused(freeze=True):
        with report.stage("load"):
            kb, problems = load_kb(root, parse_cache, helper=parsehelper.start)
        if memory is not None:
            memory.note(kb)
        known = memory.citations() if memory is not None else None
        # pandoc works on other cores meanwhile
        pending = Pending(kb) if known is None else Pending.done(known)
        with report.stage("graph"):
            graph = memory.graph_of(kb) if memory is not None else build_graph(kb)
        with report.stage("checks"):
            found = memory.check(kb, graph) if memory is not None else run_checks(kb, graph)
            problems = sorted([*problems, *found], key=Problem.sort_key)
    report.problems = problems
    for p in problems:
        say(p.text())
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    if errors or (strict and warnings):
        why = f"{errors} error(s)" if errors else f"{warnings} warning(s) with --strict"
        say(f"build stopped: {why}; nothing was written, {out} is as it was")
        pending.wait()  # not needed now, but its processes must not outlive the build
        report.exit_code = 1
        return report
    with SiteWriter(out) as writer:

        def cited() -> Any:
            """Wait for the citations: _plan asks once it has indexed what needs none."""
            with report.stage("citations"):
                citations = pending.result()
            if memory is not None:
                memory.keep_citations(citations)
            return citations

        spool = Spool(memory, memory.warm()) if memory is not None else None
        try:
            t0 = time.perf_counter()
            with gc_paused(freeze=True):  # indexes that live to the end
                producers, keys, reused, todo = _plan(
                    kb, graph, problems, cited, writer, memory, spool
                )
            waited = report.stages.get("citations", 0.0)
            report.stages["prepare"] = time.perf_counter() - t0 - waited  # without the wait
            staging = writer.staging(in_place=todo * 2 <= len(keys) + 16)  # few pages changed
            report.in_place = staging.in_place
            # the site-wide outputs cover every record: a large base is worth forking for,
            # unless they keep their pieces from the last build (then they cost little)
            work = todo if spool is not None and spool.warm else todo + len(keys) // 10
            # pages, exports and assets, in parallel; what this process keeps of them (the
            # manifest entries) is frozen too, not scanned when collections resume
            with report.stage("render"), gc_paused(freeze=True):
                placed, spent = write_files(producers, staging, pages=work)
                for what, make in spool.declined() if spool is not None else ():
                    t0 = time.process_time()
                    placed += [staging.put(path, data) for path, data in make().items()]
                    spent[what] = spent.get(what, 0.0) + time.process_time() - t0
        finally:
            if spool is not None:
                spool.collect()
        report.work = {"citations": pending.seconds, **spent}
        with report.stage("write"):
            counts = writer.finish(placed, keys, reused)
    report.files = len(placed) + len(reused)
    report.reused = len(reused)
    report.written, report.linked = counts["written"], counts["linked"]
    say(
        f"built {out}: {report.files} files ({counts['written']} written, "
        f"{counts['linked']} unchanged); {warnings} warning(s)"
    )
    return report


def _plan(
    kb: Any,
    graph: Any,
    problems: list[Problem],
    cited: Callable[[], Any],
    writer: SiteWriter,
    memory: Memory | None = None,
    spool: Spool | None = None,
) -> tuple[list[Producer], dict[str, str], list[str], int]:
    """Decide what to make: the exports, the assets, and the pages whose inputs changed (the
    others are `reused`: linked from the previous site); `keys` are the page keys to record.
    The last item is the number of pages to render.

    The site is indexed before `cited()` is called to wait for the citations (pandoc is still
    at work on a first build): only the page keys and the pages need them.
    """

    exports = _export_producers(kb, graph, problems, memory, spool)
    site = prepare(
        kb,
        graph,
        problems,
        {},
        exports=sorted(exports),
        build_date=build_date_from_env(),
        memory=memory,
    )
    every = pages(site)
    with_citations(site, cited())
    keys = page_keys(site, every, memory)
    reused = [p.path for p in every if p.path in keys and writer.reusable(p.path, keys[p.path])]
    skip = set(reused)
    todo = [p for p in every if p.path not in skip]
    if memory is not None and spool is not None:
        memo = site.memo = Memo(
            memory.digests, memory.world, memory.structure, memory.caches.get("assets", {})
        )

        def make_assets() -> Mapping[str, bytes]:
            files = assets(site)
            spool.keep("assets", memo.store)
            return files

    else:

        def make_assets() -> Mapping[str, bytes]:
            return assets(site)

    made = ("assets", make_assets) if spool is None else spool.producer("assets", make_assets)
    producers: list[Producer] = [*exports.values(), made]
    shared = page_producers(site, todo, shares=default_jobs() * 8)
    if memory is not None and spool is not None:
        site.caches = memory.caches
        shared = [keeping_rows(site, spool, p) for p in shared]
    return [*producers, *shared], keys, reused, len(todo)


def _export_producers(
    kb: Any,
    graph: Any,
    problems: list[Problem],
    memory: Memory | None = None,
    spool: Spool | None = None,
) -> dict[str, Producer]:
    """One producer per export file: {site path: producer}; with a memory (and its spool),
    each export keeps what it encoded for the next build."""

    def one(path: str, func: Any) -> Producer:
        if memory is None or spool is None:
            return ("exports", lambda: {path: func(kb, graph, problems)})
        name = "export:" + path
        memo = Memo(memory.digests, memory.world, memory.structure, memory.caches.get(name, {}))

        def make() -> dict[str, bytes]:
            data = func(kb, graph, problems, memo=memo)
            spool.keep(name, memo.store)
            return {path: data}

        return spool.producer("exports", make)

    return {
        f"{EXPORT_DIR}/{name}": one(f"{EXPORT_DIR}/{name}", func)
        for name, func, _ in FORMATS.values()
    }
