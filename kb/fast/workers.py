"""Pages, exports and assets made in parallel: forked workers that write their own files.

Only the build uses this module. Each producer makes some files of the site; the workers take
the next producer's index from a shared counter and send back nothing but the manifest
entries, so rendered pages never cross a process boundary.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kb.errors import KBError
from kb.output import Placed, Staging
from kb.site import render
from kb.site.jinja import _template, environment
from kb.site.pages import LIST_KINDS, Page
from kb.site.state import Site


def default_jobs() -> int:
    """The number of processes that render: KB_JOBS (a whole number from 1), else one per
    CPU; a KB_JOBS that is not one is a KBError."""
    raw = os.environ.get("KB_JOBS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise KBError(f"KB_JOBS={raw[:30]} is not a number of processes (1 or more)")
        return int(raw)
    return os.cpu_count() or 1


PARALLEL_MIN = 400  # below this many pages, starting worker processes costs more than it saves


# A producer makes some files of the site: {site path: bytes}. Forked workers run them by index.
Producer = tuple[str, Callable[[], Mapping[str, bytes]]]  # (what it is, e.g. "render", "exports")


def _produce(producer: Producer, staging: Staging) -> tuple[str, float, list[Placed]]:
    what, make = producer
    t0 = time.process_time()  # CPU time: what the work costs, however busy the machine is
    placed = [staging.put(path, data) for path, data in make().items()]
    return what, time.process_time() - t0, placed


SHARE_MAX = 400  # pages per producer at most: the last ones to finish keep a core busy alone


def page_producers(site: Site, todo: Sequence[Page], shares: int) -> list[Producer]:
    """Split the pages to render into `shares` producers (or more: see SHARE_MAX) of about
    equal work."""
    heavy = [p for p in todo if p.kind in LIST_KINDS or p.kind == "topic"]
    light = [p for p in todo if not (p.kind in LIST_KINDS or p.kind == "topic")]
    out: list[Producer] = [("render", _pages_of(site, [p])) for p in heavy]  # biggest first
    if light:
        n = max(1, min(max(shares, -(-len(light) // SHARE_MAX)), len(light)))
        out += [("render", _pages_of(site, light[i::n])) for i in range(n)]
    return out


def _pages_of(site: Site, share: Sequence[Page]) -> Callable[[], dict[str, bytes]]:
    return lambda: {p.path: render.render_page(site, p) for p in share}


def write_files(
    producers: Sequence[Producer], staging: Staging, jobs: int | None = None, pages: int = 0
) -> tuple[list[Placed], dict[str, float]]:
    """Run the producers and put their files into `staging`, in `jobs` processes (this one and
    forked workers) when there are several CPUs and enough work (at least PARALLEL_MIN `pages`,
    the number of pages to render); return what was placed and the CPU seconds spent per kind
    of work.

    Workers inherit the producers (and what they close over: the prepared site) by fork, take
    the next producer's index from a shared counter, write their files themselves and send back
    nothing but the manifest entries: rendered pages never cross a process boundary nor stay in
    memory. The first error met in any process is raised here.
    """
    jobs = jobs if jobs is not None else default_jobs()
    if jobs <= 1 or pages < PARALLEL_MIN or "fork" not in mp.get_all_start_methods():
        order = iter(range(len(producers)))
        return _work(producers, staging, lambda: next(order, None))
    for name in environment().list_templates(filter_func=lambda n: n.endswith(".html")):
        _template(name)  # compile every template once, before forking
    ctx = mp.get_context("fork")
    counter = ctx.Value("i", 0)

    def take() -> int | None:
        with counter.get_lock():
            i = int(counter.value)
            if i >= len(producers):
                return None
            counter.value = i + 1
            return i

    children = []
    try:
        for _ in range(jobs - 1):
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(producers, staging, take, send), daemon=True)
            proc.start()
            send.close()
            children.append((proc, recv))
        placed, spent = _work(producers, staging, take)
        for proc, recv in children:
            try:
                status, payload = recv.recv()
            except EOFError:
                proc.join(5)
                why = f"a render worker stopped unexpectedly (exit code {proc.exitcode})"
                raise KBError(why) from None
            if status == "error":
                raise payload
            placed += payload[0]
            for what, secs in payload[1].items():
                spent[what] = spent.get(what, 0.0) + secs
    finally:
        for proc, recv in children:
            if proc.is_alive() and proc.exitcode is None:
                proc.join(5)
                if proc.is_alive():
                    proc.terminate()
            recv.close()
    return placed, spent


def _work(
    producers: Sequence[Producer], staging: Staging, take: Callable[[], int | None]
) -> tuple[list[Placed], dict[str, float]]:
    """Run producers (all of them, or those `take` hands out) into `staging`.

    The cyclic garbage collector is paused meanwhile: rendering pages, exports and assets
    makes no reference cycles (reference counting frees it all), and collections that scan the
    objects each page makes cost about 15% of the work at 100,000 claims.
    """
    placed: list[Placed] = []
    spent: dict[str, float] = {}
    was = gc.isenabled()
    gc.disable()
    try:
        while (i := take()) is not None:
            what, secs, got = _produce(producers[i], staging)
            spent[what] = spent.get(what, 0.0) + secs
            placed += got
    finally:
        if was:
            gc.enable()
    return placed, spent


def _worker(
    producers: Sequence[Producer],
    staging: Staging,
    take: Callable[[], int | None],
    send: Any,
) -> None:  # pragma: no cover - runs in a forked process
    try:
        send.send(("ok", _work(producers, staging, take)))
    except BaseException as exc:
        try:
            send.send(("error", exc))
        except Exception:  # an exception that cannot be pickled: say what it was
            send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()
