"""What forked workers keep for the next build (their memos), brought back to the builder."""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kb.fast.memory import Memory
from kb.fast.workers import Producer


class Spool:
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


def keeping_rows(site: Any, spool: Spool, producer: Producer) -> Producer:
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
