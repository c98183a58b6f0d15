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

import networkx as nx

from kb.cite.claims import Citation
from kb.errors import Problem, Severity, printable
from kb.export import EXPORT_DIR, FORMATS, Exporter
from kb.export.claimreview import reviews_of
from kb.fast.checkstore import CheckStore
from kb.fast.collector import gc_paused
from kb.fast.early import Early
from kb.fast.memory import Memory, StoredMemo, page_keys, quote_spans
from kb.fast.pending import Pending
from kb.fast.pieces import PieceMemo, Pieces
from kb.fast.replay import Replay, inputs_key
from kb.fast.spool import Spool, keeping_rows
from kb.fast.stored import Stored
from kb.fast.workers import Producer, default_jobs, page_producers, write_files
from kb.graph import build_graph
from kb.model import KnowledgeBase
from kb.output import Placed, SiteWriter, check_out_dir
from kb.reading.files import ParseCache
from kb.reading.load import load_kb
from kb.site.pages import pages
from kb.site.render import asset_parts, assets
from kb.site.state import Site, build_date_from_env, prepare, with_citations
from kb.urls import DEFAULT_OUT


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
    parse_cache: ParseCache | None = None,
    verbose: bool = False,
) -> BuildReport:
    """Build the site of the knowledge base at `root` into `out`; write nothing on errors.

    Problems are printed one a line when there are at most SUMMARY_ABOVE of them (or with
    `verbose`), else counted by code (`problem_summary`): `kb check` lists them all.

    A long-running caller (`kb serve`, the benchmark) passes the same `parse_cache` to every
    build so that only files whose bytes changed are parsed again (it also holds the memory
    of the last build: kb.fast.memory).
    """
    frozen = gc.get_freeze_count()  # a caller's own frozen objects are left frozen
    try:
        memory = Memory.of(parse_cache)
        return _build(Path(root), out, strict, log, parse_cache, memory, verbose)
    except BaseException:
        Memory.forget(parse_cache)  # it may be half brought up to date
        raise
    finally:
        # what the build froze (see _build) may be collected again: in a process that builds
        # more than once, reference cycles left by a build would otherwise be kept for good
        if not frozen:
            gc.unfreeze()


Citations = dict[str, dict[str, Citation]]  # style -> source id -> its citation


@dataclass
class _Checked:
    """The base as loaded and checked, and its citations being formatted meanwhile."""

    kb: KnowledgeBase
    graph: nx.MultiDiGraph[str]
    problems: list[Problem]
    pending: Pending


@dataclass
class _Plan:
    """What to make: the producers of the exports, assets and pages to render, the page keys
    to record, and the pages not rendered again (linked from the previous site)."""

    producers: list[Producer]
    keys: dict[str, str]
    reused: list[str]
    todo: int  # pages to render


def _build(
    root: Path,
    out: Path | None,
    strict: bool,
    log: Callable[[str], None] | None,
    parse_cache: ParseCache | None,
    memory: Memory | None,
    verbose: bool = False,
) -> BuildReport:
    say = log or (lambda line: print(line, file=sys.stderr))
    out = Path(out) if out is not None else root / DEFAULT_OUT
    check_out_dir(out, root)
    report = BuildReport()
    checked = _load_and_check(root, parse_cache, memory, report, say)
    report.problems = problems = checked.problems
    for line in problem_lines(problems, verbose):
        say(line)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    if errors or (strict and warnings):
        why = f"{errors} error(s)" if errors else f"{warnings} warning(s) with --strict"
        say(f"build stopped: {why}; nothing was written, {out} is as it was")
        checked.pending.wait()  # not needed now, but its processes must not outlive the build
        report.exit_code = 1
        return report
    with SiteWriter(out, memory.manifests if memory is not None else None) as writer:
        plan, placed = _make(checked, writer, memory, report, say)
        with report.stage("write"):
            counts = writer.finish(placed, plan.keys, plan.reused)
    report.files = len(placed) + len(plan.reused)
    report.reused = len(plan.reused)
    report.written, report.linked = counts["written"], counts["linked"]
    say(
        f"built {out}: {report.files} files ({counts['written']} written, "
        f"{counts['linked']} unchanged); {warnings} warning(s)"
    )
    return report


SUMMARY_ABOVE = 20  # more problems than this are counted by code, not listed


def problem_lines(problems: list[Problem], verbose: bool = False) -> list[str]:
    """What `kb build` prints of the problems: each one when there are few (or `verbose`);
    else the errors one a line (when they are few) and the rest counted by code, one line per
    code (errors first, then the most frequent) with its first place."""
    if verbose or len(problems) <= SUMMARY_ABOVE:
        return [p.text() for p in problems]
    errors = [p for p in problems if p.severity is Severity.ERROR]
    listed = errors if len(errors) <= SUMMARY_ABOVE else []
    counted = [p for p in problems if p.severity is not Severity.ERROR] if listed else problems
    by_code: dict[str, list[Problem]] = {}
    for p in counted:
        by_code.setdefault(p.code, []).append(p)
    ranked = sorted(
        by_code.items(),
        key=lambda kv: (kv[1][0].severity is not Severity.ERROR, -len(kv[1]), kv[0]),
    )
    width = max(len(code) for code in by_code)
    what = "warnings" if listed else "problems"
    lines = [p.text() for p in listed]
    lines.append(f"{len(counted)} {what} by code (all of them: `kb check`, `kb build --verbose`):")
    for code, found in ranked:
        first, count = found[0], f"{len(found)} {found[0].severity.value}(s)"
        lines.append(f"  {code:{width}}  {count:>16}, first at {printable(str(first.loc))}")
    return lines


