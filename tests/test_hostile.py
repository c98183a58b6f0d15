"""Hostile input: whatever lands in a knowledge base ends in problems at their place, or inert text.

tests/data/hostile/broken/ is a knowledge base of files that attack the loader (alias bombs,
Python tags, paths that climb out, terminal escapes); `broken_kb` copies it and adds what is not
committed: files over 5 MB, 100,000 levels of nesting, bytes that are not UTF-8, links that
lead outside, a named pipe and file names that are not UTF-8. Every one must end in a problem
with its code, file, line and column, never a traceback, a hang or a read outside the base.

tests/data/hostile/inject/ checks with warnings only and is built: every string in it is an
injection (markup, event handlers, `javascript:` and `data:` URLs, `</script>`, `{{ 7*7 }}`),
and the built site must show each one as text and run none of it.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kb.checks import CODES
from kb.errors import Problem
from kb.pipeline import check_kb
from kb.reading.load import load_kb
from kb.reading.yamlio import MAX_BYTES, MAX_DEPTH, read_yaml

RunKB = Callable[..., Any]  # the run_kb fixture (conftest.py)
HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
SECRET = "secret-marker-7f3a"  # in files outside the knowledge base; must never show up
LEVELS = 100_000


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail, rather than hang the suite, if the block takes longer than `seconds`."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- the broken knowledge base -------------------------------------------------------------------

GENERATED: dict[str, bytes] = {
    # size: one byte over the limit, for a record and for a snapshot
    "claims/too-large.yaml": b"statement: " + b"a" * MAX_BYTES + b"\n",
    "sources/big-snapshot.yaml": b"type: webpage\ntitle: A source with a huge snapshot\n",
    "sources/big-snapshot.txt": b"word " * (MAX_BYTES // 5 + 1),
    # nesting: 100,000 levels in flow and block style, sequences and mappings
    "claims/deep-flow.yaml": b"statement: " + b"[" * LEVELS + b"]" * LEVELS + b"\n",
    "claims/deep-map.yaml": b"statement: " + b"{a: " * LEVELS + b"1" + b"}" * LEVELS + b"\n",
    "claims/deep-block.yaml": b"statement:\n" + b"- " * LEVELS + b"x\n",
    # encodings
    "claims/latin-1.yaml": "statement: Café au lait\n".encode("latin-1"),
    "claims/utf-16.yaml": "statement: Sixteen bits\n".encode("utf-16"),
    "claims/nul-byte.yaml": b"statement: a\x00b\n",
    "claims/random-bytes.yaml": bytes(range(256)) * 4,
    "claims/photo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
}


def make_broken(dest: Path) -> tuple[Path, Path]:
    """Copy broken/ to dest/kb, add the generated files; return (root, a folder outside it)."""
    root = dest / "kb"
    shutil.copytree(HOSTILE / "broken", root)
    for name, data in GENERATED.items():
        (root / name).write_bytes(data)
    with open(root / "claims" / "sparse.yaml", "wb") as fh:  # 1 GiB that takes no disk
        fh.truncate(1 << 30)
    outside = dest / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"{SECRET}: do not read\n")
    (outside / "secret.txt").write_text(f"{SECRET} in a text file\n")
    (root / "claims" / "link-out.yaml").symlink_to(outside / "secret.yaml")
    (root / "claims" / "link-dir").symlink_to(outside)
    (root / "sources" / "link-out.txt").symlink_to(outside / "secret.txt")
    (root / "sources" / "snap-link.yaml").write_text(
        "type: webpage\ntitle: A snapshot that is a link outside\nsnapshot: link-out.txt\n"
    )
    (root / "kb.yaml").symlink_to(outside / "secret.yaml")
    (root / "claims" / "link-inside.yaml").symlink_to("crlf.yaml")  # inside: followed
    os.mkfifo(root / "claims" / "pipe.yaml")
    (root / "claims" / os.fsdecode(b"\xff\xfe.yaml")).write_bytes(b"statement: x\n")
    (root / "claims" / "new\nline: error: forged [bad-id].yaml").write_bytes(b"statement: x\n")
    return root, outside


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The broken knowledge base with its generated files, made once for this module."""
    return make_broken(tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="module")
