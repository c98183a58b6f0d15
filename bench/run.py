"""Benchmark a full build, `kb check`, and the rebuild after one edit, on a synthetic base.

usage: python bench/run.py --claims N [--repeat K] [--tree-memory] [--all-styles] [--out DIR]

Generates (once, deterministically) a knowledge base of N claims with bench/generate.py, then
prints the wall time of each build stage, the total and the peak RSS; the time of `kb check`
in a fresh process, with no cache folder, then warm with nothing changed (the result stored by
the run before: kb.fast.replay), then after editing one claim (the readings and check findings
of the other files stored: kb.fast.stored, kb.fast.checkstore); and the time to rebuild after
editing one claim, both in a long-running process that keeps its caches (as `kb serve` does: it
builds once, then rebuilds after each edit; with --repeat K, after each of K edits) and in fresh
processes (`kb build`, with those stores): first the one that updates the site for the first
time in a new process, which makes the site-wide outputs' pieces and keeps them
(kb.fast.pieces), then the rebuild after each of K more edits, each from the pieces the last
one kept (as every later `kb build` after an edit).

The base's files are read once before the first build, untimed, so that every build finds them
in the page cache as it would after an edit. With --repeat K the clean build runs K times (site
and citation cache moved aside before each) and the median is printed beside every run's time:
file creation on a virtual disk varies from run to run by seconds.

The previous site is moved aside, not deleted, before a clean build, and what was moved aside
is deleted when the benchmark ends; a run that starts less than 6 minutes after the last run's
deletion waits first. On an ext4 file system without a journal (as on the machine these
figures come from), allocating an inode skips the free inodes of its block group deleted in
the last 60 s, or the last 6 minutes while their inode table is being written to (the
kernel's recently_deleted()), one by one: creating files next to many just deleted costs
about 0.5 ms a file instead of 0.05 ms, for minutes. Run the benchmark with no other program
deleting many files nearby.

With --tree-memory one more clean build runs while a separate process samples the memory of the
whole process tree (sum of PSS); that build is not timed with the others, as sampling slows it
(reading a process's smaps_rollup stalls its page faults).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kb.build import build  # noqa: E402


def rss_mb(who: int) -> float:
    """Peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


def reset_peak() -> bool:
    """Start this process's peak RSS afresh (Linux: writing 5 to /proc/self/clear_refs resets
    VmHWM), so that each build's own peak can be read; False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def peak_mb() -> float | None:
    """This process's peak RSS in MB since the last reset_peak() (VmHWM), or None."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


SAMPLER = """
import select, sys
from pathlib import Path

def tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(k) for k in (task / "children").read_text().split())
        except OSError:
            continue
    return out

def pss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0

import os, time
me, peak, pause, longest = os.getpid(), 0.0, 0.05, 0.05
while not select.select([sys.stdin], [], [], pause)[0]:
    t0 = time.perf_counter()
    peak = max(peak, sum(pss_mb(p) for p in tree(int(sys.argv[1])) if p != me))
    # Reading smaps_rollup walks the page tables under the process's mmap lock, which stalls
    # its allocations: pause 20 times as long as a sample took, so that sampling costs the
    # build at most about 5% (a 3 GB process takes tens of ms to sample).
    pause = max(0.05, 20 * (time.perf_counter() - t0))
    longest = max(longest, pause)
print(f"{peak:.1f} {longest:.2f}")
"""


class TreeMemory:
    """Sample the memory of this process and all its descendants (PSS: shared pages counted
    once, split between the processes sharing them) every 50 ms, or less often when a sample
    takes long (see SAMPLER); keep the peak of the sum.

    The sampler is a separate process (not a thread: kb forks only where no other thread runs,
    and the benchmark must measure what `kb build` does).
    """

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.interval = 0.05  # the longest pause between samples
        self.available = Path(f"/proc/{os.getpid()}/smaps_rollup").exists()
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> TreeMemory:
        if self.available:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", SAMPLER, str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            out, _ = self._proc.communicate("stop\n", timeout=60)
            peak, _, interval = out.strip().partition(" ")
            self.peak_mb, self.interval = float(peak or 0), float(interval or 0.05)


def timed(cmd: list[str]) -> float:
    """Run a command, return its wall time; fail loudly if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode not in (0,):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return secs


def report(title: str, rep: object, wall: float) -> None:
    """Print one build's stage times."""
    print(f"\n{title}: {wall:.2f} s wall")
    for name, secs in rep.stages.items():  # type: ignore[attr-defined]
        print(f"  {name:10} {secs:7.2f} s")
    work = rep.work  # type: ignore[attr-defined]
    if work:
        print(
            "  CPU seconds of the parallel work (in this process and the workers): "
            + ", ".join(f"{k} {v:.2f}" for k, v in work.items() if k != "citations")
            + f"; citations formatted beside graph and checks in {work.get('citations', 0):.2f} s"
        )
    print(
        f"  files {rep.files}: {rep.written} written, {rep.linked} linked, "  # type: ignore[attr-defined]
        f"{rep.reused} pages not rendered again"  # type: ignore[attr-defined]
    )