def _load_and_check(
    root: Path,
    parse_cache: ParseCache | None,
    memory: Memory | None,
    report: BuildReport,
    say: Callable[[str], None],
) -> _Checked:
    """Load, graph and check; the citations are formatted on other cores meanwhile. What is
    loaded lives to the end: frozen, it is kept out of collections and out of the pages that
    forked workers copy (see kb.fast.collector)."""
    with gc_paused(freeze=True):
        with report.stage("load"):
            # the files' stamps before they are read: the problems found are kept for the next
            # `kb check` (which the build's summary points to) under them (kb.fast.replay)
            replay = inputs_key(root) if memory is None else None
            stored = Stored(root, say)  # the readings kept by the last run (kb.fast.stored)
            kb, problems = load_kb(root, parse_cache, helper=stored.start)
            stored.save()
        if memory is not None:
            memory.note(kb)
        known = memory.citations() if memory is not None else None
        if known is None and any(p.severity is Severity.ERROR for p in problems):
            known = {}  # the build stops on these errors: formatting citations would be waited for
        pending = Pending(kb) if known is None else Pending.done(known)
        with report.stage("graph"):
            graph = memory.graph_of(kb) if memory is not None else build_graph(kb)
        with report.stage("checks"):
            # a long-running caller's memory, else the findings stored by the last process
            if memory is not None:
                found = memory.check(kb, graph, say)
            else:
                found = CheckStore(root, say).check(kb, graph)
            problems = sorted([*problems, *found], key=Problem.sort_key)
            if replay is not None:
                records = bool(kb.claims or kb.sources or kb.experts)
                Replay(root, say).save(replay, problems, records)
    return _Checked(kb, graph, problems, pending)


def _make(
    checked: _Checked,
    writer: SiteWriter,
    memory: Memory | None,
    report: BuildReport,
    say: Callable[[str], None],
) -> tuple[_Plan, list[Placed]]:
    """Plan, then make the pages, exports and assets into the writer's staging folder, in
    parallel; return the plan and what was placed."""

    def cited() -> Citations:
        """Wait for the citations: _plan asks once it has indexed what needs none."""
        with report.stage("citations"):
            citations = checked.pending.result()
        if memory is not None:
            memory.keep_citations(citations)
        return citations

    spool = Spool(memory, memory.warm()) if memory is not None else None
    pieces = None
    if memory is None and writer.old_keys:  # a rebuild in a new process: kb.fast.pieces
        pieces = Pieces(checked.kb.root, checked.kb, checked.graph, say)
    exports = _export_producers(checked, memory, spool, pieces)
    early = None
    if memory is None:  # the exports made meanwhile by a forked process (kb.fast.early)
        k = checked.kb
        records = len(k.claims) + len(k.sources) + len(k.experts)
        early = Early.start(list(exports.values()), writer.scratch, records, default_jobs())
    try:
        t0 = time.perf_counter()
        with gc_paused(freeze=True):  # indexes that live to the end
            plan = _plan(checked, cited, writer, memory, spool, exports, early is not None, pieces)
        waited = report.stages.get("citations", 0.0)
        report.stages["prepare"] = time.perf_counter() - t0 - waited  # without the wait
        in_place = plan.todo * 2 <= len(plan.keys) + 16  # few pages changed
        staging = writer.staging(in_place=in_place)
        report.in_place = staging.in_place
        # the site-wide outputs cover every record: a large base is worth forking for,
        # unless they keep their pieces from the last build (then they cost little)
        warm = spool is not None and spool.warm
        work = plan.todo if warm else plan.todo + len(plan.keys) // 10
        # what this process keeps of the work (the manifest entries) is frozen too, not
        # scanned when collections resume
        with report.stage("render"), gc_paused(freeze=True):
            placed, spent = write_files(plan.producers, staging, pages=work)
            if early is not None:
                got, secs = early.into(staging)
                writer.drop_scratch()
                placed += got
                for what, cpu in secs.items():
                    spent[what] = spent.get(what, 0.0) + cpu
            for what, make in spool.declined() if spool is not None else ():
                t0 = time.process_time()
                placed += [staging.put(path, data) for path, data in make().items()]
                spent[what] = spent.get(what, 0.0) + time.process_time() - t0
        if pieces is not None:
            pieces.seal()
    finally:
        if early is not None:
            early.stop()
        if spool is not None:
            spool.collect()
    report.work = {"citations": checked.pending.seconds, **spent}
    return plan, placed


