"""The build: load, graph, check, cite, render, export, write — one readable function."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import pickle
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.errors import KBError, Problem, Severity
from kb.fast.collector import gc_paused
from kb.output import SiteWriter
from kb.reading.files import cache_dir

if TYPE_CHECKING:
    from kb.fast.memory import Memory
    from kb.site.render import Producer

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
    from kb.fast.memory import Memory

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
    from kb.checks import run_checks
    from kb.graph import build_graph
    from kb.output import check_out_dir
    from kb.reading.load import load_kb
    from kb.site.render import write_files

    say = log or (lambda line: print(line, file=sys.stderr))
    out = Path(out) if out is not None else root / DEFAULT_OUT
    check_out_dir(out, root)
    report = BuildReport()
    # what is loaded lives to the end: frozen, it is kept out of collections and out of the
    # pages that forked workers copy (see kb.fast.collector)
    with gc_paused(freeze=True):
        with report.stage("load"):
            kb, problems = load_kb(root, parse_cache)
        if memory is not None:
            memory.note(kb)
        known = memory.citations() if memory is not None else None
        # pandoc works on other cores meanwhile
        pending = _Pending(kb) if known is None else _Pending.done(known)
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

        spool = _Spool(memory, memory.warm()) if memory is not None else None
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


class _Pending:
    """Citations formatted beside the graph and the checks: pandoc runs in its own processes,
    and the Python side (preparing items, reading the cache, parsing pandoc's output) runs in a
    forked process for a large base, so that it does not hold the main thread's interpreter
    lock; in a thread for a small base or where forking is unsafe (other threads running, as in
    `kb serve`)."""

    FORK_MIN_SOURCES = 200

    def __init__(self, kb: Any) -> None:
        self._result: dict[str, dict[str, Any]] = {}
        self._error: BaseException | None = None
        self.seconds = 0.0
        self._proc: Any = None
        self._thread: threading.Thread | None = None
        if kb is None:
            return
        forkable = hasattr(os, "fork") and sys.platform != "darwin"
        if forkable and len(kb.sources) >= self.FORK_MIN_SOURCES and threading.active_count() == 1:
            ctx = mp.get_context("fork")
            self._recv, send = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_cite_child, args=(kb, send), daemon=True)
            self._proc.start()
            send.close()
        else:
            self._thread = threading.Thread(target=self._run, args=(kb,), name="kb-citations")
            self._thread.start()

    @classmethod
    def done(cls, citations: dict[str, dict[str, Any]]) -> _Pending:
        """Citations already at hand (those of the last build: no source changed since)."""
        made = cls(None)
        made._result = citations
        return made

    def _run(self, kb: Any) -> None:
        t0 = time.perf_counter()
        try:
            self._result = _citations(kb)
        except BaseException as exc:  # handed to the main thread by result()
            self._error = exc
        self.seconds = time.perf_counter() - t0

    def wait(self) -> None:
        """Wait for the work to end."""
        if self._thread is not None:
            self._thread.join()
        elif self._proc is not None:
            with contextlib.suppress(Exception):  # not needed: the build stops anyway
                self._receive()

    def _receive(self) -> None:
        proc, self._proc = self._proc, None
        try:
            status, payload, self.seconds = self._recv.recv()
        except EOFError:
            proc.join(5)
            raise KBError(
                f"formatting the citations stopped unexpectedly (exit code {proc.exitcode})"
            ) from None
        finally:
            self._recv.close()
        proc.join()
        if status == "ok":
            self._result = payload
        else:
            self._error = payload

    def result(self) -> dict[str, dict[str, Any]]:
        """Wait for the citations; raise what formatting them raised."""
        if self._thread is not None:
            self._thread.join()
        elif self._proc is not None:
            self._receive()
        if self._error is not None:
            raise self._error
        return self._result


def _cite_child(kb: Any, send: Any) -> None:  # pragma: no cover - runs in a forked process
    t0 = time.perf_counter()
    try:
        result: tuple[str, Any, float] = ("ok", _citations(kb), 0.0)
    except BaseException as exc:
        result = ("error", exc, 0.0)
    result = (result[0], result[1], time.perf_counter() - t0)
    try:
        send.send(result)
    except Exception as exc:  # an exception that cannot be pickled: say what it was
        send.send(("error", KBError(f"formatting the citations failed: {exc}"), result[2]))
    finally:
        send.close()


def _citations(kb: Any) -> dict[str, dict[str, Any]]:
    from kb.cite.claims import cite_sources
    from kb.model import STYLE_FILES

    styles = kb.config.styles or tuple(STYLE_FILES)
    result: dict[str, dict[str, Any]] = cite_sources(
        kb, styles=styles, cache_dir=cache_dir(kb.root)
    )
    return result


class _Spool:
    """Brings back to this process what producers keep for the next build (their memos).

    When the memos are warm (the last build filled them), a forked worker that takes such a
    producer declines it and this process runs it after the parallel work (`declined`): the
    work is small, and the memos stay here. When they are cold (a first build), workers run
    them too and pickle the memos into a folder of its own, read after the work (`collect`).
    """

    def __init__(self, memory: Memory, warm: bool) -> None:
        self.memory = memory
        self.warm = warm
        self.pid = os.getpid()
        self.folder = Path(tempfile.mkdtemp(prefix="kb-memo-"))
        self.count = 0
        self.makers: list[Producer] = []
        self.merged: dict[str, dict[Any, Any]] = {}  # see keep(merge=True)

    def producer(self, what: str, make: Callable[[], Mapping[str, bytes]]) -> Producer:
        """Wrap a producer that keeps a memo: in a worker, declined when the memos are warm."""
        number = len(self.makers)
        self.makers.append((what, make))

        def run() -> Mapping[str, bytes]:
            if self.warm and os.getpid() != self.pid:
                (self.folder / f"{number}.declined").touch()
                return {}
            return make()

        return (what, run)

    def keep(self, name: str, value: Any, merge: bool = False) -> None:
        """Keep `value` as the memory's cache `name` (from this process or a worker); `merge`:
        `value` is a dict, and the cache becomes the union of every dict kept under `name` in
        this build, by any process (replacing the last build's when the work is over)."""
        if os.getpid() == self.pid:
            if merge:
                self.merged.setdefault(name, {}).update(value)
            else:
                self.memory.caches[name] = value
            return
        self.count += 1  # in a worker: its own count, its own file names
        path = self.folder / f"{os.getpid()}-{self.count}"
        with open(path.with_suffix(".part"), "wb") as fh:
            pickle.dump((name, value, merge), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(path.with_suffix(".part"), path.with_suffix(".pickle"))

    def declined(self) -> list[Producer]:
        """The producers that workers declined: this process runs them now."""
        numbers = sorted(int(p.stem) for p in self.folder.glob("*.declined"))
        return [self.makers[n] for n in numbers]

    def collect(self) -> None:
        """Read what workers kept, then remove the folder."""
        try:
            for path in sorted(self.folder.glob("*.pickle")):
                with open(path, "rb") as fh:
                    name, value, merge = pickle.load(fh)
                if merge:
                    self.merged.setdefault(name, {}).update(value)
                else:
                    self.memory.caches[name] = value
            self.memory.caches.update(self.merged)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _plan(
    kb: Any,
    graph: Any,
    problems: list[Problem],
    cited: Callable[[], Any],
    writer: SiteWriter,
    memory: Memory | None = None,
    spool: _Spool | None = None,
) -> tuple[list[Producer], dict[str, str], list[str], int]:
    """Decide what to make: the exports, the assets, and the pages whose inputs changed (the
    others are `reused`: linked from the previous site); `keys` are the page keys to record.
    The last item is the number of pages to render.

    The site is indexed before `cited()` is called to wait for the citations (pandoc is still
    at work on a first build): only the page keys and the pages need them.
    """
    from kb.fast.memory import page_keys
    from kb.site.render import assets, default_jobs, page_producers, pages
    from kb.site.state import build_date_from_env, prepare, with_citations

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
        from kb.export import Memo

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
        shared = [_keeping_rows(site, spool, p) for p in shared]
    return [*producers, *shared], keys, reused, len(todo)


def _keeping_rows(site: Any, spool: _Spool, producer: Producer) -> Producer:
    """Wrap a page producer so that the table rows it draws are kept for the next build, also
    when a worker draws them (see kb.site.jinja.table)."""
    what, make = producer

    def run() -> Mapping[str, bytes]:
        site.drawn = {}
        files = make()
        for name, drawn in site.drawn.items():
            spool.keep(name, drawn, merge=True)
        return files

    return (what, run)


def _export_producers(
    kb: Any,
    graph: Any,
    problems: list[Problem],
    memory: Memory | None = None,
    spool: _Spool | None = None,
) -> dict[str, Producer]:
    """One producer per export file: {site path: producer}; with a memory (and its spool),
    each export keeps what it encoded for the next build."""
    from kb.export import EXPORT_DIR, FORMATS, Memo

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
