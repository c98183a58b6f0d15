"""Time `kb list` and `kb show` on a generated base, each in a fresh process, as a user runs them.

usage: python bench/bench_browse.py [--claims N] [--repeat K]

Generates a deterministic base with bench/generate.py (default 10,000 claims) in a temporary
folder, then runs each command K times (default 3) and prints the median wall time. `kb list`
without --problem or --stale only reads the files; with them it runs the checks, as `kb show`
does.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402


def timed(argv: list[str], repeat: int) -> float:
    """The median wall time of running `python -m kb ARGV` `repeat` times."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kb", *argv], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
        }  # fmt: skip
        timed(["-C", str(root), "list"], 1)  # the files into the page cache, untimed
        for label, argv in runs.items():
            print(f"{label:50} {timed(['-C', str(root), *argv], args.repeat):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