def broken_problems(broken: tuple[Path, Path]) -> list[Problem]:
    """Everything `kb check` finds in it (within a deadline: a pipe must not hang the load)."""
    with deadline(60):
        _kb, _graph, problems = check_kb(broken[0])
    return problems


# (code, path, line, col): everything kb check reports on the broken base, and nothing else.
EXPECTED_BROKEN = [
    # size, nesting, bombs and tags
    ("file-too-large", "claims/too-large.yaml", 1, 1),
    ("file-too-large", "claims/sparse.yaml", 1, 1),
    ("file-too-large", "sources/big-snapshot.txt", 1, 1),
    ("yaml-too-deep", "claims/deep-flow.yaml", 1, 12 + MAX_DEPTH - 1),
    ("yaml-too-deep", "claims/deep-map.yaml", 1, 12 + 4 * (MAX_DEPTH - 1)),
    ("yaml-too-deep", "claims/deep-block.yaml", 2, 1 + 2 * (MAX_DEPTH - 1)),
    ("yaml-alias", "claims/billion-laughs.yaml", 2, 4),
    ("yaml-alias", "claims/merge-key.yaml", 1, 7),
    ("yaml-syntax", "claims/python-tag.yaml", 1, 12),
    ("yaml-syntax", "claims/bad-tag-value.yaml", 1, 12),
    ("yaml-syntax", "claims/huge-number.yaml", 2, 10),
    # encodings, tabs, empty files, files that are not YAML
    ("bad-encoding", "claims/latin-1.yaml", 1, 15),
    ("bad-encoding", "claims/utf-16.yaml", 1, 1),
    ("bad-encoding", "claims/nul-byte.yaml", 1, 13),
    ("bad-encoding", "claims/random-bytes.yaml", 2, 118),
    ("unknown-key", "claims/bom.yaml", 2, 1),  # the byte-order mark does not shift columns
    ("unknown-key", "claims/crlf.yaml", 3, 1),  # CRLF counts as one line break
    ("unknown-key", "claims/link-inside.yaml", 3, 1),  # a link inside the base is followed
    ("yaml-syntax", "claims/tab-indent.yaml", 3, 1),
    ("not-a-mapping", "claims/empty.yaml", 1, 1),
    ("not-a-mapping", "claims/only-comment.yaml", 1, 1),
    ("not-a-mapping", "claims/not-yaml.yaml", 1, 1),
    ("not-a-mapping", "claims/json-array.yaml", 1, 1),
    ("not-a-mapping", "experts/bad-root.yaml", 1, 1),
    ("yaml-syntax", "claims/two-documents.yaml", 2, 1),
    ("stray-file", "claims/README.md", 1, 1),
    ("stray-file", "claims/notes.txt", 1, 1),
    ("stray-file", "claims/photo.png", 1, 1),
    # paths that try to leave the knowledge base, links and pipes
    ("unsafe-path", "kb.yaml", 1, 1),
    ("unsafe-path", "claims/link-out.yaml", 1, 1),
    ("unsafe-path", "claims/link-dir", 1, 1),
    ("unsafe-path", "sources/link-out.txt", 1, 1),
    ("unsafe-path", "claims/pipe.yaml", 1, 1),
    ("unsafe-path", "sources/snap-traversal.yaml", 3, 11),
    ("unsafe-path", "sources/snap-absolute.yaml", 3, 11),
    ("unsafe-path", "sources/snap-dotdot.yaml", 3, 11),
    ("unsafe-path", "sources/snap-backslash.yaml", 3, 11),
    ("bad-value", "sources/snap-link.yaml", 3, 11),
    ("bad-id", r"claims/\udcff\udcfe.yaml", 1, 1),  # a name that is not UTF-8, shown escaped
    ("bad-id", r"claims/new\nline: error: forged [bad-id].yaml", 1, 1),
    ("id-mismatch", "claims/id-traversal.yaml", 1, 5),
    ("unknown-source", "claims/ref-traversal.yaml", 5, 13),
    ("unknown-expert", "claims/ref-traversal.yaml", 6, 14),
    ("origin-unknown", "claims/ref-traversal.yaml", 7, 13),
    ("unknown-source", "claims/ref-traversal.yaml", 9, 13),
    ("unknown-claim", "claims/ref-traversal.yaml", 12, 12),
    # URLs a reader could click
    ("bad-url", "sources/url-javascript.yaml", 3, 6),
    ("bad-url", "sources/url-data.yaml", 3, 6),
    ("bad-url", "sources/url-relative.yaml", 3, 6),
    ("bad-url", "sources/url-spaces.yaml", 3, 6),
    # control characters aimed at a terminal or an XML export, written as YAML escapes
    ("bad-encoding", "claims/control-chars.yaml", 2, 12),
    ("unknown-key", "claims/control-chars.yaml", 3, 1),
    ("bad-encoding", "claims/control-chars.yaml", 5, 11),
    ("bad-encoding", "claims/control-chars.yaml", 6, 13),
    ("bad-encoding", "claims/control-chars.yaml", 9, 19),
    ("bad-encoding", "claims/nul-escape.yaml", 1, 12),
    ("bad-encoding", "claims/nul-escape.yaml", 2, 10),
]
# Records that load despite their attack also get the ordinary upkeep warnings.
LOADED_CLAIMS = (
    "bom",
    "crlf",
    "link-inside",
    "tab-in-value",
    "id-traversal",
    "control-chars",
    "nul-escape",
)
UPKEEP = [
    *((code, f"claims/{c}.yaml") for c in LOADED_CLAIMS for code in ("no-evidence", "unreviewed")),
    ("unreviewed", "claims/ref-traversal.yaml"),
    *(
        ("orphan-source", f"sources/{s}.yaml")
        for s in (
            "big-snapshot",
            "snap-absolute",
            "snap-backslash",
            "snap-dotdot",
            "snap-link",
            "snap-traversal",
            "url-data",
            "url-javascript",
            "url-relative",
            "url-spaces",
        )
    ),
]


