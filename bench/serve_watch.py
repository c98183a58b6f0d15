"""Time what `kb serve` costs while it waits, and how soon an edit is rebuilt and served.

usage: python bench/serve_watch.py [--claims N] [--edits K] [--idle S] [--base DIR]

Generates the bench base of N claims (bench/generate.py; default 10,000) unless --base names
one, then runs `kb serve` on two copies of it, alternately for each measure: watching with the
system's notes of changed files (the default) and with `--poll` (a look at every file's stamp
every 0.5 s, what kb serve did before). For each it waits for the first build, then reports

- idle: the server's CPU time (user + system, from /proc) over S seconds (default 10) with
  nothing changing, as a share of one core;
- edit to change seen, and to rebuilt: K times (default 7), 2 to 3 s after the last rebuild
  (the same pauses each run), one claim's statement is changed and saved, and the time from
  the save until the server prints that it saw a change (it then starts to rebuild), and
  until it prints that the site is built (it then gives open pages the new version): the
  medians, with the lowest and the highest. The first is the detection of the change; the
  second adds the rebuild.
  (Asking `/__kb/version.js` every few milliseconds instead would slow the rebuild it
  measures: the server answers in a thread of the same process.)

It prints the load average before and after. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LISTEN = re.compile(r"kb serve: http://127\.0\.0\.1:(\d+)/")
MODES = {"notes": [], "poll": ["--poll"]}


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """`kb serve` on a base, on a free port, its output in a folder of its own."""

    def __init__(self, base: Path, out: Path, extra: list[str]) -> None:
        command = [sys.executable, "-m", "kb", "-C", str(base), "serve", "--port", "0"]
        self.proc = subprocess.Popen(
            [*command, "--out", str(out), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # the first build, then the address
            if _LISTEN.search(line):
                break
        else:
            raise SystemExit("kb serve did not start")
        self.built = 0  # rebuilds done: "built ..." lines printed since it started serving
        self.seen: list[float] = []  # when it said it saw a change (before it rebuilds)
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Count the rebuilds as the server reports them (and keep its pipe from filling)."""
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if line.startswith("kb serve: change seen"):
                self.seen.append(time.perf_counter())
            elif line.startswith("built "):
                with self._cond:
                    self.built += 1
                    self._cond.notify_all()

    def wait_built(self, count: int) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.built >= count, timeout=600):
                raise SystemExit("kb serve did not rebuild")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._reader.join(30)


def _idle(server: Server, seconds: float) -> float:
    start = _cpu(server.proc.pid)
    time.sleep(seconds)
    return (_cpu(server.proc.pid) - start) / seconds


def _edit(server: Server, claim: Path, k: int) -> tuple[float, float]:
    """Change the claim's statement and save; the seconds until the server said it saw the
    change, and until it has rebuilt."""
    before, seen = server.built, len(server.seen)
    text = claim.read_text()
    claim.write_text(text.replace('statement: "', f'statement: "W{k} ', 1))
    saved = time.perf_counter()
    server.wait_built(before + 1)
    done = time.perf_counter()
    return server.seen[seen] - saved, done - saved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--edits", type=int, default=7)
    ap.add_argument("--idle", type=float, default=10.0)
    ap.add_argument("--base", type=Path, default=None)
    args = ap.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="kb-serve-watch-") as tmp:
        work = Path(tmp)
        base = work / "base"
        if args.base is not None:
            shutil.copytree(args.base, base, ignore=shutil.ignore_patterns(".kb-cache", "site"))
        else:
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "generate.py"), str(args.claims), str(base)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        bases = {m: work / f"base-{m}" for m in MODES}  # one each: an edit rebuilds one server
        for m in MODES:
            shutil.copytree(base, bases[m])
        claims = {m: sorted((bases[m] / "claims").glob("*.yaml"))[1] for m in MODES}
        servers = {m: Server(bases[m], work / f"site-{m}", x) for m, x in MODES.items()}
        try:
            idle: dict[str, list[float]] = {m: [] for m in MODES}
            edits: dict[str, list[tuple[float, float]]] = {m: [] for m in MODES}
            for m, server in servers.items():  # alternately: the other one waits meanwhile
                idle[m].append(_idle(server, args.idle))
            pause = random.Random(0)  # the same pauses in every run
            for k in range(args.edits):
                for m, server in servers.items():
                    # an edit at no fixed moment after the last rebuild (which is followed by
                    # the server's own garbage collection): a poll may be due at any time
                    time.sleep(pause.uniform(2.0, 3.0))
                    edits[m].append(_edit(server, claims[m], k))
        finally:
            for server in servers.values():
                server.stop()
    for m in MODES:
        seen = [e[0] for e in edits[m]]
        done = [e[1] for e in edits[m]]
        print(
            f"{m:5s}  idle {idle[m][0] * 100:5.1f}% of a core   edit to change seen: median "
            f"{statistics.median(seen):.3f} s ({min(seen):.3f} to {max(seen):.3f})   edit to "
            f"rebuilt: median {statistics.median(done):.3f} s ({min(done):.3f} to "
            f"{max(done):.3f}; {len(done)} edits)"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