def main() -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--claims", type=int, required=True)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the clean build K times, and the rebuild after K edits; print the medians",
    )
    ap.add_argument(
        "--tree-memory",
        action="store_true",
        help="one more clean build, with the memory of the whole process tree sampled",
    )
    ap.add_argument(
        "--all-styles", action="store_true", help="format all five citation styles, not only APA"
    )
    args = ap.parse_args()
    n = args.claims
    kb = args.out / f"kb-{n}"
    site = args.out / f"site-{n}"
    if not (kb / "claims").is_dir():
        print(f"generating {n} claims into {kb} ...")
        partial = kb.with_name(kb.name + ".partial")  # renamed when complete: a killed run
        shutil.rmtree(partial, ignore_errors=True)  # leaves no half-made base behind
        generate = [sys.executable, str(HERE / "generate.py"), str(n), str(partial)]
        subprocess.run(generate, check=True)
        partial.rename(kb)
    config = kb / "kb.yaml"
    text = config.read_text(encoding="utf-8")
    if args.all_styles:
        text = text.replace("styles: [apa]", "styles: [apa, ama, vancouver, chicago, mla]")
    else:
        text = text.replace("styles: [apa, ama, vancouver, chicago, mla]", "styles: [apa]")
    config.write_text(text, encoding="utf-8")
    print(
        f"knowledge base: {n} claims, {len(list((kb / 'sources').glob('*.yaml')))} sources, "
        f"{len(list((kb / 'experts').glob('*.yaml')))} experts; {os.cpu_count()} cores"
    )

    trash = args.out / ".moved-aside"
    if trash.exists():  # left by an interrupted run
        _delete(trash, args.out)
    trash.mkdir(parents=True)
    _settle(args.out)

    # Read every file of the base once, untimed: the builds are timed with the files in the
    # page cache, as after editing them (a virtual disk's cold reads would dominate otherwise).
    t0 = time.perf_counter()
    warmed = sum(len(f.read_bytes()) for f in kb.rglob("*") if f.is_file())
    secs = time.perf_counter() - t0
    print(f"read the base once before timing ({warmed / 1e6:.0f} MB): {secs:.1f} s")

    moved = 0
    peaks: list[float | None] = []  # each clean build's own peak RSS (this process)

    def clean_build() -> tuple[object, float]:
        nonlocal moved
        for old in (site, kb / ".kb-cache"):  # moved aside, deleted when the benchmark ends
            if old.exists():
                moved += 1
                old.rename(trash / f"{moved}-{old.name}")
        os.sync()  # the last build's files are not written back during the timed build
        gc.collect()  # nothing of the last build is left, as in a fresh `kb build` process
        fresh_peak = reset_peak()
        t0 = time.perf_counter()
        rep = build(kb, site, log=lambda _line: None)  # as `kb build` does: no cache kept
        wall = time.perf_counter() - t0
        peaks.append(peak_mb() if fresh_peak else None)
        if rep.exit_code:
            errors = [p.text() for p in rep.problems if p.severity == "error"][:10]
            sys.exit("the build failed:\n" + "\n".join(errors))
        return rep, wall

    try:
        return _timed(args, kb, site, trash, clean_build, peaks)
    finally:
        _delete(trash, args.out)


# Creating files within this many seconds of deleting many nearby is slow (see the docstring):
# 60 s, plus 300 s while the inode table is dirty, as the builds keep it.
_RECENTLY_DELETED = 360.0


def _delete(folder: Path, out: Path) -> None:
    """Delete a folder of the bench's files, and note when (see _settle)."""
    shutil.rmtree(folder, ignore_errors=True)
    os.sync()
    (out / ".deleted-at").write_text(f"{time.time()}\n", encoding="utf-8")