def test_every_hostile_file_ends_in_its_problem_at_its_place(
    broken_problems: list[Problem],
) -> None:
    """The exact (code, file, line, column) of every problem, and nothing unexpected."""
    got = sorted((p.code, p.loc.path, p.loc.line, p.loc.col) for p in broken_problems)
    upkeep = {"no-evidence", "unreviewed", "orphan-source"}
    assert [g for g in got if g[0] not in upkeep] == sorted(
        e for e in EXPECTED_BROKEN if e[0] not in upkeep
    )
    assert sorted((g[0], g[1]) for g in got if g[0] in upkeep) == sorted(UPKEEP)
    for p in broken_problems:
        assert p.code in CODES and p.loc.line >= 1 and p.loc.col >= 1, p


def test_nothing_outside_the_knowledge_base_is_read(
    broken: tuple[Path, Path], broken_problems: list[Problem]
) -> None:
    """Links, snapshot names and ids that lead out are refused before anything is read."""
    root, _outside = broken
    kb_, _ = load_kb(root)
    assert not any(SECRET in p.text() for p in broken_problems)
    assert "link-out" not in kb_.claims and "link-inside" in kb_.claims
    assert all(s.snapshot_text is None for s in kb_.sources.values())
    assert kb_.config.title == type(kb_.config)().title, "kb.yaml outside was not read"


def test_the_cli_prints_one_inert_line_per_problem(broken: tuple[Path, Path]) -> None:
    """`kb check` in a child process, stdout strictly UTF-8: no traceback, no control codes."""
    root, _ = broken
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    runs = {}
    for fmt in ("text", "json", "github"):
        with deadline(120):
            runs[fmt] = subprocess.run(
                [sys.executable, "-m", "kb", "-C", str(root), "check", "--format", fmt],
                capture_output=True,
                text=True,
                env=env,
                timeout=110,
            )
        assert runs[fmt].returncode == 1, runs[fmt].stderr
        assert "Traceback" not in runs[fmt].stderr and SECRET not in runs[fmt].stdout
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", runs[fmt].stdout)
    lines = runs["text"].stdout.splitlines()
    line_re = re.compile(r"^[^\n]+:\d+:\d+: (error|warning): .+ \[[a-z-]+\]$")
    assert all(line_re.match(line) for line in lines), lines
    assert not any(line.startswith("claims/forged.yaml") for line in lines)
    found = json.loads(runs["json"].stdout)
    assert len(found) == len(lines) == len(EXPECTED_BROKEN) + len(UPKEEP)
    assert all(
        line.startswith(("::error ", "::warning ")) for line in runs["github"].stdout.splitlines()
    )


