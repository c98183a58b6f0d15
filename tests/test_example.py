"""The README's walk-through ("Start your own knowledge base") on a second real article, run
command by command from examples/measles-2015/walkthrough.sh, from kb init to a built site."""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb.pipeline import check_kb

RunKB = Callable[..., Any]
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "measles-2015"


def commands() -> list[str]:
    lines = (EXAMPLE / "walkthrough.sh").read_text(encoding="utf-8").splitlines()
    return [ln for ln in lines if ln.strip() and not ln.startswith("#")]


def test_the_readme_shows_the_walkthrough_as_it_is_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Start your own knowledge base", 1)[1].split("\n## ", 1)[0]
    shown = [ln.removeprefix("$ ") for ln in section.splitlines() if ln.startswith("$ ")]
    assert [c for c in shown if c in commands()] == commands()


def test_the_walkthrough_builds_a_checked_site(
    run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "measles-2015"
    shutil.copytree(EXAMPLE / "inputs", work / "inputs")
    monkeypatch.chdir(work)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1733529600")
    for line in commands():
        args = shlex.split(line)
        if args[0] == "cd":
            monkeypatch.chdir(Path.cwd() / args[1])
            continue
        assert args[0] == "kb", line
        r = run_kb(*args[1:])
        assert r.code == 0, f"{line}\n{r.out}\n{r.err}"
    base = work / "measles-kb"
    assert (base / "site" / "index.html").is_file()
    assert (base / "site" / "claims" / "plane-ride-away.html").is_file()
    kb, _graph, problems = check_kb(base)
    assert [p for p in problems if p.severity.value == "error"] == []
    assert {p.code for p in problems} <= {
        "no-evidence", "unreviewed", "quote-untraced", "orphan-source",
        "retrieved-undated",  # an imported web page with neither a date nor an access date
    }  # fmt: skip
    # every source came from the three files, every snapshot from the page and the PDF
    assert sorted(kb.sources) == ["cdc-han-00376", "wwlp-measles", "zipprich-2015"]
    assert kb.sources["zipprich-2015"].csl["issued"] == "2015-02-13"  # type: ignore[index]
    mmwr = kb.sources["zipprich-2015"].snapshot_text or ""  # type: ignore[index]
    assert "Measles transmission is ongoing" in mmwr  # the PDF's hyphenated break joined
    page = kb.sources["wwlp-measles"].snapshot_text or ""  # type: ignore[index]
    assert "Immunization & Respiratory Diseases" in page and "&amp;" not in page
    assert [len(c.quotes) for _, c in sorted(kb.claims.items())] == [2, 1, 1]
