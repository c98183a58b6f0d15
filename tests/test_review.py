"""`kb review` in batches, --reconfirm, the history, and stale reviews that say what changed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import RunKB

from kb.reading.load import load_kb

DATA = Path(__file__).parent / "data" / "valid"


@pytest.fixture
def base(tmp_path: Path, run_kb: RunKB, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The valid base, with both claims reviewed once by this kb (fingerprints part by part)."""
    root = tmp_path / "kb"
    shutil.copytree(DATA, root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    r = run_kb("-C", root, "review", "--reconfirm", "nmda-blockade", "rapid-onset")
    assert r.code == 0, r.err
    return root


def stale(run_kb: RunKB, root: Path) -> list[str]:
    out = run_kb("-C", root, "check").out
    return [ln for ln in out.splitlines() if ln.endswith("[stale-review]")]


def test_a_batch_gets_one_verdict_and_keeps_each_history(run_kb: RunKB, base: Path) -> None:
    r = run_kb(
        "-C", base, "review", "nmda-blockade", "rapid-onset",
        "--verdict", "needs-context", "--reviewer", "jane-doe", "--rationale", "Second look.",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "reviewed nmda-blockade: needs-context (claims/nmda-blockade.yaml)",
        "reviewed rapid-onset: needs-context (claims/rapid-onset.yaml)",
    ]
    kb, problems = load_kb(base)
    assert problems == []
    review = kb.claims["rapid-onset"].review  # type: ignore[index]
    assert review is not None
    assert (review.verdict, review.reviewer, review.rationale) == (
        "needs-context",
        "jane-doe",
        "Second look.",
    )
    # latest first: the reconfirmation of the fixture, then the fixture's own review
    assert [(h.verdict, h.reviewer, h.date) for h in review.history] == [
        ("mostly-accurate", "ed-itor", "2026-01-01"),
        ("mostly-accurate", "ed-itor", "2026-01-10"),
    ]
    assert review.history[1].fingerprint == "898e0b77848e"
    assert review.history[0].rationale == "One small trial; the animal result is not the human one."
    assert stale(run_kb, base) == []


def test_reconfirm_keeps_the_verdict_and_rationale(run_kb: RunKB, base: Path) -> None:
    kb = load_kb(base)[0]
    review = kb.claims["nmda-blockade"].review  # type: ignore[index]
    assert review is not None
    assert (review.verdict, review.reviewer, review.date) == ("accurate", "ed-itor", "2026-01-01")
    assert review.rationale == "Smith 2020 measured the blockade."
    assert review.fingerprint and review.fingerprint.startswith("s:")
    assert [h.date for h in review.history] == ["2026-01-10"]


def test_a_snapshot_line_no_quote_touches_leaves_reviews_current(run_kb: RunKB, base: Path) -> None:
    news = base / "sources" / "example-news.txt"
    news.write_text(news.read_text() + "\nA line added at the end, far from every quote.\n")
    assert stale(run_kb, base) == []


def test_an_edit_of_a_quoted_sentence_names_the_quote_and_the_words(
    run_kb: RunKB, base: Path
) -> None:
    news = base / "sources" / "example-news.txt"
    news.write_text(
        news.read_text().replace("The trial was small.", "The trial was small and unblinded.")
    )
    found = stale(run_kb, base)
    assert len(found) == 1, found
    assert found[0].startswith("claims/rapid-onset.yaml:")
    assert "the text around quote 1 in the snapshot of example-news changed" in found[0]
    assert "The trial was small and unblinded." in found[0]
    assert "quote 2" not in found[0]
    # one command makes both current again
    assert run_kb("-C", base, "review", "--reconfirm", "--stale").code == 0
    assert stale(run_kb, base) == []


def test_a_stance_change_is_named(run_kb: RunKB, base: Path) -> None:
    path = base / "claims" / "rapid-onset.yaml"
    path.write_text(path.read_text().replace("stance: context", "stance: qualifies"))
    (line,) = stale(run_kb, base)
    assert "evidence 2 (example-news): stance was context, now qualifies" in line


def test_a_changed_statement_and_an_added_quote_are_named(run_kb: RunKB, base: Path) -> None:
    path = base / "claims" / "nmda-blockade.yaml"
    text = path.read_text().replace("Ketamine blocks NMDA", "Ketamine surely blocks NMDA")
    text = text.replace(
        "evidence:",
        "  - text: What follows is a surge of glutamate.\n    source: doe-lecture\nevidence:",
    )
    path.write_text(text)
    (line,) = stale(run_kb, base)
    assert "the statement changed; it now reads “Ketamine surely blocks NMDA receptors.”" in line
    assert "quote 2 was added: “What follows is a surge of glutamate.”" in line


def test_a_claim_with_errors_is_refused(run_kb: RunKB, base: Path) -> None:
    news = base / "sources" / "example-news.txt"
    news.write_text(news.read_text().replace("felt better within a day", "felt fine within a day"))
    before = {p: p.read_bytes() for p in base.rglob("*.yaml")}
    r = run_kb("-C", base, "review", "--reconfirm", "rapid-onset", "nmda-blockade")
    assert r.code == 1
    assert re.search(
        r"^claims/rapid-onset\.yaml:\d+:\d+: error: .*\[quote-not-found\]$", r.err, re.M
    )
    assert "nothing was written" in r.err
    assert {p: p.read_bytes() for p in base.rglob("*.yaml")} == before
    r = run_kb(
        "-C", base, "review", "rapid-onset", "--verdict", "accurate", "--reviewer", "ed-itor"
    )
    assert r.code == 1 and "[quote-not-found]" in r.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nmda-blockade"], "give --verdict V, or --reconfirm"),
        (["nmda-blockade", "--verdict", "accurate", "--reconfirm"], "not both"),
        (["nmda-blockade", "--verdict", "accurate"], "--reviewer is required"),
        (["--verdict", "accurate", "--reviewer", "ed-itor"], "name at least one claim"),
        (["--stale", "--verdict", "accurate", "--reviewer", "ed-itor"], "--stale goes with"),
        (["nmda-blockade", "nope", "--reconfirm"], "no claim 'nope'"),
    ],
)
def test_usage_errors_change_nothing(
    run_kb: RunKB, base: Path, args: list[str], message: str
) -> None:
    before = {p: p.read_bytes() for p in base.rglob("*.yaml")}
    r = run_kb("-C", base, "review", *args)
    assert r.code == 2 and message in r.err, r.err
    assert {p: p.read_bytes() for p in base.rglob("*.yaml")} == before


def test_upgrade_fingerprints_rewrites_current_ones_only(
    run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(DATA, root)
    onset = root / "claims" / "rapid-onset.yaml"
    onset.write_text(onset.read_text().replace("within a day.", "within a day!"))  # now stale
    r = run_kb("-C", root, "review", "--upgrade-fingerprints")
    assert r.code == 0 and r.out == "1 fingerprint(s) rewritten; 1 stale one(s) left for a review\n"
    kb = load_kb(root)[0]
    nmda = kb.claims["nmda-blockade"].review  # type: ignore[index]
    assert nmda is not None and nmda.fingerprint and nmda.fingerprint.startswith("s:")
    assert nmda.history == () and nmda.date == "2026-01-10"  # no review was added
    onset_review = kb.claims["rapid-onset"].review  # type: ignore[index]
    assert onset_review is not None and onset_review.fingerprint == "898e0b77848e"
    assert [ln.split(":")[0] for ln in stale(run_kb, root)] == ["claims/rapid-onset.yaml"]
