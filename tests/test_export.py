"""Exports: each is read back by the real tool for its format and holds what the base holds."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import bibtexparser
import jsonschema
import networkx as nx
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors, SplitNameParts
from citedata import SOURCES, write_kb
from conftest import RunKB
from pylatexenc.latex2text import LatexNodes2Text

from kb.checks import run_checks
from kb.cite.csl import to_csl
from kb.cite.pandoc import pandoc_path
from kb.cite.styles import STYLES
from kb.export import FORMATS, export_files
from kb.export.bibtex import entry_type, fields
from kb.graph import build_graph
from kb.model import VERDICT_LABELS, KnowledgeBase
from kb.reading.load import load_kb

DATA = Path(__file__).resolve().parent / "data"
SPECIAL = r"Odd & ends: 100% of $5, #1, under_score, {braces}, ~tilde, ^caret, back\slash"
EXTRA_CLAIMS = {
    "claims/vague.yaml": "statement: Ketamine works for everyone.\nevidence:\n"
    "  - {source: smith-2020, stance: context}\n"
    "review: {verdict: unsupported, reviewer: ed-itor, date: 2026-02-01}\n",
    "claims/spin.yaml": "statement: '=1+1 is a formula, not a claim.'\n"
    "evidence:\n  - {source: smith-2020, stance: contradicts}\n"
    "review: {verdict: misleading, reviewer: ed-itor, date: 2026-02-02, rationale: Spin.}\n",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[KnowledgeBase, Any, list[Any]]:
    """The valid fixture, the twelve sample sources, one source full of LaTeX specials, and
    claims rated unsupported and misleading."""
    root = tmp_path_factory.mktemp("exports") / "kb"
    shutil.copytree(DATA / "valid", root)
    odd = {"type": "report", "title": SPECIAL, "author": [{"literal": "R&D Team #2"}],
           "URL": "https://example.org/a_b%20c?q={x}", "issued": "2020"}  # fmt: skip
    write_kb(root, {**SOURCES, "odd-2020": odd})
    for name, text in EXTRA_CLAIMS.items():
        (root / name).write_text(text)
    kb, problems = load_kb(root)
    assert not [p for p in problems if p.severity == "error"], [p.text() for p in problems]
    graph = build_graph(kb)
    return kb, graph, problems + run_checks(kb, graph)


@pytest.fixture(scope="module")
def files(base: tuple[KnowledgeBase, Any, list[Any]]) -> dict[str, bytes]:
    """Every export of the base."""
    return export_files(*base)


def test_export_files_are_the_six_of_the_spec_and_deterministic(base: Any, files: Any) -> None:
    """The SPEC's six files, the biblatex and claim-topics ones, the same bytes on every run."""
    assert sorted(files) == sorted(
        f"exports/{n}"
        for n in ("kb.csl.json", "kb.bib", "kb-biblatex.bib", "claimreview.jsonld",
                  "graph.graphml", "claims.csv", "claim-topics.csv", "audit.json")
    )  # fmt: skip
    assert export_files(*base) == files


def test_csl_json_is_valid_against_the_official_schema(base: Any, files: Any) -> None:
    """Valid CSL-JSON, CSL fields only, integer date-parts, one item per source."""
    kb = base[0]
    schema = json.loads((DATA / "csl-data.json").read_text())
    items = json.loads(files["exports/kb.csl.json"])
    jsonschema.validators.validator_for(schema)(schema).validate(items)
    assert [it["id"] for it in items] == sorted(kb.sources)
    kb_only = {"evidence_level", "snapshot", "snapshot_sha256", "snapshot_scope", "retracted"}
    assert not any(kb_only & set(it) for it in items)
    li = next(it for it in items if it["id"] == "li-2010")
    assert li["issued"] == {"date-parts": [[2010, 8, 20]]}
    assert li["author"][0] == {"family": "Li", "given": "Nanxin"}


def _latex(text: str) -> str:
    """LaTeX to text; kb writes a brace as \\textbraceleft{} or \\textbraceright{} (a lone one
    would unbalance the value), which pylatexenc does not know."""
    text = text.replace(r"\textbraceleft{}", "\x01").replace(r"\textbraceright{}", "\x02")
    plain = LatexNodes2Text().latex_to_text(text).replace("ˆ", "^").strip()
    return plain.replace("\x01", "{").replace("\x02", "}")