def _settle(out: Path) -> None:
    """Wait until the bench's last deletion of its files (by this run or the last) is more than
    _RECENTLY_DELETED seconds old, so that it does not slow the files the builds create."""
    try:
        ago = time.time() - float((out / ".deleted-at").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if 0 <= ago < _RECENTLY_DELETED:
        wait = _RECENTLY_DELETED - ago
        print(
            f"waiting {wait:.0f} s: the bench deleted its files {ago:.0f} s ago, and files "
            "created near files deleted in the last 6 minutes are slow to create here"
        )
        time.sleep(wait)


def _timed(
    args: argparse.Namespace,
    kb: Path,
    site: Path,
    trash: Path,
    clean_build: Any,
    peaks: list[float | None],
) -> int:
    walls: list[float] = []
    for run in range(max(1, args.repeat)):
        rep, wall = clean_build()
        walls.append(wall)
        label = "full build (clean: no site, no citation cache)"
        report(label if args.repeat <= 1 else f"{label}, run {run + 1} of {args.repeat}", rep, wall)
    if len(walls) > 1:
        print(
            f"\nfull build, median of {len(walls)} runs: {statistics.median(walls):.2f} s "
            f"(runs: {', '.join(f'{w:.2f}' for w in walls)})"
        )
    own = [f"{p:.0f}" for p in peaks if p is not None]
    print(
        f"  peak RSS: {rss_mb(resource.RUSAGE_SELF):.0f} MB (this process, all its builds so far), "
        f"{rss_mb(resource.RUSAGE_CHILDREN):.0f} MB (largest child: render workers, pandoc)"
        + (f"; each clean build's own peak in this process: {', '.join(own)} MB" if own else "")
    )
    if args.tree_memory:
        with TreeMemory() as memory:
            rep, wall = clean_build()
        if memory.available:
            print(
                f"\none more clean build, its memory sampled: {wall:.2f} s wall (sampling slows "
                f"it); peak memory of the whole process tree: {memory.peak_mb:.0f} MB (sum of "
                f"PSS, sampled every 50 to {memory.interval * 1000:.0f} ms: pages shared by "
                "forked workers counted once)"
            )

    kb_cmd = [sys.executable, "-m", "kb", "-C", str(kb)]
    cache = kb / ".kb-cache"
    aside = trash / f"check-{len(list(trash.iterdir()))}"
    cache.rename(aside)  # deleted with the rest when the benchmark ends
    cold = timed([*kb_cmd, "check"])  # makes the stores again
    # the cold run keeps its result unless a file changed in the 3 s before it (a small base
    # generated just now): then the warm run checks again, and says so below
    replayed = (cache / "check-result.json").is_file()
    warm = timed([*kb_cmd, "check"])
    claim = kb / "claims" / "c000002.yaml"
    original = claim.read_text(encoding="utf-8")
    try:
        claim.write_text(original.replace('statement: "', 'statement: "Checked. ', 1), "utf-8")
        edited = timed([*kb_cmd, "check"])
    finally:
        claim.write_text(original, encoding="utf-8")
    print(
        f"\nkb check (fresh process): {cold:.2f} s with no cache folder (every file read and "
        f"parsed, every claim checked); {warm:.2f} s warm, nothing changed ("
        + (
            "the result stored by the run before, kb.fast.replay"
            if replayed
            else "not replayed: files had changed less than 3 s before the first run"
        )
        + f"); {edited:.2f} s after editing one claim (the "
        "readings and check findings of the other files from the stores)"
    )

    # A long-running process (`kb serve`) builds once, filling the caches it keeps between
    # builds (parsed files, graph, checks, citations, each output's pieces), then rebuilds.
    parse_cache: dict[str, object] = {}
    gc.collect()
    t0 = time.perf_counter()
    rep = build(kb, site, log=lambda _line: None, parse_cache=parse_cache)
    report(
        "long-running process (as kb serve): first build over that site",
        rep,
        time.perf_counter() - t0,
    )
    print(f"  peak RSS of this process so far: {rss_mb(resource.RUSAGE_SELF):.0f} MB")

    claim = kb / "claims" / "c000001.yaml"
    original = claim.read_text(encoding="utf-8")
    try:
        rebuilds: list[float] = []
        for run in range(max(1, args.repeat)):  # a different edit each time
            claim.write_text(
                original.replace('statement: "', f'statement: "Edited {run + 1}. ', 1),
                encoding="utf-8",
            )
            gc.collect()  # as kb serve does after each build (see kb.serve)
            t0 = time.perf_counter()
            rep = build(kb, site, log=lambda _line: None, parse_cache=parse_cache)
            rebuilds.append(time.perf_counter() - t0)
            label = "rebuild after editing one claim (long-running process, as kb serve)"
            if args.repeat > 1:
                label += f", edit {run + 1} of {args.repeat}"
            report(label, rep, rebuilds[-1])
        if len(rebuilds) > 1:
            print(
                f"\nrebuild after editing one claim, median of {len(rebuilds)} edits: "
                f"{statistics.median(rebuilds):.2f} s "
                f"(runs: {', '.join(f'{w:.2f}' for w in rebuilds)})"
            )
        # In fresh processes: the first `kb build` over a site makes every output's pieces and
        # keeps them in the cache folder (kb.fast.pieces); the later ones start from them.
        claim.write_text(original, encoding="utf-8")
        first = timed([*kb_cmd, "build", "--out", str(site)])
        print(
            "\nrebuild after editing one claim (fresh process, kb build), the first over this "
            f"site (it makes and keeps the outputs' pieces): {first:.2f} s"
        )
        fresh: list[float] = []
        for run in range(max(1, args.repeat)):
            claim.write_text(
                original.replace('statement: "', f'statement: "Fresh {run + 1}. ', 1),
                encoding="utf-8",
            )
            fresh.append(timed([*kb_cmd, "build", "--out", str(site)]))
        print(
            "rebuild after editing one claim (fresh process, kb build, from the pieces the "
            f"last build kept), median of {len(fresh)} edits: {statistics.median(fresh):.2f} s "
            f"(runs: {', '.join(f'{w:.2f}' for w in fresh)})"
        )
    finally:
        claim.write_text(original, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
