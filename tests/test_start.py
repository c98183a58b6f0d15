"""Starting a base: kb init, finding the base from any folder, quote-first capture, templates."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb.pipeline import check_kb
from kb.reading.load import load_kb
from kb.reading.templates import PLACEHOLDER_STATEMENT

RunKB = Callable[..., Any]

SNAPSHOT = (
    "Doctors warn about the virus.\n\n"
    "“We are seeing more cases than last year,” said Dr. Ana Ruiz, who leads the clinic.\n\n"
    "The clinic saw more cases. The clinic saw more cases in March than in May.\n"
)


@pytest.fixture
def base(run_kb: RunKB, tmp_path: Path) -> Path:
    """A base made by kb init, with one source and its snapshot, and one expert."""
    root = tmp_path / "my-kb"
    assert run_kb("init", root).code == 0
    assert run_kb("-C", root, "new", "source", "story", "--title", "Doctors warn").code == 0
    (root / "sources" / "story.txt").write_text(SNAPSHOT, encoding="utf-8")
    assert run_kb("-C", root, "new", "expert", "ana-ruiz", "--name", "Ana Ruiz").code == 0
    return root


class TestInit:
    def test_makes_a_base_that_checks_clean(self, run_kb: RunKB, tmp_path: Path) -> None:
        root = tmp_path / "new-base"
        r = run_kb("init", root)
        assert r.code == 0 and "started a knowledge base" in r.out
        for folder in ("claims", "experts", "sources"):
            assert (root / folder).is_dir()
        assert (root / "kb.yaml").read_text().startswith("# ")  # commented
        assert 'title: "New base"' in (root / "kb.yaml").read_text()
        assert (root / ".gitignore").read_text().splitlines()[1:] == ["/site/", "/.kb-cache/"]
        assert "kb import" in (root / "README.md").read_text()
        r = run_kb("-C", root, "check", "--strict")
        assert r.code == 0 and "no records yet" in r.err

    def test_refuses_an_existing_base_and_keeps_files(self, run_kb: RunKB, tmp_path: Path) -> None:
        (tmp_path / "README.md").write_text("mine\n")
        assert run_kb("init", tmp_path).code == 0
        assert (tmp_path / "README.md").read_text() == "mine\n"  # kept
        before = (tmp_path / "kb.yaml").read_bytes()
        r = run_kb("init", tmp_path)
        assert r.code == 2 and "already a knowledge base" in r.err
        assert (tmp_path / "kb.yaml").read_bytes() == before

    def test_an_existing_gitignore_is_kept_and_what_it_lacks_is_named(
        self, run_kb: RunKB, tmp_path: Path
    ) -> None:
        (tmp_path / ".gitignore").write_text("*.log\nsite/\n")
        r = run_kb("init", tmp_path)
        assert r.code == 0 and (tmp_path / ".gitignore").read_text() == "*.log\nsite/\n"
        assert "note: add /.kb-cache/ to .gitignore" in r.out and "/site/ " not in r.out

    def test_init_in_the_current_folder(
        self, run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert run_kb("init").code == 0
        assert (tmp_path / "kb.yaml").is_file()


class TestFindingTheBase:
    @pytest.mark.parametrize(
        "args",
        [
            ["check"],
            ["check", "--strict"],
            ["build"],
            ["graph"],
            ["new", "claim", "x"],
            ["review", "x", "--verdict", "accurate", "--reviewer", "y"],
            ["export", "csl-json"],
            ["cite", "x"],
            ["quote", "add", "x", "--source", "s", "--quote", "q"],
        ],
    )
    def test_outside_any_base_exits_2(
        self, run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
    ) -> None:
        empty = tmp_path / "empty"
        empty.mkdir()
        monkeypatch.chdir(empty)
        r = run_kb(*args)
        assert r.code == 2
        assert "is not in a knowledge base" in r.err and "kb init" in r.err
        assert "0 error(s)" not in r.err and list(empty.iterdir()) == []
        assert run_kb("-C", empty, *args).code == 2

    def test_list_and_explain_need_no_base(
        self, run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        assert run_kb("check", "--list").code == 0
        assert run_kb("check", "--explain", "quote-not-found").code == 0

    def test_found_from_inside_claims(
        self, run_kb: RunKB, base: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (base / "claims" / "c.yaml").write_text(
            "statement: C.\nquotes: [{text: x, source: nope}]\n"
        )
        monkeypatch.chdir(base / "claims")
        r = run_kb("check")
        assert r.code == 1
        assert "claims/c.yaml:2:" in r.out and "unknown-source" in r.out
        r = run_kb("review", "c", "--verdict", "accurate", "--reviewer", "ana-ruiz")
        assert r.code == 1 and "[unknown-source]" in r.err  # a claim with errors is refused
        (base / "claims" / "c.yaml").write_text("statement: C.\n")
        r = run_kb("review", "c", "--verdict", "accurate", "--reviewer", "ana-ruiz")
        assert r.code == 0 and "verdict: accurate" in (base / "claims" / "c.yaml").read_text()
        assert not (base / "claims" / "site").exists()

    def test_C_names_a_folder_inside_a_base(self, run_kb: RunKB, base: Path) -> None:
        r = run_kb("-C", base / "sources", "check")
        assert "orphan-source" in r.out and "sources/story.yaml" in r.out


class TestQuoteFirst:
    def test_new_claim_with_a_quote_found(self, run_kb: RunKB, base: Path) -> None:
        r = run_kb(
            "-C", base, "new", "claim", "more-cases", "--statement", "Cases rose.",
            "--source", "story", "--quote", "We are seeing more cases than last year",
            "--speaker", "ana-ruiz", "--attribution", "said Dr. Ana Ruiz, who leads the clinic",
        )  # fmt: skip
        assert r.code == 0 and "line 3" in r.out
        kb, problems = load_kb(base)
        assert not [p for p in problems if p.severity.value == "error"]
        (q,) = kb.claims["more-cases"].quotes  # type: ignore[index]
        assert (q.text, q.source, q.speaker) == (
            "We are seeing more cases than last year", "story", "ana-ruiz"
        )  # fmt: skip
        assert q.prefix is None and q.suffix is None
        _, _, checked = check_kb(base)
        assert not [p for p in checked if p.code in ("quote-not-found", "quote-ambiguous")]

    def test_not_found_writes_nothing_and_shows_the_nearest_passage(
        self, run_kb: RunKB, base: Path
    ) -> None:
        r = run_kb(
            "-C", base, "new", "claim", "c", "--source", "story",
            "--quote", "We are seeing many more cases than last winter",
        )  # fmt: skip
        assert r.code == 1 and not (base / "claims" / "c.yaml").exists()
        assert "nothing was written" in r.err
        assert "line 3" in r.err and "We are seeing more cases than last year" in r.err
        assert "{+many+}" in r.err and "[-year-] {+winter+}" in r.err

    def test_recurring_words_get_a_prefix(self, run_kb: RunKB, base: Path) -> None:
        r = run_kb(
            "-C", base, "new", "claim", "c", "--statement", "S.", "--source", "story",
            "--quote", "The clinic saw more cases", "--at", "2",
        )  # fmt: skip
        assert r.code == 0 and "occur 2 times" in r.out
        kb, _ = load_kb(base)
        (q,) = kb.claims["c"].quotes  # type: ignore[index]
        assert q.prefix == "cases." or q.suffix == "in March"
        _, _, checked = check_kb(base)
        assert not [p for p in checked if p.code in ("quote-not-found", "quote-ambiguous")]

    def test_quote_add_keeps_comments(self, run_kb: RunKB, base: Path) -> None:
        assert run_kb("-C", base, "new", "claim", "c", "--statement", "Cases rose.").code == 0
        path = base / "claims" / "c.yaml"
        before = path.read_text()
        r = run_kb(
            "-C", base, "quote", "add", "c", "--source", "story",
            "--quote", "more cases than last year", "--speaker", "ana-ruiz",
        )  # fmt: skip
        assert r.code == 0
        after = path.read_text()
        for line in before.splitlines():  # every line, comments included, is still there
            assert line.replace("quotes:", "quotes:") in after
        kb, problems = load_kb(base)
        assert not [p for p in problems if p.severity.value == "error"]
        assert [q.text for q in kb.claims["c"].quotes] == ["more cases than last year"]  # type: ignore[index]

    def test_quote_add_not_found_changes_nothing(self, run_kb: RunKB, base: Path) -> None:
        assert run_kb("-C", base, "new", "claim", "c", "--statement", "S.").code == 0
        path = base / "claims" / "c.yaml"
        before = path.read_bytes()
        r = run_kb("-C", base, "quote", "add", "c", "--source", "story", "--quote", "fewer cases")
        assert r.code == 1 and "nearest passage" in r.err
        assert path.read_bytes() == before


def test_kb_cite_warns_of_a_placeholder_the_citation_shows(run_kb: RunKB, base: Path) -> None:
    """A claim cited with a speaker whose name is still `kb new`'s placeholder is cited, with a
    warning naming the expert; once the name is written, no warning."""
    assert run_kb("-C", base, "new", "expert", "nameless").code == 0
    quote = ["--source", "story", "--quote", "We are seeing more cases than last year"]
    args = ["-C", base, "new", "claim", "c", "--statement", "Cases rose.", *quote]
    assert run_kb(*args, "--speaker", "nameless").code == 0
    r = run_kb("-C", base, "cite", "c")
    assert r.code == 0 and "TODO: the name" in r.out
    assert "warning: c: expert nameless's name is still the placeholder of `kb new`" in r.err
    path = base / "experts" / "nameless.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("TODO: the name, as the source prints it", "Ana"),
        encoding="utf-8",
    )
    r = run_kb("-C", base, "cite", "c")
    assert r.code == 0 and "warning" not in r.err and "Ana" in r.out


class TestTemplates:
    def test_unedited_placeholders_warn(self, run_kb: RunKB, base: Path) -> None:
        assert run_kb("-C", base, "new", "claim", "c").code == 0
        assert run_kb("-C", base, "new", "source", "s").code == 0
        assert run_kb("-C", base, "new", "expert", "e").code == 0
        r = run_kb("-C", base, "check")
        assert r.code == 0
        unedited = [ln for ln in r.out.splitlines() if ln.endswith("[template-unedited]")]
        assert [ln.split(":")[0] for ln in unedited] == [
            "claims/c.yaml", "experts/e.yaml", "sources/s.yaml"
        ]  # fmt: skip
        assert PLACEHOLDER_STATEMENT in unedited[0]

    @pytest.mark.parametrize("kind", ["claim", "expert", "source"])
    def test_commented_lines_uncomment_as_they_are(
        self, run_kb: RunKB, base: Path, kind: str
    ) -> None:
        assert run_kb("-C", base, "new", kind, "t").code == 0
        path = base / f"{kind}s" / "t.yaml"
        lines = path.read_text().splitlines()
        # every commented example line ("# key: value", "#  - key: value"), not the prose
        example = re.compile(r"# ?( *- | *)[A-Za-z-]+:( |$)")
        opened = [ln[2:] if example.match(ln) else ln for ln in lines]
        assert opened != lines
        path.write_text("\n".join(opened) + "\n")
        _kb, problems = load_kb(base)
        syntax = {"yaml-syntax", "bad-type", "not-a-mapping", "unknown-key", "missing-key"}
        assert not [p for p in problems if p.code in syntax], problems


def _examples(command: str) -> list[str]:
    from kb.cli import make_parser

    parser = make_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    epilog = sub.choices[command].epilog or ""  # type: ignore[attr-defined]
    return [ln.strip() for ln in epilog.splitlines() if ln.strip().startswith("kb ")]


def test_help_examples_work_in_a_new_base(
    run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every example of every command's --help runs in a base made by `kb init` (none names a
    record of the bundled base); the ones that need the network or files are given them."""
    import shlex

    from pdfmake import make_pdf

    root = tmp_path / "my-kb"
    assert run_kb("init", root).code == 0
    monkeypatch.chdir(root)
    page = (
        "<html><body><article><p>She said the words as printed, twice.</p></article></body></html>"
    )
    (root / "saved-page.html").write_text(page)
    (root / "paper.pdf").write_bytes(make_pdf(["She said the words as printed, twice."]))
    order = ["new", "snapshot", "quote", "review", "list", "show", "cite", "reference", "check",
             "graph", "export", "build"]  # fmt: skip
    ran = []
    for command in order:
        lines = _examples(command)
        if command == "new":  # the claim needs the snapshot: it runs after
            lines = [ln for ln in lines if " claim " not in ln]
        if command == "snapshot":
            lines = [ln for ln in lines if "https://" not in ln]
            lines += [ln for ln in _examples("new") if " claim " in ln]
        for line in lines:
            r = run_kb(*shlex.split(line.split(" > ")[0], comments=True)[1:])  # as a shell would
            assert r.code in (0, 1) and "Traceback" not in r.err, f"{line}\n{r.err}"
            assert "no claim" not in r.err and "no source" not in r.err, line
            ran.append(line)
    assert len(ran) >= 14


