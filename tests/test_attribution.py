"""The two-part verdict (issue 18): `verdict` rates the claim, `attribution` rates the quotation.

Also the `searched:` record that `unsupported` and `unverifiable` reviews carry, and `kb cite`
refusing `unsupported` claims as it refuses disputed ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import MakeKB, RunKB

from kb.errors import Severity
from kb.export.claimreview import claim_review
from kb.pipeline import check_kb
from kb.reading.load import load_kb
from kb.text.attribution import propose

SPEAKER = "name: Jane Doe\ncredentials: MD\n"
TEAM = "name: Review team\n"
LECTURE = "type: speech\ntitle: A lecture\nauthor: [{family: Doe, given: Jane}]\n"
ARTICLE = "type: post-weblog\ntitle: A blog post\npublisher: A clinic\n"
ORIGIN_TEXT = "Ketamine acts within hours, and some people need to try several medications."


def _claim(origin: str, quote: str = "Ketamine acts within hours", review: str = "") -> str:
    return (
        "statement: Ketamine acts within hours.\n"
        "quotes:\n"
        f'  - text: "{quote}"\n'
        "    source: article\n"
        "    speaker: jane-doe\n"
        f"    origin: {origin}\n" + review
    )


def _base(make_kb: MakeKB, claim: str, article_text: str | None = None) -> Path:
    return make_kb(
        {
            "experts/jane-doe.yaml": SPEAKER,
            "experts/team.yaml": TEAM,
            "sources/article.yaml": ARTICLE,
            "sources/article.txt": article_text
            or "The doctor said: Ketamine acts within hours, and more.",
            "sources/lecture.yaml": LECTURE,
            "sources/lecture.txt": ORIGIN_TEXT,
            "claims/c.yaml": claim,
        }
    )


TRACED = "{source: lecture, text: " + json.dumps("Ketamine acts within hours") + "}"


@pytest.mark.parametrize(
    ("origin", "quote", "expected"),
    [
        ("unknown", "Ketamine acts within hours", "unconfirmed"),
        (TRACED, "Ketamine acts within hours", "confirmed"),
        (
            "{source: lecture, text: " + json.dumps(ORIGIN_TEXT) + "}",
            "Ketamine acts within hours…",
            "altered",
        ),
        (
            "{source: article, text: " + json.dumps("Ketamine acts within hours") + "}",
            "Ketamine acts within hours",
            "first-hand",
        ),
    ],
)
def test_the_checks_propose_a_rating_from_origin_and_drift(
    make_kb: MakeKB, origin: str, quote: str, expected: str
) -> None:
    kb, problems = load_kb(_base(make_kb, _claim(origin, quote)))
    assert not [p for p in problems if p.severity is Severity.ERROR]
    assert propose(kb.claims["c"]) == expected  # type: ignore[index]


def test_no_speaker_no_rating(make_kb: MakeKB) -> None:
    root = make_kb(
        {
            "sources/article.yaml": ARTICLE,
            "sources/article.txt": "Ketamine acts within hours.",
            "claims/c.yaml": "statement: S.\nquotes:\n  - {text: Ketamine acts, source: article}\n",
        }
    )
    kb, _ = load_kb(root)
    assert propose(kb.claims["c"]) is None  # type: ignore[index]


def _codes(root: Path) -> dict[str, list[str]]:
    _kb, _g, problems = check_kb(root)
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.code, []).append(p.message)
    return out


def test_a_review_without_a_rating_gets_the_proposal_as_a_warning(make_kb: MakeKB) -> None:
    review = "review: {verdict: accurate, reviewer: team}\n"
    codes = _codes(_base(make_kb, _claim("unknown", review=review)))
    assert codes["attribution-missing"] == [
        "the review of c does not rate its quotes' attribution; the checks propose "
        "`attribution: unconfirmed` (from their origins and drift)"
    ]


def test_a_rating_better_than_the_origin_allows_is_flagged(make_kb: MakeKB) -> None:
    review = "review: {verdict: accurate, attribution: confirmed, reviewer: team}\n"
    codes = _codes(_base(make_kb, _claim("unknown", review=review)))
    assert "attribution-missing" not in codes
    assert codes["attribution-mismatch"] == [
        "the review of c rates the attribution confirmed, but its quotes' origins and drift "
        "support unconfirmed at best"
    ]


@pytest.mark.parametrize("rating", ["unconfirmed", "misattributed"])
def test_a_rating_as_bad_or_worse_is_the_reviewers_call(make_kb: MakeKB, rating: str) -> None:
    review = f"review: {{verdict: accurate, attribution: {rating}, reviewer: team}}\n"
    codes = _codes(_base(make_kb, _claim("unknown", review=review)))
    assert "attribution-mismatch" not in codes and "attribution-missing" not in codes


def test_a_rating_for_a_claim_without_a_speaker_is_flagged(make_kb: MakeKB) -> None:
    root = make_kb(
        {
            "experts/team.yaml": TEAM,
            "sources/article.yaml": ARTICLE,
            "sources/article.txt": "Ketamine acts within hours.",
            "claims/c.yaml": "statement: S.\nquotes:\n  - {text: Ketamine acts, source: article}\n"
            "review: {verdict: accurate, attribution: confirmed, reviewer: team}\n",
        }
    )
    assert _codes(root)["attribution-mismatch"] == [
        "the review of c rates an attribution, but no quote has a speaker"
    ]


def test_a_bad_rating_is_a_bad_value_at_its_place(make_kb: MakeKB) -> None:
    review = "review:\n  verdict: accurate\n  attribution: verified\n"
    _kb, problems = load_kb(_base(make_kb, _claim("unknown", review=review)))
    bad = [p for p in problems if p.code == "bad-value"]
    assert len(bad) == 1
    assert (bad[0].loc.path, bad[0].loc.line, bad[0].loc.col) == ("claims/c.yaml", 9, 16)
    assert "verified" in bad[0].message and "confirmed" in bad[0].message


SEARCHED = (
    "  searched:\n"
    "    - where: PubMed\n"
    "      what: benzodiazepine rebound anxiety\n"
    "      when: 2026-12-07\n"
)


@pytest.mark.parametrize("verdict", ["unsupported", "unverifiable"])
def test_nothing_found_needs_a_search_record(make_kb: MakeKB, verdict: str) -> None:
    bare = f"review:\n  verdict: {verdict}\n  attribution: unconfirmed\n  reviewer: team\n"
    codes = _codes(_base(make_kb, _claim("unknown", review=bare)))
    assert codes["searched-missing"] == [
        f"the review of c rates it {verdict} but records no search: add `searched:` "
        "(where, what, when)"
    ]
    root = _base(make_kb, _claim("unknown", review=bare + SEARCHED))
    assert "searched-missing" not in _codes(root)
    kb, _ = load_kb(root)
    (s,) = kb.claims["c"].review.searched  # type: ignore[index,union-attr]
    assert (s.place, s.what, s.when) == ("PubMed", "benzodiazepine rebound anxiety", "2026-12-07")


def test_a_search_needs_where_and_what_and_a_real_date(make_kb: MakeKB) -> None:
    review = "review:\n  verdict: unsupported\n  searched:\n    - what: x\n      when: 2026-13-01\n"
    _kb, problems = load_kb(_base(make_kb, _claim("unknown", review=review)))
    found = {(p.code, p.loc.line) for p in problems if p.severity is Severity.ERROR}
    assert ("missing-key", 10) in found  # the item without `where`
    assert ("bad-date", 11) in found


def test_kb_review_records_and_keeps_the_rating_and_the_search(
    make_kb: MakeKB, run_kb: RunKB
) -> None:
    review = "review:\n  verdict: unsupported\n  reviewer: team\n" + SEARCHED
    root = _base(make_kb, _claim("unknown", review=review))
    r = run_kb("-C", root, "review", "c", "--verdict", "unsupported", "--attribution",
               "unconfirmed", "--reviewer", "team", "--date", "2026-12-07")  # fmt: skip
    assert r.code == 0, r.err
    r = run_kb("-C", root, "review", "c", "--verdict", "unsupported", "--reviewer", "team",
               "--rationale", "Nothing found.", "--date", "2026-12-08")  # fmt: skip
    assert r.code == 0, r.err
    kb, problems = load_kb(root)
    assert not [p for p in problems if p.severity is Severity.ERROR]
    rv = kb.claims["c"].review  # type: ignore[index]
    assert rv is not None
    assert (rv.verdict, rv.attribution, rv.date, rv.rationale) == (
        "unsupported",
        "unconfirmed",
        "2026-12-08",
        "Nothing found.",
    )
    assert [(s.place, s.what, s.when) for s in rv.searched] == [
        ("PubMed", "benzodiazepine rebound anxiety", "2026-12-07")
    ]
    codes = _codes(root)
    assert not {"attribution-missing", "searched-missing", "stale-review"} & set(codes)


def _cite(run_kb: RunKB, root: Path, *args: str) -> Any:
    return run_kb("-C", root, "cite", "c", *args)


def test_kb_cite_refuses_unsupported_claims_like_disputed_ones(
    make_kb: MakeKB, run_kb: RunKB
) -> None:
    review = "review:\n  verdict: unsupported\n  reviewer: team\n  rationale: Nothing found.\n"
    root = _base(make_kb, _claim(TRACED, review=review + SEARCHED))
    r = _cite(run_kb, root)
    assert r.code == 1 and r.out == ""
    assert "c is rated unsupported: Nothing found." in r.err
    r = _cite(run_kb, root, "--allow-disputed")
    assert r.code == 0, r.err
    assert "Verdict: Unsupported (no evidence found either way). Nothing found." in r.out


def test_kb_cite_shows_the_attribution(make_kb: MakeKB, run_kb: RunKB) -> None:
    review = "review:\n  verdict: accurate\n  attribution: altered\n  reviewer: team\n"
    root = _base(make_kb, _claim(TRACED, review=review))
    r = _cite(run_kb, root)
    assert r.code == 0, r.err
    assert (
        "Attribution: Altered (the words were found earlier, but the quotation changes or cuts"
        " them)." in r.out
    )
    unrated = _base(make_kb, _claim("unknown", review="review: {verdict: accurate}\n"))
    r = _cite(run_kb, unrated)
    assert "Attribution: not rated by a reviewer; the checks propose Unconfirmed" in r.out
    r = _cite(run_kb, root, "--format", "html")
    assert '<p class="kb-cite-attribution">Attribution: Altered' in r.out


def test_claimreview_carries_the_attribution_as_a_review_of_the_claim(make_kb: MakeKB) -> None:
    review = "review:\n  verdict: mostly-accurate\n  attribution: unconfirmed\n  reviewer: team\n"
    kb, _ = load_kb(_base(make_kb, _claim("unknown", review=review)))
    cr = claim_review(kb, kb.claims["c"], None)  # type: ignore[index]
    assert cr["reviewRating"]["alternateName"] == "Mostly accurate"
    aspect = cr["itemReviewed"]["review"]
    assert aspect["@type"] == "Review" and aspect["reviewAspect"] == "attribution"
    assert aspect["reviewRating"]["alternateName"] == "Unconfirmed"
    assert aspect["author"]["name"] == "Review team"
    bare = _base(make_kb, _claim("unknown", review="review: {verdict: accurate}\n"))
    kb2, _ = load_kb(bare)
    assert "review" not in claim_review(kb2, kb2.claims["c"], None)["itemReviewed"]  # type: ignore[index]


def test_the_site_shows_the_rating_on_the_claim_page_and_in_the_audit_table(
    make_kb: MakeKB, run_kb: RunKB, tmp_path: Path
) -> None:
    review = "review:\n  verdict: unsupported\n  attribution: altered\n  reviewer: team\n"
    root = _base(make_kb, _claim(TRACED, review=review + SEARCHED))
    out = tmp_path / "site"
    r = run_kb("-C", root, "build", "--out", out)
    assert r.code == 0, r.err
    page = (out / "claims" / "c.html").read_text(encoding="utf-8")
    assert 'class="attribution-line">Attribution <span class="badge a-altered"' in page
    assert "the words were found earlier, but the quotation changes or cuts them." in page
    assert "PubMed: benzodiazepine rebound anxiety" in page
    audit = (out / "audit.html").read_text(encoding="utf-8")
    assert '<th scope="col" data-type="num" data-key="attribution">Attribution</th>' in audit
    assert '<td class="att" data-v="2"><span class="badge a-altered"' in audit