def _plan(
    checked: _Checked,
    cited: Callable[[], Citations],
    writer: SiteWriter,
    memory: Memory | None,
    spool: Spool | None,
    exports: dict[str, Producer],
    made_early: bool,
    pieces: Pieces | None = None,
) -> _Plan:
    """Decide what to make: the `exports` (unless they are `made_early`, by kb.fast.early),
    the assets, and the pages whose inputs changed (the others are linked from the previous
    site).

    The site is indexed before `cited()` is called to wait for the citations (pandoc is still
    at work on a first build): only the page keys and the pages need them.
    """
    kb, graph = checked.kb, checked.graph
    site = prepare(
        kb,
        graph,
        checked.problems,
        {},
        exports=sorted(exports),
        build_date=build_date_from_env(),
        spans=quote_spans(kb, graph, memory) if memory is not None else None,
        claim_reviews=reviews_of(kb),
    )
    every = pages(site)
    with_citations(site, cited())
    keys = page_keys(site, every, memory, pieces.orders(site) if pieces is not None else None)
    site.forget_walks()  # the pages need them one by one: the memory serves what comes next
    reused = [p.path for p in every if p.path in keys and writer.reusable(p.path, keys[p.path])]
    skip = set(reused)
    todo = [p for p in every if p.path not in skip]
    producers: list[Producer] = [
        *(() if made_early else exports.values()),
        *_assets_producers(site, memory, spool, pieces),
    ]
    shared = page_producers(site, todo, shares=default_jobs() * 8)
    if memory is not None and spool is not None:
        site.caches = memory.caches
        shared = [keeping_rows(site, spool, p) for p in shared]
    return _Plan([*producers, *shared], keys, reused, len(todo))


def _assets_producers(
    site: Site, memory: Memory | None, spool: Spool | None, pieces: Pieces | None = None
) -> list[Producer]:
    """The producers of the assets (styles, scripts, search index, graph data, audit data):
    three, made in parallel (with `pieces`, each from the pieces the last process kept, and
    keeping its own); with a memory, one, whose parts keep their pieces in one store for the
    next build."""
    if pieces is not None:
        return [
            ("assets", _kept(pieces, "assets", _with_site_memo(site, make)))
            if pieces.keeps_asset(name)
            else ("assets", make)
            for name, make in asset_parts(site).items()
        ]
    if memory is None or spool is None:
        return [("assets", make) for make in asset_parts(site).values()]
    memo = site.memo = StoredMemo(
        memory.digests, memory.world, memory.structure, memory.caches.get("assets", {})
    )

    def make_assets() -> Mapping[str, bytes]:
        files = assets(site)
        spool.keep("assets", memo.store)
        return files

    return [spool.producer("assets", make_assets)]


def _kept(
    pieces: Pieces, output: str, make: Callable[[PieceMemo], Mapping[str, bytes]]
) -> Callable[[], Mapping[str, bytes]]:
    """A producer that makes `output` with a memo of the pieces the store keeps (in the process
    that runs it), then stores the pieces it made."""

    def made() -> Mapping[str, bytes]:
        memo = pieces.memo(output)
        files = make(memo)
        memo.keep()
        return files

    return made


def _with_site_memo(
    site: Site, make: Callable[[], Mapping[str, bytes]]
) -> Callable[[PieceMemo], Mapping[str, bytes]]:
    """`make`, one part of the assets, which reads `site.memo`, made with a given memo."""

    def made(memo: PieceMemo) -> Mapping[str, bytes]:
        site.memo = memo
        try:
            return make()
        finally:
            site.memo = None

    return made


def _export_producers(
    checked: _Checked,
    memory: Memory | None = None,
    spool: Spool | None = None,
    pieces: Pieces | None = None,
) -> dict[str, Producer]:
    """One producer per export file: {site path: producer}; with a memory (and its spool),
    each export keeps what it encoded for the next build; with `pieces`, an export the store
    keeps pieces of makes only its changed pieces, and stores them (kb.fast.pieces)."""
    kb, graph, problems = checked.kb, checked.graph, checked.problems

    def one(path: str, func: Exporter) -> Producer:
        name = "export:" + path
        if pieces is not None and pieces.keeps(name):
            made = _kept(pieces, name, lambda m: {path: func(kb, graph, problems, memo=m)})
            return ("exports", made)
        if memory is None or spool is None:
            return ("exports", lambda: {path: func(kb, graph, problems)})
        memo = StoredMemo(
            memory.digests, memory.world, memory.structure, memory.caches.get(name, {})
        )

        def make() -> dict[str, bytes]:
            data = func(kb, graph, problems, memo=memo)
            spool.keep(name, memo.store)
            return {path: data}

        return spool.producer("exports", make)

    return {
        f"{EXPORT_DIR}/{name}": one(f"{EXPORT_DIR}/{name}", func)
        for name, func, _ in FORMATS.values()
    }
