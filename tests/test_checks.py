"""Every check code, reported at the right file, line and column by the failure fixtures.

tests/data/failures/ is a knowledge base made of one fixture per check code, each file named after
the code it triggers. EXPECTED below is everything `kb check` must report on it, and nothing else:
a new check code without a fixture, a fixture that stops failing, or a problem at a new place
makes this module fail.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kb.checks import CODES
from kb.errors import Problem, Severity
from kb.pipeline import check_kb
from kb.reading.yamlio import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
FAILURES = ROOT / "tests" / "data" / "failures"

# (code, path, line, col, a piece of the message)
EXPECTED = [
    # loading
    ("yaml-syntax", "claims/yaml-syntax.yaml", 3, 1, "did not find expected ',' or ']'"),
    ("yaml-alias", "claims/yaml-alias.yaml", 1, 12, "anchor &words"),
    ("yaml-too-deep", "claims/yaml-too-deep.yaml", 2, 58, "deeper than 50 levels"),
    ("bad-encoding", "claims/bad-encoding.yaml", 2, 13, "byte 0xe9"),
    ("not-a-mapping", "claims/not-a-mapping.yaml", 1, 1, "a claim must be a mapping"),
    ("missing-key", "claims/missing-key.yaml", 1, 1, "a claim needs a 'statement' key"),
    ("unknown-key", "claims/unknown-key.yaml", 2, 1, "'topic' in a claim (did you mean 'topics'?)"),
    ("duplicate-key", "claims/duplicate-key.yaml", 4, 1, "'statement' is given twice"),
    ("bad-type", "claims/bad-type.yaml", 2, 9, "'topics' must be a list, not a number 42"),
    ("bad-value", "claims/bad-value.yaml", 5, 17, "'indirectly' (did you mean 'indirect'?)"),
    ("bad-date", "claims/bad-date.yaml", 7, 9, "'2026-02-30', not an ISO date"),
    ("bad-url", "sources/bad-url.yaml", 3, 6, "'javascript:alert(1)' must be an absolute http"),
    ("bad-doi", "sources/bad-doi.yaml", 3, 6, "must look like 10.NNNN/suffix"),
    ("bad-id", "claims/Bad_ID.yaml", 1, 1, "id 'Bad_ID' must be lower-case"),
    ("id-mismatch", "claims/id-mismatch.yaml", 1, 5, "'another-name' differs from the file name"),
    ("duplicate-id", "claims/duplicate-id.yml", 1, 1, "already used by claims/duplicate-id.yaml"),
    ("file-too-large", "claims/file-too-large.yaml", 1, 1, "the limit is 5,242,880 bytes"),
    ("value-too-long", "claims/value-too-long.yaml", 1, 12, "at most 4,000 are allowed"),
    ("stray-file", "claims/stray-file.txt", 1, 1, "stray-file.txt is skipped"),
    ("unsafe-path", "sources/unsafe-path.yaml", 3, 11, "'../../etc/passwd' is refused"),
    ("unreadable", "claims/unreadable.yaml", 1, 1, "cannot read the file: No such file"),
    # references
    ("unknown-source", "claims/unknown-source.yaml", 4, 14, "'primery' in sources/ (did you mean"),
    ("unknown-expert", "claims/unknown-expert.yaml", 4, 39, "'reviwer' in experts/ (did you mean"),
    ("unknown-claim", "claims/unknown-claim.yaml", 5, 13, "no claim 'unknown-clam' in claims/"),
    (
        "unknown-citation",
        "claims/unknown-citation.yaml",
        7,
        14,
        "'primery' in sources/ (did you mean",
    ),
    # quotes
    ("quote-not-found", "claims/quote-not-found.yaml", 3, 11, "not in the snapshot of article"),
    ("quote-ambiguous", "claims/quote-ambiguous.yaml", 3, 11, "appears 2 times"),
    ("quote-drift", "claims/quote-drift.yaml", 3, 11, "dropped 'very'; added 'the authors said'"),
    ("quote-untraced", "claims/quote-untraced.yaml", 5, 14, "attributed to speaker have no origin"),
    ("origin-unknown", "claims/origin-unknown.yaml", 6, 13, "cannot be confirmed as theirs"),
    ("snapshot-missing", "claims/snapshot-missing.yaml", 4, 13, "no-snapshot has no snapshot"),
    ("snapshot-changed", "sources/snapshot-changed.yaml", 3, 18, "not the recorded deadbeefdead"),
    ("snapshot-markup", "sources/snapshot-markup.txt", 1, 1, "looks like HTML (9 tags"),
    # evidence
    ("no-evidence", "claims/no-evidence.yaml", 1, 12, "has no evidence"),
    ("template-unedited", "claims/template-unedited.yaml", 2, 12, "still the placeholder of"),
    ("secondary-only", "claims/secondary-only.yaml", 3, 3, "only on secondary sources (news)"),
    ("retracted-evidence", "claims/retracted-evidence.yaml", 4, 14, "retracted is retracted"),
    ("contradicted", "claims/contradicted.yaml", 5, 19, "accurate but news contradicts it"),
    ("circular-sourcing", "sources/circular-a.yaml", 3, 15, "circular-a -> circular-b -> circ"),
    ("circular-sourcing", "claims/circular-sourcing.yaml", 8, 3, "supports itself"),
    ("circular-sourcing", "claims/circular-sourcing.yaml", 6, 14, "the source the claim is quoted"),
    # upkeep
    ("unreviewed", "claims/unreviewed.yaml", 1, 12, "has not been reviewed"),
    ("stale-review", "claims/stale-review.yaml", 7, 16, "deadbeef0000 is of the first form"),
    ("orphan-source", "sources/orphan-source.yaml", 1, 1, "not used by any claim or expert"),
    ("orphan-expert", "experts/orphan-expert.yaml", 1, 1, "not quoted and reviews nothing"),
    ("attribution-missing", "claims/attribution-missing.yaml", 9, 19, "propose `attribution: con"),
    ("attribution-mismatch", "claims/attribution-mismatch.yaml", 7, 42, "no quote has a speaker"),
    ("searched-missing", "claims/searched-missing.yaml", 4, 19, "unverifiable but records no"),
    # citing
    ("retrieved-undated", "sources/retrieved-undated.yaml", 3, 6, "`Retrieved` and the URL with"),
    ("base-url-missing", "kb.yaml", 1, 1, "sets no base_url"),
]


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> list[Problem]:
    """Check a copy of the failure fixtures plus a generated file of just over 5 MB and a link
    whose target is gone (a file that cannot be read, even by root)."""
    root = tmp_path_factory.mktemp("failures") / "kb"
    shutil.copytree(FAILURES, root)
    (root / "claims" / "unreadable.yaml").symlink_to("gone.yaml")
    with (root / "claims" / "file-too-large.yaml").open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: nothing is written, and kb must not read it
    _kb, _g, problems = check_kb(root)
    return problems


def test_reports_exactly_the_expected_problems(failures: list[Problem]) -> None:
    """Nothing missing and nothing extra, at (code, path, line, col)."""
    got = sorted((p.code, p.loc.path, p.loc.line, p.loc.col) for p in failures)
    want = sorted((c, path, line, col) for c, path, line, col, _ in EXPECTED)
    assert got == want


@pytest.mark.parametrize(
    ("code", "path", "line", "col", "message"),
    EXPECTED,
    ids=[f"{row[0]}@{row[1]}:{row[2]}" for row in EXPECTED],
)
def test_each_code_at_its_place(
    failures: list[Problem], code: str, path: str, line: int, col: int, message: str
) -> None:
    """Each fixture's problem has its code, place, message and default severity."""
    found = [p for p in failures if (p.code, p.loc.path, p.loc.line, p.loc.col) == (
        code, path, line, col)]  # fmt: skip
    assert found, f"no {code} at {path}:{line}:{col}"
    assert any(message in p.message for p in found), [p.message for p in found]
    assert all(p.severity is CODES[code].severity for p in found)