def test_bibtex_reads_back_with_the_same_entries_and_fields(base: Any, files: Any) -> None:
    """bibtexparser v2 reads every entry; titles, names, dates, URLs survive the escaping."""
    kb = base[0]
    text = files["exports/kb.bib"].decode()
    raw = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    decoded = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not raw.failed_blocks and not decoded.failed_blocks
    assert sorted(e.key for e in raw.entries) == sorted(kb.sources)
    plain = {e.key: e for e in decoded.entries}
    for entry in raw.entries:
        item = to_csl(kb.sources[entry.key])
        assert entry.entry_type == entry_type(item)
        assert [f.key for f in entry.fields] == [k for k, _ in fields(item)]  # nothing lost
        assert _latex(entry["title"]) == item["title"], entry.key
        creators = item.get("author") or item.get("director") or []
        got = entry["author"] if creators else []
        assert len(got) == len(creators)
        for parts, name in zip(got, creators, strict=True):
            if "literal" in name:
                assert _latex(" ".join(parts.last)) == name["literal"]
                continue
            assert _latex(" ".join(parts.last)).endswith(name["family"].split()[-1])
            assert _latex(" ".join(parts.first)) == name.get("given", "")
        if "issued" in item:
            assert plain[entry.key]["year"] == str(item["issued"]["date-parts"][0][0])
        if "URL" in item and "{" not in item["URL"]:
            assert entry["url"] == item["URL"]  # verbatim: not LaTeX-decoded
        if "DOI" in item:
            assert entry["doi"] == item["DOI"]
    assert "\\&" in text and "\\%" in text and "\\_" in text
    assert "\\textbraceleft{}braces\\textbraceright{}" in text
    assert _latex(raw.entries_dict["odd-2020"]["title"]) == SPECIAL
    assert plain["li-2010"]["journal"] == "Science"
    assert plain["li-2010"]["pages"] == "959–964"  # written 959--964
    assert raw.entries_dict["odd-2020"]["url"] == "https://example.org/a_b%20c?q=%7Bx%7D"
    assert decoded.entries_dict["fuente-2019"]["booktitle"] == "Handbook of “Rapid” Antidepressants"


def test_claimreview_for_every_reviewed_claim(base: Any, files: Any) -> None:
    """ClaimReview fields per SPEC: claim, speaker, appearance, origin, rating, reviewer, date."""
    kb = base[0]
    doc = json.loads(files["exports/claimreview.jsonld"])
    assert doc["@context"] == "https://schema.org"
    reviews = {r["url"].removeprefix("https://example.org/kb/"): r for r in doc["@graph"]}
    reviewed = sorted(c for c in kb.claims if kb.claims[c].review)
    assert sorted(reviews) == [f"claims/{c}.html" for c in reviewed]  # kb.yaml has a base_url
    nmda = reviews["claims/nmda-blockade.html"]
    assert nmda["@type"] == "ClaimReview"
    assert nmda["claimReviewed"] == kb.claims["nmda-blockade"].statement
    assert nmda["datePublished"] == "2026-01-10"
    assert nmda["author"] == {"@type": "Person", "name": "Ed Itor",
                              "url": "https://example.org/kb/experts/ed-itor.html"}  # fmt: skip
    item = nmda["itemReviewed"]
    assert item["@type"] == "Claim"
    assert item["author"]["name"] == "Jane Doe" and item["author"]["@type"] == "Person"
    assert item["appearance"]["url"] == "https://example.org/news/new-hope"
    assert item["firstAppearance"]["name"] == "Ketamine and the synapse"
    assert nmda["reviewRating"] == {"@type": "Rating", "ratingValue": 5, "bestRating": 5,
                                    "worstRating": 1, "alternateName": "Accurate"}  # fmt: skip
    spin = reviews["claims/spin.html"]["reviewRating"]
    assert (spin["ratingValue"], spin["alternateName"]) == (2, VERDICT_LABELS["misleading"])
    vague = reviews["claims/vague.html"]["reviewRating"]
    assert vague == {"@type": "Rating", "alternateName": "Unsupported"}


