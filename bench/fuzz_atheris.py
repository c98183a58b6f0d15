"""Fuzz the YAML reader, the loader and the checks with atheris (coverage-guided); not run in CI.

Each input replaces one file of a small valid knowledge base (the first byte picks which: a
claim, an expert, a source, its snapshot or kb.yaml), then the base is loaded, graphed and
checked. Anything but a list of problems with registered codes is a crash: an exception, a
problem with an unknown code or a location outside the file, or a problem line that would put a
control character (an escape sequence, a line break) on the terminal or is not valid UTF-8.

    pip install atheris
    python bench/fuzz_atheris.py -atheris_runs=20000            # bounded by count
    python bench/fuzz_atheris.py -max_total_time=60             # bounded by time
    python bench/fuzz_atheris.py -max_total_time=60 bench/fuzz-corpus   # keep what it learns

Without a corpus folder it starts from the records of this repository's knowledge base; the
dictionary bench/fuzz-yaml.dict (YAML syntax, tags, the format's keys) is used unless -dict= is
given.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import atheris
import networkx  # noqa: F401  (imported first so that only kb itself is instrumented)
import yaml  # noqa: F401

with atheris.instrument_imports():
    from kb.checks import CODES, run_checks
    from kb.errors import printable
    from kb.graph import build_graph
    from kb.load import load_kb
    from kb.yamlio import decode, read_yaml

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
        "  - {source: s, stance: supports}\n"
        "review: {verdict: accurate, reviewer: e, date: 2024-01-02}\n"
    ),
    "experts/e.yaml": "name: E. Expert\nroles: [{title: Chair, source: s}]\n",
    "sources/s.yaml": (
        "type: article-journal\ntitle: T\nauthor: [{family: F, given: G}]\n"
        "issued: 2020-01\nURL: https://example.org/\nDOI: 10.1000/x\nevidence_level: rct\n"
    ),
    "sources/s.txt": "Here are the words of the source.\n",
}
TARGETS = ("claims/c.yaml", "experts/e.yaml", "sources/s.yaml", "sources/s.txt", "kb.yaml")

_SHM = "/dev/shm" if Path("/dev/shm").is_dir() else None  # a RAM disk makes each run faster
ROOT = Path(tempfile.mkdtemp(prefix="kb-fuzz-", dir=_SHM))


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
    problems += run_checks(kb, build_graph(kb))
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


def _seed_corpus() -> Path:
    """Write the repository's own records, prefixed with their target byte, as a seed corpus."""
    seeds = Path(tempfile.mkdtemp(prefix="kb-fuzz-seeds-"))
    for i, target in enumerate(TARGETS):
        (seeds / f"base-{i}").write_bytes(bytes([i]) + BASE[target].encode())
        folder = REPO / Path(target).parent
        suffix = Path(target).suffix
        for n, path in enumerate(sorted(folder.glob(f"*{suffix}"))[:20]):
            (seeds / f"repo-{i}-{n}").write_bytes(bytes([i]) + path.read_bytes()[:20000])
    return seeds


def main() -> None:
    """Run atheris; add the seed corpus unless a corpus folder was given."""
    args = list(sys.argv)
    if not any(a.startswith("-dict=") for a in args):
        args.append(f"-dict={Path(__file__).with_name('fuzz-yaml.dict')}")
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(str(_seed_corpus()))
    atheris.Setup(args, test_one)
    try:
        atheris.Fuzz()
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
