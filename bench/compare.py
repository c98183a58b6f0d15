"""Time a clean `kb build` against a clean Hugo build of the same pages, alternately, in one run.

usage: python bench/compare.py N [--repeat K] [--out DIR]

Generates (once, deterministically) bench/generate.py's knowledge base of N claims, and from
its records the same pages as Markdown for Hugo: one page per claim, expert and source, with
the same content (a claim's statement, verdict, quotes, evidence and related claims; an
expert's roles, the quotes attributed to them and the claims they reviewed; a source's
reference facts, archived text and the claims that quote or cite it), the topics as a Hugo
taxonomy, and the list pages Hugo makes itself (home, one per section, the topics and one per
topic). The Hugo project carries a minimal theme of its own (bench/hugo-theme, copied to
themes/kbmin; nothing is downloaded) whose layouts render HTML comparable to kb's pages; RSS,
sitemap, robots.txt and 404 are turned off, as kb makes none of them, and `uglyURLs` gives the
same file names (claims/c000001.html).

Then it runs, K times each (default 3), alternately: a clean `kb build` in a fresh process (no
previous site, no citation cache, as bench/run.py's clean build) and a clean `hugo` build in a
fresh process (no previous public folder, no resources or cache folder). It prints each run's
wall time, both medians and the ratio kb/hugo. Both trees are read once before timing, so that
both builds find their files in the page cache. Earlier outputs are moved aside, not deleted,
and deleted when the benchmark ends, with bench/run.py's wait after a recent deletion (see
bench/run.py's docstring: creating files next to many just deleted is slow on this disk).

Hugo comes from the system (Debian's package `hugo`); without it the script exits with 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

THEME = "kbmin"  # bench/hugo-theme, copied into the project
CONFIG = """\
baseURL = "/"
title = {title}
languageCode = "en"
theme = "{theme}"
uglyURLs = true
disableKinds = ["RSS", "sitemap", "robotsTXT", "404"]

[taxonomies]
topic = "topics"