def test_a_build_of_the_broken_base_writes_nothing(
    broken: tuple[Path, Path], run_kb: RunKB
) -> None:
    """Errors stop the build: exit 1, no output folder, nothing new in the knowledge base."""
    root, _ = broken
    out = root.parent / "site"
    with deadline(120):
        result = run_kb("-C", root, "build", "--out", out)
    assert result.code == 1 and "nothing was written" in result.err
    assert not out.exists()


def test_turning_checks_off_unlocks_nothing(tmp_path: Path) -> None:
    """With every code set to off, bombs, links and deep files are still not read."""
    root, _outside = make_broken(tmp_path)
    (root / "kb.yaml").unlink()
    levels = "\n".join(f"  {code}: 'off'" for code in sorted(CODES))
    (root / "kb.yaml").write_text(f"severity:\n{levels}\n")
    with deadline(60):
        kb_, problems = load_kb(root)
    assert problems == []
    for refused in ("billion-laughs", "merge-key", "deep-flow", "too-large", "link-out", "pipe"):
        assert refused not in kb_.claims
    assert all(s.snapshot_text is None for s in kb_.sources.values())


# --- resource bounds -----------------------------------------------------------------------------


def rss_bytes() -> int:
    """The peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


BOMBS = {
    "billion laughs": (HOSTILE / "broken" / "claims" / "billion-laughs.yaml").read_text(),
    "quadratic blowup": "a: &a '" + "x" * 1_000_000 + "'\nb: [" + "*a, " * 900_000 + "*a]\n",
    "merge keys": "a: &a {x: 1}\n" + "".join(f"k{i}: {{<<: *a}}\n" for i in range(50_000)),
    "alias in a key": "? &k [a, b]\n: 1\n" + "".join(f"? *k\n: {i}\n" for i in range(50_000)),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_alias_bombs_are_refused_at_once_in_little_memory(name: str, tmp_path: Path) -> None:
    """Refused at the first anchor: under 100 MB allocated, though the text asks for
    gigabytes (memory, not time, shows that nothing was expanded)."""
    text = BOMBS[name]
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "bomb.yaml").write_text(text)
    rss_before = rss_bytes()
    tracemalloc.start()
    try:
        doc = read_yaml(text)
        _kb, problems = load_kb(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [i.code for i in doc.issues] == ["yaml-alias"]
    assert [p.code for p in problems] == ["yaml-alias"]
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB allocated"
    assert rss_bytes() - rss_before < 100 * 2**20


@pytest.mark.parametrize(
    ("opening", "closing"), [("[", "]"), ("{a: ", "}"), ("- ", ""), ("[{a: ", "}]")]
)
def test_deep_nesting_is_refused_without_recursion(opening: str, closing: str) -> None:
    """100,000 levels: yaml-too-deep where level 51 opens, no RecursionError; the reader stops
    there (under 10 MB allocated for a 400 KB text)."""
    text = opening * LEVELS + "x" + closing * LEVELS
    tracemalloc.start()
    try:
        doc = read_yaml(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20, f"{peak / 2**20:.0f} MB allocated"
    openers = [i for i, ch in enumerate(text[:1000]) if ch in "[{-"]
    assert [(i.code, i.line, i.col) for i in doc.issues] == [
        ("yaml-too-deep", 1, openers[MAX_DEPTH] + 1)
    ]


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    """A 1 GiB (sparse) record and a 2 GiB snapshot are refused at once, not read."""
    (tmp_path / "claims").mkdir()
    (tmp_path / "sources").mkdir()
    with open(tmp_path / "claims" / "huge.yaml", "wb") as fh:
        fh.truncate(1 << 30)
    (tmp_path / "sources" / "s.yaml").write_text("type: book\ntitle: T\n")
    with open(tmp_path / "sources" / "s.txt", "wb") as fh:
        fh.truncate(2 << 30)
    tracemalloc.start()
    try:
        _kb, problems = load_kb(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MB allocated: the files were read"
    assert sorted((p.code, p.loc.path) for p in problems) == [
        ("file-too-large", "claims/huge.yaml"),
        ("file-too-large", "sources/s.txt"),
    ]


def test_a_kind_folder_that_links_outside_is_refused(tmp_path: Path) -> None:
    """claims/ itself a link to a folder outside: refused, none of its files read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.yaml").write_text(f"statement: {SECRET}\n")
    root = tmp_path / "kb"
    root.mkdir()
    (root / "claims").symlink_to(outside)
    kb_, problems = load_kb(root)
    assert [(p.code, p.loc.path) for p in problems] == [("unsafe-path", "claims")]
    assert kb_.claims == {}