def test_claimreview_urls_are_relative_without_base_url(base: Any) -> None:
    """Without kb.yaml's base_url, ClaimReview urls are relative to the exports folder."""
    kb, graph, problems = base
    from dataclasses import replace

    local = KnowledgeBase(kb.root, replace(kb.config, base_url=None), kb.claims, kb.experts,
                          kb.sources)  # fmt: skip
    doc = json.loads(export_files(local, graph, problems)["exports/claimreview.jsonld"])
    assert "../claims/nmda-blockade.html" in {r["url"] for r in doc["@graph"]}
    appearance = doc["@graph"][0]["itemReviewed"]["appearance"]
    assert appearance["mainEntityOfPage"].startswith("../sources/")


def test_graphml_loads_in_networkx_with_the_same_counts(base: Any, files: Any) -> None:
    """networkx reads the GraphML back: same nodes and edges, types kept, no None."""
    graph = base[1]
    back = nx.read_graphml(io.BytesIO(files["exports/graph.graphml"]), force_multigraph=True)
    assert back.is_directed()
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    assert back.nodes["claim:nmda-blockade"]["type"] == "claim"
    assert back.nodes["source:li-2010"]["label"] == SOURCES["li-2010"]["title"]
    assert b"None" not in files["exports/graph.graphml"]


def test_claims_csv_has_a_row_per_claim(base: Any, files: Any) -> None:
    """One row per claim with verdict and counts; a formula-like statement is defused."""
    kb = base[0]
    rows = list(csv.DictReader(io.StringIO(files["exports/claims.csv"].decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == sorted(kb.claims)
    by_id = {r["id"]: r for r in rows}
    assert by_id["nmda-blockade"]["verdict"] == "accurate"
    assert by_id["nmda-blockade"]["speakers"] == "jane-doe"
    assert by_id["spin"]["statement"].startswith("'=1+1")
    assert by_id["vague"]["rating"] == ""


def test_audit_json_lists_every_problem(base: Any, files: Any) -> None:
    """Every problem with its place and subject; a status per claim; a summary."""
    kb, _, problems = base
    audit = json.loads(files["exports/audit.json"])
    assert len(audit["problems"]) == len(problems)
    assert audit["summary"]["claims"] == len(kb.claims)
    assert audit["summary"]["verdicts"]["misleading"] == 1
    assert {c["id"] for c in audit["claims"]} == set(kb.claims)


def test_kb_export_command(base: Any, files: Any, run_kb: RunKB, tmp_path: Path) -> None:
    """`kb export FORMAT -o FILE` writes the same bytes as the build; a bad format is usage."""
    root = base[0].root
    out = tmp_path / "refs.bib"
    r = run_kb("-C", root, "export", "bibtex", "-o", out)
    assert r.code == 0, r.err
    assert out.read_bytes() == files["exports/kb.bib"]
    r = run_kb("-C", root, "export", "graphml")
    assert r.code == 0 and r.out == files["exports/graph.graphml"].decode()
    r = run_kb("-C", root, "export", "bibtx")
    assert r.code == 2 and "did you mean 'bibtex'" in r.err
    assert set(FORMATS) == {
        "csl-json",
        "bibtex",
        "biblatex",
        "claimreview",
        "graphml",
        "csv",
        "claim-topics",
        "audit",
    }


def test_writer_flow_pandoc_citeproc_with_kb_csl_json(files: Any, tmp_path: Path) -> None:
    """docs/citations.md: a Markdown draft citing [@id] renders against kb.csl.json."""
    (tmp_path / "kb.csl.json").write_bytes(files["exports/kb.csl.json"])
    draft = tmp_path / "draft.md"
    draft.write_text("Ketamine acts within hours [@li-2010; @fda-2019, p. 3].\n\n# References\n")
    done = subprocess.run(
        [pandoc_path(), str(draft), "--citeproc", "--bibliography", "kb.csl.json",
         "--csl", STYLES["apa"], "-t", "plain", "--wrap=none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    cite = "(Li et al., 2010; Spravato (Esketamine) Nasal Spray: Summary Review, 2019, p. 3)"
    assert cite in done.stdout
    assert "Li, N., Lee, B., & Liu, R.-J. (2010). mTOR-dependent synapse formation" in done.stdout
    assert "not found" not in done.stderr
