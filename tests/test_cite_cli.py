"""`kb cite` and the citation cache: what a writer sees, exit codes, and work not redone."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from citedata import SOURCES, write_kb
from conftest import RunKB

from kb.cite import citeproc, pandoc
from kb.cite.claims import cite_sources
from kb.cite.styles import STYLES
from kb.reading.load import load_kb

DATA = Path(__file__).resolve().parent / "data"
QUOTE = "The drug blocks NMDA receptors — that’s the first step"
CLAIMS = {
    "spin": "statement: Ketamine cures depression.\n"
    "quotes:\n  - {text: 'The trial was small.', source: example-news}\n"
    "review: {verdict: misleading, reviewer: ed-itor, date: 2026-02-02,"
    " rationale: One small trial.}\n",
    "fresh": "statement: Ketamine acts in animals.\n"
    "quotes:\n  - {text: 'In animals, the effect appears within hours', source: example-news,"
    " locator: para. 5}\n",
    "garbled": "statement: Doe said something else.\n"
    "quotes:\n  - {text: 'words nobody printed', source: example-news, speaker: jane-doe}\n",
    "li-pair": "statement: Li wrote twice in 2010.\n"
    "quotes:\n  - {text: 'Alpha', source: a-li, locator: p. 4}\n",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The valid fixture plus a disputed, an unreviewed and a misquoting claim, and two books
    by the same author in the same year."""
    root = tmp_path / "kb"
    shutil.copytree(DATA / "valid", root)
    for name, text in CLAIMS.items():
        (root / "claims" / f"{name}.yaml").write_text(text)
    book = {"type": "book", "author": [{"family": "Li", "given": "Na"}], "issued": "2010"}
    write_kb(root, {"a-li": {**book, "title": "Alpha"}, "z-li": {**book, "title": "Beta"}})
    return root


def test_cite_prints_quote_speaker_citation_and_reference(root: Path, run_kb: RunKB) -> None:
    """The quote byte for byte, the speaker as attributed, the pinpointed in-text citation."""
    r = run_kb("-C", root, "cite", "nmda-blockade")
    assert r.code == 0, r.err
    assert f"“{QUOTE}”" in r.out
    assert "— Jane Doe, MD, PhD; attributed as “said Jane Doe, a professor of psychiatry" in r.out
    assert "In text: (Writer, 2024, para. 3)" in r.out
    assert (
        "Reference: Writer, W. (2024, May 2). A new hope for depression. Example Times. " in r.out
    )
    assert "Earliest found in: Doe, J. (2023, November). Ketamine and the synapse." in r.out
    assert "Verdict" not in r.out and "Unreviewed" not in r.out  # accurate: nothing to warn of
    assert (root / ".kb-cache").is_dir()


def test_cite_other_styles_and_formats(root: Path, run_kb: RunKB) -> None:
    """AMA numbers, MLA author-page, Markdown and HTML output."""
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "ama")
    assert "In text: 1(para3)" in r.out and "Writer W. A new hope for depression." in r.out
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "mla", "--format", "markdown")
    assert f"> {QUOTE}" in r.out
    assert "- Reference: Writer, Wendy. “A New Hope for Depression.” *Example Times*" in r.out
    r = run_kb("-C", root, "cite", "nmda-blockade", "--format", "html")
    assert f"<blockquote><p>{QUOTE}</p></blockquote>" in r.out
    assert (
        '<div class="csl-entry">Writer, W. (2024, May 2). A new hope for depression. <em>' in r.out
    )


def test_cite_marks_verdicts_and_refuses_disputed_claims(root: Path, run_kb: RunKB) -> None:
    """Unreviewed is marked; misleading needs --allow-disputed (exit 1 and why, otherwise)."""
    r = run_kb("-C", root, "cite", "fresh", "rapid-onset")
    assert r.code == 0
    assert "Unreviewed: no one has checked this claim yet." in r.out
    assert "Verdict: Mostly accurate. One small trial; the animal result" in r.out
    assert "In text: (Writer, 2024, para. 5)" in r.out
    r = run_kb("-C", root, "cite", "nmda-blockade", "spin")
    assert r.code == 1
    assert "spin is rated misleading: One small trial." in r.err and "--allow-disputed" in r.err
    assert QUOTE in r.out and "The trial was small." not in r.out
    r = run_kb("-C", root, "cite", "spin", "--allow-disputed")
    assert r.code == 0 and "Verdict: Misleading (disputed). One small trial." in r.out


def test_cite_refuses_a_quote_the_snapshot_does_not_hold(root: Path, run_kb: RunKB) -> None:
    """A quote that the checks cannot find in its source is refused as a disputed claim is;
    with the override it is cited with the check's note."""
    r = run_kb("-C", root, "cite", "garbled", "nmda-blockade")
    assert r.code == 1
    assert (
        "kb cite: garbled has a quote that is not verified: quote 1 (“words nobody printed”) is "
        "not found in the snapshot of example-news [quote-not-found]\n"
        "  not cited; pass --allow-disputed to cite it anyway" in r.err
    )
    assert "words nobody printed" not in r.out and QUOTE in r.out
    r = run_kb("-C", root, "cite", "garbled", "--allow-disputed")
    assert r.code == 0 and "[quote-not-found]" in r.out


def test_cite_refuses_an_ambiguous_quote_and_a_changed_snapshot(root: Path, run_kb: RunKB) -> None:
    (root / "claims" / "twice.yaml").write_text(
        "statement: S.\nquotes:\n"
        "  - {text: the effect appears within hours, source: example-news}\n"
    )
    r = run_kb("-C", root, "cite", "twice")
    assert r.code == 1 and "is found in 2 places of the snapshot of example-news" in r.err
    news = root / "sources" / "example-news.txt"
    news.write_text(news.read_text() + "\nA line added after its hash was recorded.\n")
    r = run_kb("-C", root, "cite", "fresh")
    assert r.code == 1
    assert "the snapshot of example-news that quote 1" in r.err and "[snapshot-changed]" in r.err