# --- the injection knowledge base, built ---------------------------------------------------------

# Markup that must not appear in any page as an element of its own: each comes only from data.
FOREIGN_TAGS = {"iframe", "img", "style", "object", "embed", "base", "form", "textarea"}
URL_ATTRS = {"href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href"}


class Scan(HTMLParser):
    """The elements, attributes, scripts and visible text of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.text: list[str] = []
        self._script: dict[str, str] | None = None
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "script":
            self._script, self._body = a, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._body)))
            self._script = None

    def handle_data(self, data: str) -> None:
        (self._body if self._script is not None else self.text).append(data)

    def visible(self) -> str:
        """The page's text with runs of white space made one space."""
        return " ".join("".join(self.text).split())


def scan(data: bytes) -> Scan:
    """Parse a page."""
    s = Scan()
    s.feed(data.decode("utf-8"))
    s.close()
    return s


def url_scheme(url: str) -> str:
    """The scheme a browser would see: it drops control characters and white space first."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", url)
    return urlsplit(cleaned).scheme.lower()


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, bytes]]:
    """The injection base, copied and built: (root, out, {site path: bytes})."""
    from kb.build import build

    home = tmp_path_factory.mktemp("inject")
    root = home / "kb"
    shutil.copytree(HOSTILE / "inject", root, ignore=shutil.ignore_patterns(".kb-cache"))
    (home / "bystander.txt").write_text("a file next to the knowledge base\n")
    before = snapshot_tree(home)
    out = home / "site"
    lines: list[str] = []
    report = build(root, out, log=lines.append)
    assert report.exit_code == 0, lines
    site = {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }
    after = snapshot_tree(home)
    # Outside the output folder only the lock beside it and kb's cache in the base may appear.
    new = {
        k
        for k in after.keys() - before.keys()
        if not k.startswith(("site/", "kb/.kb-cache")) and k not in ("site", ".site.kb-lock")
    }
    assert new == set(), new
    assert {k: after[k] for k in before} == before, "a file outside the output changed"
    return root, out, site


def snapshot_tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under `folder`, without following links."""
    return {
        p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
        for p in sorted(folder.rglob("*"))
    }


def pages(site: dict[str, bytes]) -> dict[str, Scan]:
    """Every HTML page of the site, parsed."""
    return {path: scan(data) for path, data in site.items() if path.endswith(".html")}


def test_the_injection_base_has_only_the_expected_warnings(
    injected: tuple[Path, Path, dict[str, bytes]],
) -> None:
    """The payloads are legal text: only the refused URLs (the base_url too, so it has none),
    an unused source, the snapshot full of HTML payloads (snapshot-markup) and an undated page
    are reported."""
    root, _, _ = injected
    _kb, _graph, problems = check_kb(root)
    assert sorted((p.code, p.loc.path, p.loc.line, p.loc.col) for p in problems) == [
        ("bad-url", "kb.yaml", 5, 11),
        ("bad-url", "sources/src-data-url.yaml", 3, 6),
        ("bad-url", "sources/src-inject.yaml", 11, 6),
        ("base-url-missing", "kb.yaml", 4, 1),  # its base_url was refused
        ("orphan-source", "sources/src-data-url.yaml", 1, 1),
        ("retrieved-undated", "sources/src-url.yaml", 3, 6),  # an undated page
        ("snapshot-markup", "sources/src-inject.txt", 1, 1),
    ]


