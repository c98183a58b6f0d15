"""How quickly the audit page and the graph page show something in Chromium, at N claims.

    python bench/site_speed.py --claims 10000 [--repeat 5] [--keep DIR]

Generates a synthetic base with bench/generate.py (untimed), builds it with `kb build`
(untimed), then opens `audit.html` and `graph.html` from file:// in Debian's Chromium
(/usr/bin/chromium, through Playwright) `--repeat` times each, in a fresh page, and prints the
median and the range of:

- audit: the first contentful paint (the first screen of the table), and when the page's
  DOMContentLoaded and load events ended, all in ms after navigation started;
- graph: the first frame drawn on the canvas (`KB_GRAPH_STATS.firstFrameAt`, ms after
  navigation), and the page's size in nodes.

This is a measurement, not a test: nothing fails when a figure is high.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _figures(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.0f} ms (runs {min(values):.0f} to {max(values):.0f})"
    )


def measure(site: Path, repeat: int) -> dict[str, list[float]]:
    """Open the audit and the graph `repeat` times each; return each figure's values."""
    from playwright.sync_api import sync_playwright

    got: dict[str, list[float]] = {"fcp": [], "dcl": [], "load": [], "frame": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeat):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto((site / "audit.html").as_uri(), wait_until="load")
            page.wait_for_function(
                "() => performance.getEntriesByName('first-contentful-paint').length > 0"
            )
            fcp, dcl, load = page.evaluate(
                """() => {
                  const nav = performance.getEntriesByType('navigation')[0];
                  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
                  return [fcp.startTime, nav.domContentLoadedEventEnd, nav.loadEventEnd];
                }"""
            )
            got["fcp"].append(fcp)
            got["dcl"].append(dcl)
            got["load"].append(load)
            page.goto((site / "graph.html").as_uri())
            page.wait_for_function(
                "() => window.KB_GRAPH_STATS && window.KB_GRAPH_STATS.frames > 0", timeout=60_000
            )
            got["frame"].append(page.evaluate("() => window.KB_GRAPH_STATS.firstFrameAt"))
            context.close()
        browser.close()
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate and build in DIR, and keep it")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="kb-site-speed-"))
    base, site = work / "kb", work / "site"
    if not (base / "claims").exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.claims), str(base)],
                       check=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "kb", "-C", str(base), "build", "--out", str(site)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    audit = (site / "audit.html").stat().st_size
    got = measure(site, args.repeat)
    print(f"{args.claims} claims; audit.html {audit / 1e6:.2f} MB; {args.repeat} runs each")
    print(f"audit.html first contentful paint: {_figures(got['fcp'])}")
    print(f"audit.html DOMContentLoaded end:   {_figures(got['dcl'])}")
    print(f"audit.html load end:               {_figures(got['load'])}")
    print(f"graph.html first frame:            {_figures(got['frame'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
