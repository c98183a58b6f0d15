"""`kb list` and `kb show`; people of each kind (experts, reviewers, others); first-hand quotes."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import MakeKB, RunKB
from sitecrawl import REPO, render

from kb.reading.load import load_kb

SNAPSHOT = (
    "Local news\n\n"
    "The clinic opened in May. “It changed my life,” said Ann Parent, whose son was treated.\n\n"
    "Dr. Bo Expert said the drug blocks NMDA receptors.\n"
)


@pytest.fixture
def people(make_kb: MakeKB) -> Path:
    """A base with an expert, a parent quoted first-hand, a reviewer, and two claims."""
    return make_kb(
        {
            "sources/news.yaml": "type: article-newspaper\ntitle: Local news\n",
            "sources/news.txt": SNAPSHOT,
            "experts/bo-expert.yaml": "name: Bo Expert\ncredentials: MD\n",
            "experts/ann-parent.yaml": "name: Ann Parent\nkind: person\n",
            "experts/desk.yaml": (
                "name: Fact-check desk\nkind: reviewer\naffiliation: Example Newsroom\n"
                "credentials: Science editors\n"
            ),
            "claims/life-changed.yaml": (
                "statement: The treatment changed a patient's life.\ntopics: [stories]\n"
                "quotes:\n  - text: It changed my life\n    source: news\n"
                "    speaker: ann-parent\n    origin: first-hand\n"
            ),
            "claims/blocks-nmda.yaml": (
                "statement: The drug blocks NMDA receptors.\ntopics: [mechanism]\n"
                "quotes:\n  - text: the drug blocks NMDA receptors\n    source: news\n"
                "    speaker: bo-expert\n    origin: unknown\n"
                "evidence:\n  - {source: news, stance: context}\n"
                "review:\n  verdict: misleading\n  reviewer: desk\n  date: 2026-01-02\n"
                "  rationale: Only one clinic.\n"
                "  history:\n    - {verdict: accurate, reviewer: desk, date: 2026-01-01}\n"
            ),
        }
    )


def test_first_hand_quotes_count_as_traced(run_kb: RunKB, people: Path) -> None:
    out = run_kb("-C", people, "check").out
    lines = [ln for ln in out.splitlines() if ln.startswith("claims/life-changed.yaml")]
    codes = [ln.rsplit("[", 1)[1].rstrip("]") for ln in lines]
    assert codes == ["no-evidence", "unreviewed"]  # no origin-unknown, no quote-untraced
    assert "[origin-unknown]" in out  # the other quote's origin is unknown: still said


def test_list_filters(run_kb: RunKB, people: Path) -> None:
    def ids(*args: str) -> list[str]:
        r = run_kb("-C", people, "list", *args, "--format", "json")
        assert r.code == 0, r.err
        return [row.get("id") or row.get("topic") for row in json.loads(r.out)]

    assert ids() == ["blocks-nmda", "life-changed"]
    assert ids("--verdict", "misleading") == ["blocks-nmda"]
    assert ids("--unreviewed") == ["life-changed"]
    assert ids("--verdict", "unreviewed") == ["life-changed"]
    assert ids("--speaker", "ann-parent") == ["life-changed"]
    assert ids("--topic", "mechanism") == ["blocks-nmda"]
    assert ids("--problem", "origin-unknown") == ["blocks-nmda"]
    assert ids("--source", "news", "--verdict", "accurate") == []
    assert ids("experts") == ["bo-expert"]  # no reviewer, no parent
    assert ids("people") == ["ann-parent", "bo-expert", "desk"]
    assert ids("experts", "--topic", "stories") == []
    assert ids("topics", "--verdict", "misleading") == ["mechanism"]
    assert ids("sources", "--speaker", "ann-parent") == ["news"]


def test_list_formats(run_kb: RunKB, people: Path) -> None:
    r = run_kb("-C", people, "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [(x["id"], x["verdict"], x["reviewer"]) for x in rows] == [
        ("blocks-nmda", "misleading", "desk"),
        ("life-changed", "unreviewed", ""),
    ]
    text = run_kb("-C", people, "list").out.splitlines()
    assert re.match(r"blocks-nmda +misleading +The drug blocks NMDA receptors\.$", text[0])


def test_json_of_list_and_show_is_inert_in_a_terminal(run_kb: RunKB, make_kb: MakeKB) -> None:
    """A statement holding a right-to-left override (which reorders what a terminal shows) is
    printed by `kb list` and `kb show` as `\\u202e` in their JSON, which reads back the same."""
    import json

    root = make_kb({"claims/odd.yaml": 'statement: "Safe \\u202e efas"\n'})
    for args in (["list", "--format", "json"], ["show", "odd", "--format", "json"]):
        r = run_kb("-C", root, *args)
        assert r.code in (0, 1) and "\u202e" not in r.out and "\\u202e" in r.out
        got = json.loads(r.out)
        statement = got[0]["statement"] if isinstance(got, list) else got["statement"]
        assert statement == "Safe \u202e efas"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "newz"], "no source 'newz' (did you mean 'news'?)"),
        (["--speaker", "bo-exprt"], "did you mean 'bo-expert'"),
        (["--problem", "orphan-sorce"], "did you mean 'orphan-source'"),
        (["--topic", "mechanisms"], "did you mean 'mechanism'"),
        (["--verdict", "great"], "invalid choice"),
    ],
)
def test_list_refuses_a_filter_that_names_nothing(
    run_kb: RunKB, people: Path, args: list[str], message: str
) -> None:
    r = run_kb("-C", people, "list", *args)
    assert r.code == 2 and message in r.err, r.err


def test_show_a_claim(run_kb: RunKB, people: Path) -> None:
    r = run_kb("-C", people, "show", "blocks-nmda")
    assert r.code == 0, r.err
    out = r.out
    assert out.startswith("blocks-nmda: The drug blocks NMDA receptors.\n")
    assert (
        "verdict: Misleading by Fact-check desk (Example Newsroom; Science editors), 2026-01-02"
        in out
    )
    assert (
        "  earlier: accurate by Fact-check desk (Example Newsroom; Science editors), 2026-01-01"
        in out
    )
    assert "1. “the drug blocks NMDA receptors”" in out
    assert "speaker: Bo Expert; verified in the snapshot" in out
    assert "news: context (direct)" in out
    assert re.search(
        r"^  claims/blocks-nmda\.yaml:\d+:\d+: warning: .*\[origin-unknown\]$", out, re.M
    )
    data = json.loads(run_kb("-C", people, "show", "claim:blocks-nmda", "--format", "json").out)
    assert data["history"][0]["verdict"] == "accurate"


def test_show_marks_a_quote_not_found(run_kb: RunKB, people: Path) -> None:
    (people / "sources" / "news.txt").write_text(SNAPSHOT.replace("blocks", "binds"))
    out = run_kb("-C", people, "show", "blocks-nmda").out
    assert "NOT FOUND in the snapshot" in out and "[quote-not-found]" in out


def test_show_a_source_a_person_and_a_topic(run_kb: RunKB, people: Path) -> None:
    out = run_kb("-C", people, "show", "news").out
    lines = out.splitlines()
    i = lines.index("claims quoted from it, in the order of its text (2):")
    assert lines[i + 1].startswith("  life-changed [unreviewed] (line 3)")
    assert lines[i + 2].startswith("  blocks-nmda [misleading] (line 5)")
    assert "  blocks-nmda [misleading]: context" in out
    out = run_kb("-C", people, "show", "desk").out
    assert out.startswith("desk (reviewer): Fact-check desk\n  Example Newsroom; Science editors\n")
    assert "  blocks-nmda: misleading, 2026-01-02\n" in out
    assert "  blocks-nmda: accurate, 2026-01-01 (earlier)\n" in out
    out = run_kb("-C", people, "show", "ann-parent").out
    assert out.startswith("ann-parent (person): Ann Parent\n")
    assert "life-changed (news): “It changed my life”" in out
    out = run_kb("-C", people, "show", "topic:stories").out
    assert "life-changed [unreviewed]" in out


def test_show_an_ambiguous_or_unknown_id(run_kb: RunKB, people: Path) -> None:
    (people / "experts" / "news.yaml").write_text("name: News Person\n")
    r = run_kb("-C", people, "show", "news")
    assert r.code == 2 and "write source:news or expert:news" in r.err
    r = run_kb("-C", people, "show", "blocks-nmd")
    assert r.code == 2 and "did you mean 'blocks-nmda'" in r.err


def test_a_kind_that_does_not_exist_is_bad_value(run_kb: RunKB, people: Path) -> None:
    (people / "experts" / "ann-parent.yaml").write_text("name: Ann Parent\nkind: parent\n")
    out = run_kb("-C", people, "check").out
    assert re.search(r"^experts/ann-parent\.yaml:2:7: error: .*\[bad-value\]$", out, re.M)


def test_people_on_the_site(people: Path) -> None:
    files = render(people)
    experts = files["experts.html"].decode()
    assert "Bo Expert" in experts
    assert "Fact-check desk" not in experts and "Ann Parent" not in experts
    desk = files["experts/desk.html"].decode()
    assert '<p class="kicker">Reviewer</p>' in desk and "Example Newsroom" in desk
    assert "Claims they reviewed" in desk and "(earlier review)" in desk
    assert "Verified roles" not in desk
    parent = files["experts/ann-parent.html"].decode()
    assert '<p class="kicker">Person</p>' in parent and "Verified roles" not in parent
    claim = files["claims/blocks-nmda.html"].decode()
    assert "(Example Newsroom, Science editors)" in claim
    assert "Earlier reviews" in claim
    life = files["claims/life-changed.html"].decode()
    assert "First-hand: the source heard the speaker itself." in life
    graph = files["graph.html"].decode()
    assert re.search(r'name="edge" value="reviewed-by">', graph)  # not checked: not drawn
    assert re.search(r'name="edge" value="spoken-by" checked>', graph)


def test_the_bundled_base(run_kb: RunKB, tmp_path: Path) -> None:
    """The issue's test: list exactly the misleading claims; show the article's claims in the
    order of its text; no reviewer among the experts."""
    root = tmp_path / "kb"
    for name in ("claims", "experts", "sources"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "kb.yaml", root / "kb.yaml")
    kb = load_kb(root)[0]
    misleading = sorted(c for c, x in kb.claims.items() if x.verdict == "misleading")
    r = run_kb("-C", root, "list", "--verdict", "misleading", "--format", "json")
    assert [row["id"] for row in json.loads(r.out)] == misleading and misleading
    out = run_kb("-C", root, "show", "nybh-ketamine").out
    lines = re.findall(r"^  [a-z0-9-]+ \[[a-z-]+\] \(line (\d+)\)", out, re.M)
    assert len(lines) >= len([c for c in kb.claims.values() if c.quotes]) - 1
    assert [int(n) for n in lines] == sorted(int(n) for n in lines)
    r = run_kb("-C", root, "list", "experts", "--format", "json")
    listed = {row["id"] for row in json.loads(r.out)}
    reviewers = {c.review.reviewer for c in kb.claims.values() if c.review}
    assert listed and not listed & reviewers
    assert all(kb.experts[r].kind == "reviewer" for r in reviewers if r)  # type: ignore[index]
