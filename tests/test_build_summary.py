"""`kb build` counts problems by code when there are many; `--verbose` and `kb check` list all."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from kb.build import SUMMARY_ABOVE, problem_lines
from kb.errors import Loc, Problem, Severity
from tests.conftest import RunKB, generate_kb

SUMMARY_LINE = re.compile(
    r"  (?P<code>[a-z-]+) +(?P<n>\d+) (?P<sev>error|warning)\(s\), first at (?P<at>\S+)"
)


def _lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if not ln.startswith(("built ", "build stopped"))]


def test_many_warnings_are_counted_by_code(tmp_path: Path, run_kb: RunKB) -> None:
    root = generate_kb(tmp_path / "kb", claims=120)
    check = run_kb("-C", root, "check")
    listed = [ln for ln in check.out.splitlines() if ln]
    assert len(listed) > SUMMARY_ABOVE
    built = run_kb("-C", root, "build", "--out", tmp_path / "site")
    assert built.code == 0
    lines = _lines(built.err)
    assert lines[0].startswith(f"{len(listed)} problems by code")
    found = {m["code"]: m for m in map(SUMMARY_LINE.fullmatch, lines[1:]) if m}
    assert len(found) == len(lines) - 1, lines
    counts = Counter(re.search(r"\[([a-z-]+)\]$", ln).group(1) for ln in listed)  # type: ignore[union-attr]
    assert {c: int(m["n"]) for c, m in found.items()} == counts
    for code, m in found.items():  # the first place is the first that kb check lists
        first = next(ln for ln in listed if ln.endswith(f"[{code}]"))
        assert first.startswith(m["at"] + ": ")
    verbose = run_kb("-C", root, "build", "--out", tmp_path / "site", "--verbose")
    assert _lines(verbose.err) == listed


def test_few_problems_are_listed(run_kb: RunKB, tmp_path: Path) -> None:
    root = generate_kb(tmp_path / "kb", claims=5)  # a few errors (build stopped), warnings
    check = run_kb("-C", root, "check")
    listed = [ln for ln in check.out.splitlines() if ln]
    assert 0 < len(listed) <= SUMMARY_ABOVE
    built = run_kb("-C", root, "build", "--out", tmp_path / "site")
    assert _lines(built.err) == listed


def test_errors_are_listed_and_warnings_counted() -> None:
    def p(path: str, code: str, sev: Severity) -> Problem:
        return Problem(Loc(path, 2, 3), code, "msg", sev)

    warnings = [p(f"claims/c{i:03}.yaml", "unreviewed", Severity.WARNING) for i in range(30)]
    errors = [p("claims/a.yaml", "quote-not-found", Severity.ERROR)]
    lines = problem_lines(sorted([*errors, *warnings], key=Problem.sort_key))
    assert lines[0] == errors[0].text()
    assert lines[1].startswith("30 warnings by code")
    assert SUMMARY_LINE.fullmatch(lines[2])
    assert lines[2].split() == [
        "unreviewed",
        "30",
        "warning(s),",
        "first",
        "at",
        "claims/c000.yaml:2:3",
    ]
    assert len(lines) == 3
    many = [p(f"claims/e{i:03}.yaml", "bad-id", Severity.ERROR) for i in range(25)]
    lines = problem_lines(sorted([*many, *warnings], key=Problem.sort_key))
    assert lines[0].startswith("55 problems by code")
    assert [ln.split()[0] for ln in lines[1:]] == ["bad-id", "unreviewed"]  # errors first
    assert problem_lines(warnings, verbose=True) == [w.text() for w in warnings]
