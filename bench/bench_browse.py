"""Time `kb list` and `kb show` on a generated base, each in a fresh process, as a user runs them.

usage: python bench/bench_browse.py [--claims N] [--repeat K]

Generates a deterministic base with bench/generate.py (default 10,000 claims) in a temporary
folder, then runs each command K times (default 3) and prints the median wall time, with `kb check`
for comparison. `kb list` without --problem or --stale only reads the files; with them it runs
only those checks; `kb show` runs the checks of the claims it shows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv: list[str], repeat: int) -> tuple[float, float]:
    """The median wall time and CPU seconds of running `python -m kb ARGV` `repeat` times (the
    CPU time is the honest figure on a busy machine, where wall time waits for a core)."""
    times, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        subprocess.run(
            [sys.executable, "-m", "kb", *argv],
            check=False,  # kb check exits 1 on the generated base's errors, if any
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return statistics.median(times), statistics.median(cpus)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-browse-") as tmp:
        root = Path(tmp) / "kb"
        generate(args.claims, root)
        claim = sorted(p.stem for p in (root / "claims").glob("*.yaml"))[0]
        source = sorted(p.stem for p in (root / "sources").glob("*.yaml"))[0]
        runs = {
            "kb list": ["list"],
            "kb list --verdict misleading --format json": ["list", "--verdict", "misleading",
                                                           "--format", "json"],
            "kb list sources --unreviewed": ["list", "sources", "--unreviewed"],
            "kb list --stale (runs the checks)": ["list", "--stale"],
            f"kb show {claim}": ["show", claim],
            f"kb show {source}": ["show", source],
            "kb check (for comparison: every check)": ["check"],
        }  # fmt: skip
        timed(["-C", str(root), "list"], 1)  # the files into the page cache, untimed
        print(f"{'':50} {'wall':>8} {'cpu':>8}  (medians of {args.repeat}; load {_load()})")
        for label, argv in runs.items():
            wall, cpu = timed(["-C", str(root), *argv], args.repeat)
            print(f"{label:50} {wall:7.2f}s {cpu:7.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
