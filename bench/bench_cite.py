"""Time citation formatting: pandoc's own cost per call and per item, and kb's grouped runner.

usage: python bench/bench_cite.py KB_DIR [STYLES] [--cache DIR] [--jobs N]
       python bench/bench_cite.py --pandoc      (pandoc alone: start-up and items per call)

Prints wall time and the CPU time of the pandoc processes (the honest figure on a busy machine:
wall time on an idle machine is about CPU / jobs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from kb.cite.citeproc import format_items
from kb.cite.csl import csl_items
from kb.cite.pandoc import pandoc_path
from kb.cite.styles import STYLES, load_style
from kb.reading.load import load_kb


def child_cpu() -> float:
    """CPU seconds used so far by finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def pandoc_alone() -> None:
    """One plain pandoc call per size: how start-up and disambiguation scale."""
    items = [
        {"id": f"s{i}", "type": "article-journal", "title": f"Title {i}",
         "author": [{"family": f"Family{i}", "given": "A."}],
         "issued": {"date-parts": [[2000 + i % 20]]}, "container-title": "Journal"}
        for i in range(1000)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), child_cpu()
        subprocess.run([pandoc_path(), "--version"], capture_output=True, check=True)
        wall, cpu = time.perf_counter() - t0, child_cpu() - c0
        print(f"pandoc --version: {wall:.3f} s wall, {cpu:.3f} s cpu")
        for n in (1, 10, 50, 100, 250, 500, 1000):
            bib = Path(tmp) / "bib.json"
            bib.write_text(json.dumps(items[:n]))
            doc = "".join(f"[@{{s{i}}}]\n\n" for i in range(n))
            t0, c0 = time.perf_counter(), child_cpu()
            subprocess.run(
                [pandoc_path(), "--citeproc", "-t", "html", f"--csl={STYLES['apa']}",
                 f"--bibliography={bib}"],
                input=doc.encode(), capture_output=True, check=True,
            )  # fmt: skip
            cpu = child_cpu() - c0
            print(f"APA, {n:5d} items in one call: {time.perf_counter() - t0:6.2f} s wall, "
                  f"{cpu:6.2f} s cpu, {1000 * cpu / n:6.2f} ms/item")  # fmt: skip


def main() -> None:
    """Run the benchmark the arguments ask for."""
    ap = argparse.ArgumentParser()
    ap.add_argument("kb", nargs="?", type=Path)
    ap.add_argument("styles", nargs="?", default=",".join(STYLES))
    ap.add_argument("--cache", type=Path)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--pandoc", action="store_true")
    args = ap.parse_args()
    if args.pandoc or args.kb is None:
        pandoc_alone()
        return
    kb, _ = load_kb(args.kb)
    items = csl_items(kb)
    styles = [load_style(s) for s in args.styles.split(",")]
    t0, c0 = time.perf_counter(), child_cpu()
    format_items(items, styles, args.cache, args.jobs)
    wall, cpu = time.perf_counter() - t0, child_cpu() - c0
    print(f"{len(items)} sources, {args.styles}: {wall:.2f} s wall, pandoc {cpu:.2f} s cpu "
          f"({1000 * cpu / len(items) / len(styles):.2f} ms per source and style)")  # fmt: skip


if __name__ == "__main__":
    main()