def test_every_code_is_exercised() -> None:
    """A check code without a failure fixture fails here (add one to tests/data/failures)."""
    assert {row[0] for row in EXPECTED} == set(CODES)


def test_spec_codes_are_all_registered() -> None:
    """Every code SPEC lists exists, with SPEC's default severity."""
    spec_codes = {
        "yaml-syntax", "yaml-alias", "yaml-too-deep", "bad-encoding", "not-a-mapping",
        "missing-key", "unknown-key", "duplicate-key", "bad-type", "bad-value", "bad-date",
        "bad-url", "bad-doi", "bad-id", "id-mismatch", "duplicate-id", "file-too-large",
        "stray-file", "unknown-source", "unknown-expert", "unknown-claim", "quote-not-found",
        "quote-ambiguous", "quote-drift", "quote-untraced", "snapshot-missing",
        "snapshot-changed", "no-evidence", "secondary-only", "retracted-evidence",
        "contradicted", "circular-sourcing", "unreviewed", "stale-review", "orphan-source",
        "orphan-expert",
    }  # fmt: skip
    warnings = {
        "quote-ambiguous", "quote-drift", "quote-untraced", "snapshot-missing", "no-evidence",
        "secondary-only", "contradicted", "unreviewed", "stale-review", "orphan-source",
        "orphan-expert", "stray-file",
    }  # fmt: skip
    assert spec_codes <= set(CODES)
    for name in spec_codes:
        want = Severity.WARNING if name in warnings else Severity.ERROR
        assert CODES[name].severity is want, name