[markup.goldmark.renderer]
unsafe = false
"""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: str) -> str:
    """Escape text for Markdown (inline)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def fm(value: Any) -> str:
    """A front matter value (JSON is YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _load(folder: Path) -> dict[str, dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {
        p.stem: yaml.load(p.read_text(encoding="utf-8"), Loader=loader)
        for p in sorted(folder.glob("*.yaml"))
    }


def write_hugo(base: Path, out: Path) -> dict[str, int]:
    """Write the Hugo project of the pages of the knowledge base `base` into `out`; return the
    number of content pages written per section."""
    claims, experts, sources = (_load(base / k) for k in ("claims", "experts", "sources"))
    title = yaml.safe_load((base / "kb.yaml").read_text(encoding="utf-8"))["title"]
    link = {
        **{k: (f"../claims/{k}.html", c["statement"]) for k, c in claims.items()},
        **{k: (f"../experts/{k}.html", e["name"]) for k, e in experts.items()},
        **{k: (f"../sources/{k}.html", s["title"]) for k, s in sources.items()},
    }

    def a(key: str) -> str:
        href, text = link.get(key, ("", key))
        return f"[{md(text)}]({href})" if href else md(key)

    # What the expert and source pages list, gathered from the claims (as kb does).
    said: dict[str, list[tuple[str, str, str]]] = {k: [] for k in experts}
    reviewed: dict[str, list[str]] = {k: [] for k in experts}
    quoted: dict[str, list[tuple[str, str]]] = {k: [] for k in sources}
    origins: dict[str, list[str]] = {k: [] for k in sources}
    cited: dict[str, list[str]] = {k: [] for k in sources}
    for cid, c in claims.items():
        for q in c.get("quotes") or []:
            if q.get("speaker") in said:
                said[q["speaker"]].append((cid, q["text"], q["source"]))
            if q.get("source") in quoted:
                quoted[q["source"]].append((cid, q["text"]))
            origin = q.get("origin")
            if isinstance(origin, dict) and origin.get("source") in origins:
                origins[origin["source"]].append(cid)
        for e in c.get("evidence") or []:
            if e.get("source") in cited:
                cited[e["source"]].append(cid)
        review = c.get("review") or {}
        if review.get("reviewer") in reviewed:
            reviewed[review["reviewer"]].append(cid)

    content = out / "content"
    for section, label in (("claims", "Claims"), ("experts", "Experts"), ("sources", "Sources")):
        (content / section).mkdir(parents=True, exist_ok=True)
        (content / section / "_index.md").write_text(f"---\ntitle: {fm(label)}\n---\n")
    (content / "topics").mkdir(parents=True, exist_ok=True)
    (content / "topics" / "_index.md").write_text('---\ntitle: "Topics"\n---\n')

    for cid, c in claims.items():
        review = c.get("review") or {}
        head = [f"title: {fm(c['statement'])}", f"topics: {fm(sorted(set(c.get('topics', []))))}"]
        if review:
            head += [f"verdict: {fm(review['verdict'])}", f"reviewed: {fm(str(review['date']))}"]
            if review.get("rationale"):
                head.append(f"rationale: {fm(review['rationale'])}")
            if review.get("reviewer") in link:
                href, name = link[review["reviewer"]]
                head.append(f"reviewer: {fm({'href': href, 'name': name})}")
        body = [f"## Quotes ({len(c.get('quotes') or [])})", ""]
        for n, q in enumerate(c.get("quotes") or [], 1):
            origin = q.get("origin")
            body += [
                f"### Quote {n}",
                "",
                f"> {md(q['text'])}",
                "",
                f"- Speaker: {a(q['speaker']) if q.get('speaker') else 'the source'}",
                f"- Attribution as printed: “{md(q.get('attribution', ''))}”",
                f"- Source: {a(q['source'])}",
                "- Origin: "
                + (
                    f"first appeared in {a(origin['source'])}"
                    if isinstance(origin, dict)
                    else "traced, but the first appearance was not found"
                ),
                "",
            ]
        evidence = c.get("evidence") or []
        body += [f"## Evidence ({len(evidence)})", ""]
        body += ["| Source | Evidence level | Stance | Directness |", "| --- | --- | --- | --- |"]
        for e in evidence:
            s = sources.get(e["source"], {})
            year = str(s.get("issued", ""))[:4]
            body.append(
                f"| {a(e['source'])} ({year}) | {s.get('evidence_level', '')} "
                f"| {e.get('stance', '')} | {str(e.get('directness', '')).capitalize()} |"
            )
        body += ["", "## Related claims", ""]
        body += [f"- {r['relation']}: {a(r['claim'])}" for r in c.get("related") or []]
        _page(content / "claims" / f"{cid}.md", head, body)

    for eid, e in experts.items():
        head = [f"title: {fm(e['name'])}"]
        if e.get("credentials"):
            head.append(f"credentials: {fm(e['credentials'])}")
        roles = e.get("roles") or []
        body = [f"## Verified roles ({len(roles)})", ""]
        if roles:
            body += ["| Role | Organization | Confirmed by |", "| --- | --- | --- |"]
            body += [
                f"| {md(r['title'])} | {md(r.get('organization', ''))} "
                f"| {a(r['source']) if r.get('source') else 'Not confirmed by a source'} |"
                for r in roles
            ]
        body += ["", f"## Quotes attributed to them ({len(said[eid])})", ""]
        for cid, text, sid in said[eid]:
            body += [f"> {md(text)}", "", f"{a(cid)}, in {a(sid)}", ""]
        if reviewed[eid]:
            body += [f"## Claims they reviewed ({len(reviewed[eid])})", ""]
            body += [f"- {a(cid)}" for cid in reviewed[eid]]
        _page(content / "experts" / f"{eid}.md", head, body)

    for sid, s in sources.items():
        head = [
            f"title: {fm(s['title'])}",
            f"type: {fm(s['type'])}",
            f"evidence_level: {fm(s.get('evidence_level', ''))}",
        ]
        authors = "; ".join(f"{p.get('family')}, {p.get('given')}" for p in s.get("author") or [])
        facts = [
            ("Authors", md(authors)),
            ("Issued", str(s.get("issued", ""))),
            ("Published in", md(s.get("container-title", ""))),
            ("Volume", str(s.get("volume", ""))),
            ("Pages", str(s.get("page", ""))),
            ("Publisher", md(s.get("publisher", ""))),
            ("DOI", f"[{s['DOI']}](https://doi.org/{s['DOI']})" if s.get("DOI") else ""),
            ("URL", f"<{s['URL']}>" if s.get("URL") else ""),
            ("Evidence level", s.get("evidence_level", "")),
        ]
        body = ["## Reference", ""] + [f"- {k}: {v}" for k, v in facts if v] + [""]
        n_uses = len(quoted[sid]) + len(origins[sid]) + len(cited[sid])
        body += [f"## Claims that use it ({n_uses})", ""]
        if quoted[sid]:
            body += ["### Quoted", ""]
            body += [f"1. {a(cid)}: “{md(text)}”" for cid, text in quoted[sid]] + [""]
        if origins[sid]:
            body += ["### First appearance of quoted words", ""]
            body += [f"- {a(cid)}" for cid in origins[sid]] + [""]
        if cited[sid]:
            body += ["### Cited as evidence", ""]
            body += [f"- {a(cid)}" for cid in cited[sid]] + [""]
        snapshot = base / "sources" / f"{sid}.txt"
        if snapshot.is_file():
            body += ["## Archived text", ""]
            body += [md(p) + "\n" for p in snapshot.read_text(encoding="utf-8").split("\n\n")]
        _page(content / "sources" / f"{sid}.md", head, body)

    (out / "hugo.toml").write_text(CONFIG.format(title=fm(title), theme=THEME), encoding="utf-8")
    shutil.copytree(HERE / "hugo-theme", out / "themes" / THEME)
    return {"claims": len(claims), "experts": len(experts), "sources": len(sources)}


def _page(path: Path, head: list[str], body: list[str]) -> None:
    path.write_text("---\n" + "\n".join(head) + "\n---\n" + "\n".join(body) + "\n", "utf-8")


def prepare(n: int, out: Path) -> tuple[Path, Path]:
    """Generate the base of `n` claims and its Hugo project under `out` unless they are there
    (each is written into a `.partial` folder renamed when complete); return their paths."""
    base, hugo = out / f"compare-{n}" / "base", out / f"compare-{n}" / "hugo"
    for folder, make in ((base, lambda p: generate(n, p)), (hugo, lambda p: write_hugo(base, p))):
        if not folder.is_dir():
            print(f"writing {folder} ...", flush=True)
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            make(partial)
            partial.rename(folder)
    return base, hugo


def main(argv: list[str] | None = None) -> int:
    """Run the comparison."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("claims", type=int, help="number of claims (at least 2)")
    ap.add_argument("--repeat", type=int, default=3, help="builds of each (default 3)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args(argv)
    if args.claims < 2 or args.repeat < 1:
        ap.error("N must be at least 2 and --repeat at least 1")
    hugo_bin = shutil.which("hugo")
    if hugo_bin is None:
        print(
            "hugo is not installed (Debian: apt-get install hugo): nothing to compare with",
            file=sys.stderr,
        )
        return 2
    import run as bench  # bench/run.py: its helpers (it imports kb, so only once needed)

    version = subprocess.run([hugo_bin, "version"], capture_output=True, text=True).stdout
    base, hugo = prepare(args.claims, args.out)
    site, public = base.parent / "kb-site", hugo / "public"
    n_pages = sum(1 for _ in (hugo / "content").rglob("*.md"))
    print(
        f"{args.claims} claims; Hugo project of {n_pages} Markdown files; {version.strip()}; "
        f"{os.cpu_count()} cores; load {_load_avg()}"
    )

    trash = args.out / ".moved-aside"
    if trash.exists():  # left by an interrupted run
        bench._delete(trash, args.out)
    trash.mkdir(parents=True)
    bench._settle(args.out)
    t0 = time.perf_counter()
    warmed = sum(len(f.read_bytes()) for d in (base, hugo) for f in d.rglob("*") if f.is_file())
    print(
        f"read both trees once before timing ({warmed / 1e6:.0f} MB): "
        f"{time.perf_counter() - t0:.1f} s"
    )

    moved = 0

    def clean(*olds: Path) -> None:
        nonlocal moved
        for old in olds:
            if old.exists():
                moved += 1
                old.rename(trash / f"{moved}-{old.name}")
        os.sync()  # the last build's files are not written back during the timed build

    kb_cmd = [sys.executable, "-m", "kb", "-C", str(base), "build", "--out", str(site)]
    hugo_cmd = [
        hugo_bin,
        "--quiet",
        "--source",
        str(hugo),
        "--destination",
        str(public),
        "--cacheDir",
        str(hugo / "cache"),
    ]
    times: dict[str, list[float]] = {"kb build": [], "hugo": []}
    try:
        for run in range(args.repeat):
            clean(site, base / ".kb-cache")
            times["kb build"].append(bench.timed(kb_cmd))
            clean(public, hugo / "resources", hugo / "cache")
            times["hugo"].append(bench.timed(hugo_cmd))
            print(
                f"run {run + 1} of {args.repeat}: kb build {times['kb build'][-1]:.2f} s, "
                f"hugo {times['hugo'][-1]:.2f} s (load {_load_avg()})",
                flush=True,
            )
    finally:
        bench._delete(trash, args.out)
    files = {
        name: sum(1 for f in folder.rglob("*") if f.is_file())
        for name, folder in (("kb build", site), ("hugo", public))
    }
    medians = {name: statistics.median(walls) for name, walls in times.items()}
    for name, walls in times.items():
        print(
            f"{name:9} median of {len(walls)}: {medians[name]:.2f} s "
            f"(runs: {', '.join(f'{w:.2f}' for w in walls)}; {files[name]} files written)"
        )
    print(f"ratio kb/hugo: {medians['kb build'] / medians['hugo']:.2f}")
    return 0


def _load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
