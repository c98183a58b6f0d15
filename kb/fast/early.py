"""The exports made beside the plan: a forked process writes them while the builder prepares
the site and its page keys.

Only the build uses this module, for a build that keeps no memory (`kb build`: a long-running
process keeps the exports' pieces instead, and makes them in little time). Preparing the site
and the page keys runs on one core (0.7 s at 10,000 claims) while the other waits; the exports
need only the records, the graph and the problems, all known by then. So a forked process
makes them meanwhile, each file written into a scratch folder beside the output
(`SiteWriter.scratch`, `Staging.made_early`), and the builder moves them into the staging
folder once it exists (`Staging.adopt`): the files never cross a process boundary. Where
forking is not possible or not worth it (a small base, KB_JOBS=1, other threads running), the
exports are made with the pages, as before.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kb.errors import KBError
from kb.fast.workers import Producer
from kb.output import Placed, Staging

# Below this many records the exports take about a tenth of a second or less (at 10,000 claims
# and 3,000 other records: 1 s of CPU): not worth another process.
EARLY_MIN_RECORDS = 2000


class Early:
    """Producers run in a forked process from now on; `into(staging)` places their files."""

    def __init__(self, folder: Path, proc: Any, recv: Any) -> None:
        self.folder, self._proc, self._recv = folder, proc, recv

    @classmethod
    def start(
        cls,
        producers: Sequence[Producer],
        scratch: Callable[[], Path],
        records: int,
        jobs: int,
    ) -> Early | None:
        """Start making the files of `producers` in a forked process; None (nothing started:
        the caller makes them with the rest) when there is one job, few records, no fork, or
        another thread in this process."""
        if (
            not producers
            or jobs <= 1
            or records < EARLY_MIN_RECORDS
            or "fork" not in mp.get_all_start_methods()
            or threading.active_count() > 1
        ):
            return None
        folder = scratch()
        ctx = mp.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(producers, folder, send), daemon=True)
        proc.start()
        send.close()
        return cls(folder, proc, recv)

    def into(self, staging: Staging) -> tuple[list[Placed], dict[str, float]]:
        """Wait for the files, move them into `staging`; return what was placed and the CPU
        seconds spent per kind of work. Raises what making them raised."""
        proc, self._proc = self._proc, None
        try:
            status, payload = self._recv.recv()
        except EOFError:
            proc.join(5)
            why = f"the process making the exports stopped unexpectedly (exit code {proc.exitcode})"
            raise KBError(why) from None
        finally:
            self._recv.close()
        proc.join()
        if status != "ok":
            raise payload
        made, spent = payload
        placed = [
            staging.adopt(path, self.folder / name, digest, size)
            for path, name, digest, size in made
        ]
        return placed, spent

    def stop(self) -> None:
        """End the process if it still runs (the build stopped before `into`)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            self._recv.close()
        if proc.is_alive():
            proc.terminate()
        proc.join(5)


def _child(
    producers: Sequence[Producer], folder: Path, send: Any
) -> None:  # pragma: no cover - runs in a forked process
    gc.disable()  # as the render workers: nothing made here forms cycles worth collecting
    try:
        made: list[tuple[str, str, str, int]] = []
        spent: dict[str, float] = {}
        for i, (what, make) in enumerate(producers):
            t0 = time.process_time()
            for j, (path, data) in enumerate(make().items()):
                name = f"{i}-{j}"
                made.append((path, name, *Staging.made_early(folder, name, data)))
            spent[what] = spent.get(what, 0.0) + time.process_time() - t0
        result: tuple[str, Any] = ("ok", (made, spent))
    except BaseException as exc:
        result = ("error", exc)
    try:
        send.send(result)
    except Exception as exc:  # an exception that cannot be pickled: say what it was
        send.send(("error", KBError(f"making the exports failed: {exc}")))
    finally:
        send.close()