def test_nearest_passage_with_the_same_words_says_what_differs() -> None:
    """A quote whose words are all in the snapshot, in order, but with other punctuation or
    quotation marks between them is not found; the message says the words are the same and
    what to do, instead of a word diff with no difference in it."""
    from kb.text.nearest import nearest

    snap = "She added that it is \u201cnot a cure.\u201d Then she left."
    got = nearest("it is not a cure", snap)
    assert got is not None and got.text.startswith("it is")
    line = got.describe("s.txt")
    assert "the same words" in line and "quotation marks" in line and "{+" not in line
    other = nearest("it is not a remedy", snap)
    assert other is not None and "{+remedy+}" in other.describe("s.txt")


@pytest.mark.parametrize(
    "args",
    [
        ["new", "expert", "e2", "--name", "Bell\x07"],
        ["new", "source", "s2", "--title", "Esc\x1b[31m"],
        ["new", "claim", "c2", "--statement", "Nul\x00"],
        ["new", "claim", "c3", "--statement", "S.", "--source", "story", "--quote", "x\x0b"],
    ],
)
def test_new_refuses_text_a_record_may_not_hold(run_kb: RunKB, base: Path, args: list[str]) -> None:
    """A control character given on the command line is a usage error and nothing is written
    (it once wrote a file that `kb check` then refused as bad-encoding)."""
    before = sorted(p.name for p in base.rglob("*.yaml"))
    r = run_kb("-C", base, *args)
    assert r.code == 2 and "control character" in r.err
    assert sorted(p.name for p in base.rglob("*.yaml")) == before