def test_cite_takes_any_installed_style_by_file_name(root: Path, run_kb: RunKB) -> None:
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "harvard-cite-them-right")
    assert r.code == 0, r.err
    assert "In text: (Writer, 2024, para. 3)" in r.out or "In text: (Writer 2024" in r.out
    assert "Available at:" in r.out  # Harvard's own wording, not APA's
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "nature")
    assert r.code == 0 and "In text: 1" in r.out
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "natur")
    assert r.code == 2 and "did you mean 'nature'" in r.err
    r = run_kb("-C", root, "cite", "--list-styles", "harvard-cite-them")
    assert r.code == 0
    assert r.out.startswith("harvard-cite-them-right          Cite Them Right 12th edition")
    r = run_kb("-C", root, "cite", "--list-styles", "no-such-style-anywhere")
    assert r.code == 1


def test_a_style_is_read_only_from_a_regular_file(root: Path, run_kb: RunKB) -> None:
    import os

    os.mkfifo(root / "pipe.csl")
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "pipe.csl")
    assert r.code == 2 and "is not a regular file" in r.err


def test_cite_pinpoint_keeps_the_year_suffix(root: Path, run_kb: RunKB) -> None:
    """The pinpointed citation is disambiguated like the reference list: 2010a, p. 4."""
    r = run_kb("-C", root, "cite", "li-pair")
    assert "In text: (Li, 2010a, p. 4)" in r.out and "Li, N. (2010a). Alpha." in r.out


def test_cite_bad_usage(root: Path, run_kb: RunKB, tmp_path: Path) -> None:
    """Unknown claim or style: exit 2 with a suggestion; a .csl file path is a style."""
    r = run_kb("-C", root, "cite", "nmda-blokade")
    assert r.code == 2 and "(did you mean 'nmda-blockade'?)" in r.err
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", "apaa")
    assert r.code == 2 and "did you mean 'apa'?" in r.err
    mine = tmp_path / "mine.csl"
    shutil.copy(STYLES["vancouver"], mine)
    r = run_kb("-C", root, "cite", "nmda-blockade", "--style", mine)
    assert r.code == 0 and "In text: (1)" in r.out


def test_pandoc_failure_is_a_clear_error(
    root: Path, run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pandoc that fails gives one line naming the job and pandoc's message, exit 1."""
    fake = tmp_path / "pandoc"
    fake.write_text("#!/bin/sh\necho 'boom: out of cheese' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("KB_PANDOC", str(fake))
    monkeypatch.setattr(pandoc, "pandoc_version", lambda: "fake")
    pandoc.pandoc_path.cache_clear()
    try:
        r = run_kb("-C", root, "cite", "nmda-blockade")
    finally:
        pandoc.pandoc_path.cache_clear()
    assert r.code == 1
    assert r.err.startswith("kb: error: pandoc failed on APA 7th references for ")
    assert "boom: out of cheese" in r.err and "Traceback" not in r.err


def _count_batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    seen: list[list[str]] = []
    real = citeproc.run_batches

    def spy(batches: Any, jobs: int) -> Any:
        seen.extend([str(it["id"]) for u in b.units for it in u.items] for b in batches)
        return real(batches, jobs)

    monkeypatch.setattr(citeproc, "run_batches", spy)
    return seen


def test_cache_reuses_groups_and_redoes_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Warm: no pandoc. One source edited: only its group. A new namesake: both redone."""
    root = write_kb(tmp_path / "kb", SOURCES)
    cache = tmp_path / "cache"
    seen = _count_batches(monkeypatch)
    kb, _ = load_kb(root)
    cold = cite_sources(kb, ["apa", "mla"], cache)
    assert sum(map(len, seen)) == 2 * len(SOURCES)
    seen.clear()
    assert cite_sources(kb, ["apa", "mla"], cache) == cold and seen == []

    (root / "sources" / "li-2010.yaml").write_text(
        json.dumps({**SOURCES["li-2010"], "title": "A retitled paper"})
    )
    kb, _ = load_kb(root)
    apa = cite_sources(kb, ["apa"], cache)["apa"]
    assert seen == [["li-2010"]] and "A retitled paper" in apa["li-2010"].reference_text
    assert apa["gogh-1890"] == cold["apa"]["gogh-1890"]

    seen.clear()
    write_kb(root, {"li-2010x": {**SOURCES["li-2010"], "title": "Another 2010 paper"}})
    kb, _ = load_kb(root)
    apa = cite_sources(kb, ["apa"], cache)["apa"]
    assert seen == [["li-2010", "li-2010x"]]
    assert apa["li-2010"].intext == "(Li et al., 2010a)"  # the old entry is not served stale

    for f in cache.iterdir():
        f.write_text("{ not json")
    assert cite_sources(kb, ["apa"], cache)["apa"] == apa  # a damaged cache is only slower


def test_only_formats_the_groups_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`only` formats just the groups holding those ids and keeps the rest of the cache."""
    root = write_kb(tmp_path / "kb", SOURCES)
    cache = tmp_path / "cache"
    kb, _ = load_kb(root)
    full = cite_sources(kb, ["apa"], cache)
    seen = _count_batches(monkeypatch)
    part = cite_sources(kb, ["apa"], cache, only={"li-2010"})
    assert seen == [] and part["apa"] == {"li-2010": full["apa"]["li-2010"]}
    shutil.rmtree(cache)
    part = cite_sources(kb, ["apa"], cache, only={"film-2017"})
    assert seen == [["film-2017"]] and set(part["apa"]) == {"film-2017"}
