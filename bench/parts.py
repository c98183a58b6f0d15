"""Time each part of a fresh-process `kb build` after one edit, all of it in one process.

usage: python bench/parts.py --claims N [--out DIR]

Generates bench/generate.py's base of N claims (once, into DIR, /dev/shm/parts by default),
builds it twice in fresh `kb build` processes (which fill the cache folder: stored readings,
check findings, citations, and, as the second updates a site, the outputs' pieces and page
orders), edits one claim's statement, and builds again in this process as
a fresh `kb build` does (no memory kept), with the forked work kept in this process
(`kb.fast.workers.PARALLEL_MIN`, `kb.fast.early.EARLY_MIN_RECORDS` and
`kb.fast.parsehelper.PARALLEL_MIN_FILES` raised) so that every part can be timed here: the
stages, and within them loading, the graph, the checks, preparing the site, the page keys,
each export, each asset and the pages. The sum is more than a real rebuild's wall time, which
spreads the loading, the exports, assets and pages over the cores.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

_T0 = time.perf_counter()
import kb.build as B  # noqa: E402
import kb.fast.early as EARLY  # noqa: E402
import kb.fast.parsehelper as PH  # noqa: E402
import kb.fast.pieces as PIECES  # noqa: E402
import kb.fast.workers as W  # noqa: E402
import kb.site.render as SR  # noqa: E402
from kb.export import FORMATS  # noqa: E402
from kb.fast.checkstore import CheckStore  # noqa: E402
from kb.fast.replay import Replay  # noqa: E402
from kb.output import SiteWriter  # noqa: E402

IMPORTS = time.perf_counter() - _T0
spent: dict[str, float] = {}


def timed(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0

    return wrapper


def instrument() -> None:
    """Wrap each part in a timer; keep every part in this process."""
    W.PARALLEL_MIN = 10**9
    EARLY.EARLY_MIN_RECORDS = 10**9
    PH.PARALLEL_MIN_FILES = 10**9  # the loader's helper, which turns stored readings back too
    timed_formats = {k: (n, timed("export " + n, f), a) for k, (n, f, a) in FORMATS.items()}
    B.FORMATS = timed_formats  # type: ignore[attr-defined]
    for name in ("search_index", "graph_data", "audit_data", "render_page"):
        setattr(SR, name, timed(name, getattr(SR, name)))
    for name in ("load_kb", "build_graph", "prepare", "page_keys", "inputs_key"):
        setattr(B, name, timed(name, getattr(B, name)))
    PIECES.structure_key = timed("graph structure hash", PIECES.structure_key)
    for cls, name, label in (
        (PIECES.Pieces, "__init__", "pieces: store opened"),
        (PIECES.Pieces, "read", "pieces: read"),
        (PIECES.Pieces, "write", "pieces: written"),
        (CheckStore, "check", "checks (stored findings)"),
        (Replay, "save", "keeping the check result"),
        (SiteWriter, "reusable", "pages of the previous site reused?"),
        (SiteWriter, "finish", "manifest and moves"),
    ):
        setattr(cls, name, timed(label, getattr(cls, name)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=10000)
    ap.add_argument("--out", type=Path, default=Path("/dev/shm/parts"))
    args = ap.parse_args()
    base, site = args.out / f"kb-{args.claims}", args.out / "site"
    if not base.is_dir():
        gen = [sys.executable, str(HERE / "generate.py"), str(args.claims), str(base)]
        subprocess.run(gen, check=True)
    kb_cmd = [sys.executable, "-m", "kb", "-C", str(base), "build", "--out", str(site)]
    for _ in range(2):  # the second keeps the outputs' pieces, as every later build does
        subprocess.run(kb_cmd, check=True, capture_output=True)
    claim = base / "claims" / "c000001.yaml"
    original = claim.read_text(encoding="utf-8")
    try:
        claim.write_text(original.replace('statement: "', 'statement: "Parts. ', 1), "utf-8")
        instrument()
        t0 = time.perf_counter()
        rep = B.build(base, site, log=lambda _line: None)
        wall = time.perf_counter() - t0
    finally:
        claim.write_text(original, encoding="utf-8")
    print(f"{args.claims} claims; importing kb.build: {IMPORTS:.2f} s; the build: {wall:.2f} s")
    print("stages: " + ", ".join(f"{k} {v:.2f}" for k, v in rep.stages.items()))
    for label, secs in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:36} {secs:6.3f} s")
    return rep.exit_code


if __name__ == "__main__":
    sys.exit(main())
