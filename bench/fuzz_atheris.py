"""Fuzz the YAML reader, the loader and the checks with atheris (coverage-guided); not run in CI.

Each input replaces one file of a small valid knowledge base (the first byte picks which: a
claim, an expert, a source, its snapshot or kb.yaml), then the base is loaded, graphed and
checked. Anything but a list of problems with registered codes is a crash: an exception, a
problem with an unknown code or a location outside the file, or a problem line that would put a
control character (an escape sequence, a line break) on the terminal or is not valid UTF-8.

    pip install atheris
    python bench/fuzz_atheris.py -atheris_runs=20000            # bounded by count
    python bench/fuzz_atheris.py -max_total_time=60             # bounded by time
    python bench/fuzz_atheris.py -max_total_time=60 my-corpus/   # another corpus folder
    KB_FUZZ_RENDER=1 python bench/fuzz_atheris.py -max_total_time=60   # render what loads too

With KB_FUZZ_RENDER=1 an input that loads without errors is also rendered, and a page that would
run something from the data (a script without src, an on* attribute, a javascript: or data:
link) or a data script holding a raw `<` is a crash.

Without a corpus folder it uses bench/out/fuzz-corpus (ignored by git), started from the records
of this repository's knowledge base and kept between runs; the dictionary bench/fuzz-yaml.dict
(YAML syntax, tags, the format's keys) is used unless -dict= is given.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import atheris
import networkx  # noqa: F401  (imported first so that only kb itself is instrumented)
import yaml  # noqa: F401

with atheris.instrument_imports():
    from kb.checks import CODES, run_checks
    from kb.errors import printable
    from kb.graph import build_graph
    from kb.reading.load import load_kb
    from kb.reading.yamlio import decode, read_yaml

    if RENDER := os.environ.get("KB_FUZZ_RENDER") == "1":
        from kb.errors import Severity
        from kb.site.render import render_site

REPO = Path(__file__).resolve().parent.parent

BASE: dict[str, str] = {
    "kb.yaml": "title: Fuzz\nseverity: {unreviewed: off}\n",
    "claims/c.yaml": (
        "statement: A claim.\n"
        "topics: [t]\n"
        "quotes:\n"
        "  - text: the words\n"
        "    source: s\n"
        "    speaker: e\n"
        "    origin: unknown\n"
        "evidence:\n"
        "  - {source: t, stance: supports, directness: indirect}\n"
        "review: {verdict: accurate, reviewer: e, date: 2024-01-02}\n"
    ),
    "experts/e.yaml": "name: E. Expert\nroles: [{title: Chair, source: s}]\n",
    "sources/s.yaml": (
        "type: article-journal\ntitle: T\nauthor: [{family: F, given: G}]\n"
        "issued: 2020-01\nURL: https://example.org/\nDOI: 10.1000/x\nevidence_level: rct\n"
    ),
    "sources/s.txt": "Here are the words of the source.\n",
    "sources/t.yaml": "type: report\ntitle: A study\nissued: 2019\nevidence_level: rct\n",
}
TARGETS = ("claims/c.yaml", "experts/e.yaml", "sources/s.yaml", "sources/s.txt", "kb.yaml")

# A RAM disk makes each run faster. libFuzzer ends the process without running Python's exit
# handlers, so the folder is named after the process and those of finished runs are removed.
SCRATCH = Path("/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
ROOT = SCRATCH / f"kb-atheris-{os.getpid()}"


def _remove_stale_roots() -> None:
    for old in SCRATCH.glob("kb-atheris-*"):
        pid = old.name.rpartition("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)


def _reset() -> None:
    for name, text in BASE.items():
        path = ROOT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_one(data: bytes) -> None:
    """Load a base with one file replaced by `data`; fail on anything but problems."""
    if not data:
        return
    target = TARGETS[data[0] % len(TARGETS)]
    body = data[1:]
    text, _issue = decode(body)
    if text is not None:
        read_yaml(text)  # the reader alone, before the loader adds its own paths
    _reset()
    (ROOT / target).write_bytes(body)
    kb, problems = load_kb(ROOT)
    graph = build_graph(kb)
    problems += run_checks(kb, graph)
    for p in problems:
        line = p.text()  # what a terminal shows: one line, no escape sequences, valid UTF-8
        if printable(line) != line:
            raise AssertionError(f"unprintable problem line: {line!r}")
        line.encode("utf-8")
        json.dumps(p.as_dict(), ensure_ascii=False).encode("utf-8")
        if p.code not in CODES:
            raise AssertionError(f"unregistered code {p.code!r}: {p.text()}")
        if p.loc.line < 1 or p.loc.col < 1:
            raise AssertionError(f"location before the file starts: {p.text()}")
        if not (ROOT / p.loc.path).resolve().is_relative_to(ROOT.resolve()):
            raise AssertionError(f"location outside the knowledge base: {p.text()}")
    if RENDER and not any(p.severity is Severity.ERROR for p in problems):
        _check_site(render_site(kb, graph, problems, {}))


class _Runs(HTMLParser):
    """Collect what a page would run: scripts without src, on* attributes, script links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            self._script = True
            if not names.get("src"):
                self.found.append("<script> without src")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src") and re.match(r"\s*(javascript|data):", value or "", re.I):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._script = self._script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._script and data.strip():
            self.found.append(f"inline script {data[:40]!r}")


def _check_site(files: dict[str, bytes]) -> None:
    """The rendered pages run nothing that came from the data; data scripts hold no `<`."""
    for path, data in files.items():
        if path.endswith(".html"):
            runs = _Runs()
            runs.feed(data.decode("utf-8"))
            if runs.found:
                raise AssertionError(f"{path}: {runs.found}")
        elif path.endswith(".js") and not path.startswith("static/") and b"<" in data:
            raise AssertionError(f"{path}: a raw < in a data script")


def _seed_corpus() -> Path:
    """Return bench/out/fuzz-corpus (git ignores it), seeded with this repository's records."""
    seeds = REPO / "bench" / "out" / "fuzz-corpus"
    if seeds.is_dir() and any(seeds.iterdir()):
        return seeds  # go on from what earlier runs found
    seeds.mkdir(parents=True, exist_ok=True)
    for i, target in enumerate(TARGETS):
        (seeds / f"base-{i}").write_bytes(bytes([i]) + BASE[target].encode())
        folder = REPO / Path(target).parent
        suffix = Path(target).suffix
        for n, path in enumerate(sorted(folder.glob(f"*{suffix}"))[:20]):
            (seeds / f"repo-{i}-{n}").write_bytes(bytes([i]) + path.read_bytes()[:20000])
    return seeds


def main() -> None:
    """Run atheris; use bench/out/fuzz-corpus unless a corpus folder was given."""
    args = list(sys.argv)
    if not any(a.startswith("-dict=") for a in args):
        args.append(f"-dict={Path(__file__).with_name('fuzz-yaml.dict')}")
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(str(_seed_corpus()))
    _remove_stale_roots()
    atexit.register(shutil.rmtree, ROOT, ignore_errors=True)  # when Python does exit normally
    atheris.Setup(args, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