@pytest.mark.parametrize("name", sorted(CODES))
def test_every_code_is_documented(name: str) -> None:
    """Each code's function has a docstring, and docs/format.md has a section for the code."""
    c = CODES[name]
    assert len(c.doc) > 30, f"{name} needs a docstring that explains it"
    assert c.summary.endswith((".", ")")), c.summary
    doc = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
    assert re.search(rf"^#### `{re.escape(name)}`", doc, re.M), f"{name} is not in docs/format.md"


def test_text_lines_have_relative_paths(failures: list[Problem]) -> None:
    """Paths are relative to the knowledge base root, with forward slashes."""
    for p in failures:
        assert not p.loc.path.startswith("/") and "\\" not in p.loc.path
        assert re.fullmatch(r"\S+:\d+:\d+: (error|warning): .+ \[[a-z-]+\]", p.text())


def test_kb_check_places_quotes_in_a_forked_process_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb check` has the quotes placed in their snapshots by a forked process while it makes
    the graph: the problems and places are those found in one process, and a process that
    fails changes nothing but the time."""
    import os

    from conftest import generate_kb

    import kb.fast.placing as placing
    import kb.pipeline as pipeline

    root = generate_kb(tmp_path / "kb")
    store = root / ".kb-cache" / "checks.sqlite3"  # each run below checks every claim anew
    # this process may run other tests' threads (playwright's, after the browser tests), which
    # make kb decline to fork; the child here only places quotes, so forking is safe
    monkeypatch.setattr(placing, "fork_is_safe", lambda: True)
    monkeypatch.setattr(placing.Placing, "MIN_QUOTES", 10**9)
    alone_kb, _, alone = pipeline.check_kb(root)
    monkeypatch.setattr(placing.Placing, "MIN_QUOTES", 0)
    forked = []
    real_start = placing.Placing.start

    def start(kb_: object) -> object:
        placing = real_start(kb_)  # type: ignore[arg-type]
        forked.append(placing.pid)

        def nowhere(*_args: object) -> None:
            raise AssertionError("placed again in this process")

        monkeypatch.setattr("kb.checks.context.locate", nowhere)  # the fork has the real one
        return placing

    monkeypatch.setattr(placing.Placing, "start", start)
    store.unlink()
    both_kb, _, both = pipeline.check_kb(root)
    assert forked and forked[0] not in (0, os.getpid())
    monkeypatch.setattr(placing.Placing, "start", real_start)
    monkeypatch.undo()
    monkeypatch.setattr(placing, "fork_is_safe", lambda: True)
    monkeypatch.setattr(placing.Placing, "MIN_QUOTES", 0)
    assert [p.text() for p in both] == [p.text() for p in alone]
    assert both_kb.located == alone_kb.located and both_kb.located

    def broken(_kb: object) -> object:
        raise RuntimeError("the forked process fails")

    monkeypatch.setattr(placing, "_places", broken)
    store.unlink()
    failed_kb, _, failed = pipeline.check_kb(root)
    assert [p.text() for p in failed] == [p.text() for p in alone]
    assert failed_kb.located == alone_kb.located