def test_no_element_script_or_handler_comes_from_data(
    injected: tuple[Path, Path, dict[str, bytes]],
) -> None:
    """Scripts only by src from the site itself, or JSON-LD data (a claim's ClaimReview) in
    which no character can end the element; no on* attribute; no iframe, img, style..."""
    _, _, site = injected
    for path, page in pages(site).items():
        for attrs, body in page.scripts:
            if attrs.get("type") == "application/ld+json":
                assert "src" not in attrs and not {"<", ">", "&"} & set(body), (path, body)
                assert json.loads(body)["@type"] == "ClaimReview", (path, body)
                continue
            assert body.strip() == "", (path, body)
            src = attrs.get("src", "")
            assert src.endswith(".js") and url_scheme(src) == "" and "//" not in src, (path, src)
        for tag, attrs in page.tags:
            assert tag not in FOREIGN_TAGS, (path, tag, attrs)
            assert not [a for a in attrs if a.startswith("on")], (path, tag, attrs)


def test_no_link_runs_code_or_leaves_by_a_path(
    injected: tuple[Path, Path, dict[str, bytes]],
) -> None:
    """Every URL is http(s) or a relative path that stays inside the output folder."""
    _, out, site = injected
    for path, page in pages(site).items():
        for tag, attrs in page.tags:
            for name in URL_ATTRS & attrs.keys():
                url = attrs[name]
                scheme = url_scheme(url)
                assert scheme in ("", "http", "https"), (path, tag, url)
                if scheme:
                    assert urlsplit(url).hostname != "evil.example", (path, url)
                    continue
                target = (out / path).parent / urlsplit(url).path
                assert target.resolve().is_relative_to(out.resolve()), (path, url)


def test_refused_urls_are_left_out_of_the_site(
    injected: tuple[Path, Path, dict[str, bytes]],
) -> None:
    """A URL refused as bad-url (demoted to a warning) is never linked, only named as a problem."""
    _, _, site = injected
    reported = re.compile(r"URL '[^']*' must be an absolute http:// or https:// address")
    for payload in ('alert("source-url")', 'alert("base-url")', "PHNjcmlwdD5hbGVydCgiZGF0YSIp"):
        for path, page in pages(site).items():
            assert payload not in reported.sub("", page.visible()), (path, payload)
            for _, attrs in page.tags:
                assert not any(payload in v for v in attrs.values()), (path, payload)
    # the https URL with a breakout is one attribute value, exactly as written
    hrefs = [a["href"] for _, a in pages(site)["sources/src-url.html"].tags if "href" in a]
    assert 'https://example.org/"><script>alert("https-url")</script>' in hrefs


# (page, text that must be visible on it exactly as written in the data)
SHOWN = [
    ("index.html", 'KB <script>alert("site-title")</script> {{ 7*7 }}'),
    (
        "claims/inject.html",
        'Statement <script>alert("statement")</script> then {{ 7*7 }} and {% raw %} and ${7*7} end',
    ),
    ("claims/inject.html", '<img src=x onerror=alert("topic")>'),
    ("claims/inject.html", "../../etc/passwd"),
    ("claims/inject.html", '</script><script>alert("topic-script")</script>'),
    ("claims/inject.html", '"><svg onload=alert("attribution")>'),
    ("claims/inject.html", '<i onclick=alert("locator")>p. 1</i>'),
    ("claims/inject.html", '<script>alert("evidence-locator")</script>'),
    ("claims/inject.html", "javascript:alert('note') <!-- comment --> ]]> </textarea> {{ 7*7 }}"),
    (
        "claims/inject.html",
        "<a href=\"javascript:alert('rationale')\">click</a> {{ 7*7 }} "
        "<style>body{display:none}</style>",
    ),
    ("claims/second.html", "{% for x in range(10) %}{{ x }}{% endfor %}"),
    ("experts/expert-inject.html", '<script>alert("expert-name")</script> {{ 7*7 }}'),
    ("experts/expert-inject.html", '"><img src=x onerror=alert("credentials")>'),
    ("experts/expert-inject.html", "<iframe src=\"javascript:alert('role')\"></iframe>"),
    ("experts/expert-inject.html", "' onfocus='alert(\"organization\")' autofocus='"),
    ("experts/expert-inject.html", 'javascript:alert("orcid")'),
    ("sources/src-inject.html", '<script>alert("snapshot")</script>'),
    (
        "sources/src-inject.html",
        '{{ 7*7 }} stays as it is. <img src=x onerror=alert("snapshot-img")>',
    ),
    ("sources/src-study.html", "A study </title><script>alert('study')</script>"),
    ("topics/etc-passwd.html", "../../etc/passwd"),
]


