"""Benchmark a full build, `kb check`, and the rebuild after one edit, on a synthetic base.

usage: python bench/run.py --claims N [--out DIR]

Generates (once, deterministically) a knowledge base of N claims with bench/generate.py, then
prints the wall time of each build stage, the total and the peak RSS; the time of `kb check`
in a fresh process; and the time to rebuild after editing one claim, both in a fresh process
(`kb build`) and in a long-running one that keeps its parse cache (as `kb serve` does).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kb.build import build  # noqa: E402


def rss_mb(who: int) -> float:
    """Peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(who).ru_maxrss / 1024


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

import os
me, peak = os.getpid(), 0.0
while not select.select([sys.stdin], [], [], 0.05)[0]:
    peak = max(peak, sum(pss_mb(p) for p in tree(int(sys.argv[1])) if p != me))
print(f"{peak:.1f}")
"""


class TreeMemory:
    """Sample the memory of this process and all its descendants (PSS: shared pages counted
    once, split between the processes sharing them) every 50 ms; keep the peak of the sum.

    The sampler is a separate process (not a thread: kb forks only where no other thread runs,
    and the benchmark must measure what `kb build` does).
    """

    def __init__(self) -> None:
        self.peak_mb = 0.0
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
            self.peak_mb = float(out.strip() or 0)


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
    if site.exists():
        shutil.rmtree(site)
    for cache in (kb / ".kb-cache",):
        shutil.rmtree(cache, ignore_errors=True)
    print(
        f"knowledge base: {n} claims, {len(list((kb / 'sources').glob('*.yaml')))} sources, "
        f"{len(list((kb / 'experts').glob('*.yaml')))} experts; 2 cores"
    )

    parse_cache: dict[str, object] = {}
    with TreeMemory() as memory:
        t0 = time.perf_counter()
        rep = build(kb, site, log=lambda _line: None, parse_cache=parse_cache)
        wall = time.perf_counter() - t0
    if rep.exit_code:
        errors = [p.text() for p in rep.problems if p.severity == "error"][:10]
        sys.exit("the build failed:\n" + "\n".join(errors))
    report("full build (clean: no site, no citation cache)", rep, wall)
    print(
        f"  peak RSS: {rss_mb(resource.RUSAGE_SELF):.0f} MB (this process), "
        f"{rss_mb(resource.RUSAGE_CHILDREN):.0f} MB (largest child: render workers, pandoc)"
    )
    if memory.available:
        print(
            f"  peak memory of the whole process tree: {memory.peak_mb:.0f} MB "
            "(sum of PSS, sampled every 50 ms: pages shared by forked workers counted once)"
        )

    kb_cmd = [sys.executable, "-m", "kb", "-C", str(kb)]
    check = timed([*kb_cmd, "check"])
    print(f"\nkb check (fresh process): {check:.2f} s")

    claim = kb / "claims" / "c000001.yaml"
    original = claim.read_text(encoding="utf-8")
    try:
        claim.write_text(
            original.replace('statement: "', 'statement: "Edited. ', 1), encoding="utf-8"
        )
        t0 = time.perf_counter()
        rep = build(kb, site, log=lambda _line: None, parse_cache=parse_cache)
        report(
            "rebuild after editing one claim (long-running process, as kb serve)",
            rep,
            time.perf_counter() - t0,
        )
        claim.write_text(original, encoding="utf-8")
        cli = timed([*kb_cmd, "build", "--out", str(site)])
        print(f"\nrebuild after editing one claim (fresh process, kb build): {cli:.2f} s")
    finally:
        claim.write_text(original, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
