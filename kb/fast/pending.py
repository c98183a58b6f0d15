"""Citations formatted beside the graph and the checks, in a forked process or a thread."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import sys
import threading
import time
from typing import Any

from kb.cite.claims import Citation, cite_sources
from kb.errors import KBError
from kb.model import STYLE_FILES, KnowledgeBase
from kb.reading.files import cache_dir

Citations = dict[str, dict[str, Citation]]  # style -> source id -> its citation


class Pending:
    """Citations formatted beside the graph and the checks: pandoc runs in its own processes,
    and the Python side (preparing items, reading the cache, parsing pandoc's output) runs in a
    forked process for a large base, so that it does not hold the main thread's interpreter
    lock; in a thread for a small base or where forking is unsafe (other threads running, as in
    `kb serve`)."""

    FORK_MIN_SOURCES = 200

    def __init__(self, kb: KnowledgeBase | None) -> None:
        self._result: Citations = {}
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
    def done(cls, citations: Citations) -> Pending:
        """Citations already at hand (those of the last build: no source changed since)."""
        made = cls(None)
        made._result = citations
        return made

    def _run(self, kb: KnowledgeBase) -> None:
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

    def result(self) -> Citations:
        """Wait for the citations; raise what formatting them raised."""
        if self._thread is not None:
            self._thread.join()
        elif self._proc is not None:
            self._receive()
        if self._error is not None:
            raise self._error
        return self._result


def _cite_child(
    kb: KnowledgeBase, send: Any
) -> None:  # pragma: no cover - runs in a forked process
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


def _citations(kb: KnowledgeBase) -> Citations:
    styles = kb.config.styles or tuple(STYLE_FILES)
    result: Citations = cite_sources(kb, styles=styles, cache_dir=cache_dir(kb.root))
    return result