@pytest.mark.parametrize(("page", "text"), SHOWN)
def test_every_payload_shows_as_the_text_it_is(
    injected: tuple[Path, Path, dict[str, bytes]], page: str, text: str
) -> None:
    """The browser's view of the page holds the payload as characters, not as markup."""
    _, _, site = injected
    assert " ".join(text.split()) in scan(site[page]).visible()


def test_template_syntax_is_not_evaluated(injected: tuple[Path, Path, dict[str, bytes]]) -> None:
    """`{{ 7*7 }}` shows literally and 49 never takes its place; loops do not run."""
    _, _, site = injected
    for path, page in pages(site).items():
        text = page.visible()
        assert 'KB <script>alert("site-title")</script> {{ 7*7 }}' in text, path
        assert "then 49 and" not in text and 'site-title")</script> 49' not in text, path
        assert "0123456789" not in text, path


def test_script_data_cannot_end_a_script(injected: tuple[Path, Path, dict[str, bytes]]) -> None:
    """The search index and graph data: no `<`, `>`, `&` or line separators; payloads round-trip."""
    _, _, site = injected
    data_files = [p for p in site if p.endswith(".js") and not p.startswith("static/")]
    assert data_files, "the site has no data scripts"
    decoded = []
    for path in data_files:
        text = site[path].decode("utf-8")
        assert not re.search("[<>&\u2028\u2029]", text), path
        assert "</script" not in text.lower() and "<!--" not in text, path
        head, _, rest = text.partition(" = ")
        assert re.fullmatch(r"window\.[A-Z_]+", head), path
        assert rest.endswith(";\n"), path
        decoded.append(json.dumps(json.loads(rest[:-2]), ensure_ascii=False))
    both = "".join(decoded)
    assert json.dumps('Statement <script>alert("statement")</script>')[1:-1] in both
    assert "\u2028with separators\u2029" in both  # kept as data, escaped in the file


def test_every_built_page_carries_a_csp_that_allows_only_the_site(
    injected: tuple[Path, Path, dict[str, bytes]],
) -> None:
    """The CSP meta comes first, on every page: own scripts and styles, no inline, no network."""
    _, _, site = injected
    policies = set()
    for path, page in pages(site).items():
        metas = [
            a.get("content", "")
            for tag, a in page.tags
            if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"
        ]
        assert len(metas) == 1, path
        policies.add(metas[0])
        first_csp = next(
            i for i, (t, a) in enumerate(page.tags) if t == "meta" and "http-equiv" in a
        )
        first_load = next(i for i, (t, _) in enumerate(page.tags) if t in ("script", "link"))
        assert first_csp < first_load, path
        assert not any("style" in a for _, a in page.tags), path
    (policy,) = policies
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'none'"]
    for name, sources in directives.items():
        for src in sources:
            assert src in ("'self'", "'none'", "data:"), (name, src)  # no host, no inline
    assert set(directives["img-src"]) <= {"'self'", "data:"}


def test_a_cache_folder_that_links_outside_is_not_written(tmp_path: Path, run_kb: RunKB) -> None:
    """A base shipping `.kb-cache` as a link elsewhere: the build works and writes nothing there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "kb"
    shutil.copytree(HOSTILE.parent / "valid", root, ignore=shutil.ignore_patterns(".kb-cache"))
    (root / ".kb-cache").symlink_to(outside)
    result = run_kb("-C", root, "build", "--out", tmp_path / "site")
    assert result.code == 0, result.err
    assert list(outside.iterdir()) == []


def test_json_nested_past_the_parser_is_damage_not_a_traceback(
    tmp_path: Path, run_kb: RunKB
) -> None:
    """A received base's citation cache, a site's manifest or journal, or a file to import
    that nests arrays 100,000 deep (past what Python's JSON reader recurses into): the cache is
    ignored, the unreadable manifest makes the build refuse the folder, the import says which
    file; never a traceback."""
    deep = "[" * 100_000 + "]" * 100_000
    root = tmp_path / "kb"
    shutil.copytree(HOSTILE.parent / "valid", root, ignore=shutil.ignore_patterns(".kb-cache"))
    site = tmp_path / "site"
    assert run_kb("-C", root, "build", "--out", site).code == 0
    caches = sorted((root / ".kb-cache").glob("citations-*.json"))
    assert caches
    for cache in caches:
        cache.write_text(deep, encoding="utf-8")
    clean = tmp_path / "clean"
    r = run_kb("-C", root, "build", "--out", clean)
    assert r.code == 0 and "Traceback" not in r.err
    (site / ".kb-site").write_text(deep, encoding="utf-8")
    r = run_kb("-C", root, "build", "--out", site)
    assert r.code == 2 and "refused" in r.err and "Traceback" not in r.err
    shutil.rmtree(site)
    (tmp_path / ".site.kb-journal").write_text(deep, encoding="utf-8")  # beside the output
    r = run_kb("-C", root, "build", "--out", site)
    assert r.code == 0 and "Traceback" not in r.err and (site / "index.html").is_file()
    (tmp_path / "deep.json").write_text(deep, encoding="utf-8")
    r = run_kb("-C", root, "import", tmp_path / "deep.json")
    assert r.code == 2 and "deep.json: nested too deeply" in r.err


def test_exports_carry_the_payloads_as_data(injected: tuple[Path, Path, dict[str, bytes]]) -> None:
    """Every export parses in its own format and holds the strings exactly, inert."""
    import csv
    import io
    import xml.etree.ElementTree as ET

    import bibtexparser

    _, _, site = injected
    statement = 'Statement <script>alert("statement")</script> then {{ 7*7 }} and {% raw %}'
    csl = json.loads(site["exports/kb.csl.json"])
    assert any(item["title"].startswith('Title <script>alert("source-title")') for item in csl)
    review = site["exports/claimreview.jsonld"]
    assert b"<" not in review, "ClaimReview must be safe to paste into a <script> element"
    reviewed = [r["claimReviewed"] for r in json.loads(review)["@graph"]]
    assert any(r.startswith(statement) for r in reviewed)
    graph = ET.fromstring(site["exports/graph.graphml"])
    assert any(statement in (el.text or "") for el in graph.iter())
    rows = {
        r["id"]: r
        for r in csv.DictReader(io.StringIO(site["exports/claims.csv"].decode("utf-8-sig")))
    }
    assert rows["inject"]["statement"].startswith(statement)
    assert rows["formula"]["statement"].startswith("'=HYPERLINK(")  # not a live formula
    assert not any(
        cell.startswith(("=", "+", "-", "@")) for row in rows.values() for cell in row.values()
    )
    bib = bibtexparser.parse_string(site["exports/kb.bib"].decode("utf-8"))
    assert bib.failed_blocks == [] and len(bib.entries) == 4
    json.loads(site["exports/audit.json"])


def test_a_megabyte_value_stops_the_build_before_it_fills_the_disk(
    tmp_path: Path, run_kb: RunKB
) -> None:
    """A source title of 1 MB, cited by every claim, once made every claim page 10 MB (a base
    of 50 claims built a 497 MB site): it is value-too-long at its place, once, and the build
    writes nothing. A long quote within its own limit is fine."""
    root = tmp_path / "kb"
    (root / "sources").mkdir(parents=True)
    (root / "claims").mkdir()
    (root / "sources" / "s.yaml").write_text(
        f'type: book\ntitle: "{"Long " * 200_000}"\nissued: 2020\n', encoding="utf-8"
    )
    words = "We are seeing more cases than last year. " * 150  # 6,150 characters
    (root / "sources" / "s.txt").write_text(words + "\n", encoding="utf-8")
    for i in range(2):
        (root / "claims" / f"c{i}.yaml").write_text(
            f'statement: C{i}\nquotes:\n  - text: "{words.strip()}"\n    source: s\n',
            encoding="utf-8",
        )
    r = run_kb("-C", root, "check")
    too_long = [line for line in r.out.splitlines() if "[value-too-long]" in line]
    assert too_long == [
        "sources/s.yaml:2:8: error: 'title' is 1,000,000 characters long; at most 4,000 are "
        "allowed [value-too-long]"
    ]
    out = tmp_path / "site"
    r = run_kb("-C", root, "build", "--out", out)
    assert r.code == 1 and not out.exists()
