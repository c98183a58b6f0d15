"""ClaimReview against Google's documented requirements, read as JSON-LD by PyLD.

Every review of the export is expanded against schema.org's context (tests/data/schemaorg, a
copy of the official file: no network). Expansion checks what plain JSON cannot: every term is
one schema.org defines (a misspelt property would expand through the context's @vocab to an IRI
the context does not define), every `url` is an IRI, and the properties Google requires for
fact-check rich results (claimReviewed, reviewRating with alternateName, url) and those it
recommends (author with name and url, datePublished, itemReviewed: a Claim with author,
datePublished, appearance, firstAppearance) are there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import RunKB
from pyld import jsonld

from kb.export import claimreview
from kb.export.claimreview import claim_review
from kb.model import ClaimId
from kb.pipeline import open_base

DATA = Path(__file__).resolve().parent / "data"
CONTEXT = json.loads((DATA / "schemaorg" / "schemaorgcontext.jsonld").read_text("utf-8"))
SCHEMA = "http://schema.org/"
TERMS = {k for k in CONTEXT["@context"] if not k.startswith("@")}


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
        return {"contentType": "application/ld+json", "contextUrl": None,
                "documentUrl": url, "document": CONTEXT}  # fmt: skip
    raise AssertionError(f"the test may load only schema.org's context, not {url}")


def expand(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = jsonld.expand(doc, {"documentLoader": _loader})
    return out


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every node object of an expanded document."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for n in node:
            found += _walk(n)
    elif isinstance(node, dict) and "@value" not in node:
        found.append(node)
        for k, v in node.items():
            if not k.startswith("@"):
                found += _walk(v)
    return found


def _one(node: dict[str, Any], prop: str) -> Any:
    values = node.get(SCHEMA + prop)
    assert values, f"no {prop} in {node.get('@type')}"
    return values[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("cr") / "kb"
    shutil.copytree(DATA / "valid", root)
    # a claim in a source's own voice: its Claim author is the source's publisher
    (root / "sources" / "agency-page.yaml").write_text(
        "type: webpage\ntitle: An agency's page\npublisher: Example Agency\n"
        "URL: https://example.org/agency\nissued: 2024-05-01\n"
    )
    (root / "claims" / "own-voice.yaml").write_text(
        "statement: The agency says so.\nevidence:\n  - {source: agency-page, stance: supports}\n"
        "quotes:\n  - {text: An agency's page, source: agency-page}\n"
        "review: {verdict: accurate, reviewer: ed-itor, date: 2026-03-01}\n"
    )
    # the reviewer also rates the attribution: a second Review, of the Claim itself
    nmda = root / "claims" / "nmda-blockade.yaml"
    nmda.write_text(
        nmda.read_text().replace(
            "  verdict: accurate\n", "  verdict: accurate\n  attribution: first-hand\n"
        )
    )
    return open_base(root)


def test_every_review_expands_with_google_required_and_recommended_properties(base: Any) -> None:
    doc = json.loads(claimreview.export(base.kb, base.graph, base.problems))
    reviewed = [c for c in base.kb.claims.values() if c.review]
    assert len(doc["@graph"]) == len(reviewed) >= 2
    expanded = expand(doc)
    reviews = [n for n in _walk(expanded) if n.get("@type") == [SCHEMA + "ClaimReview"]]
    assert len(reviews) == len(reviewed)
    for node in _walk(expanded):
        for key in node:
            if not key.startswith("@"):
                assert key.startswith(SCHEMA) and key[len(SCHEMA) :] in TERMS, key
        for kind in node.get("@type", []):
            assert kind.startswith(SCHEMA) and kind[len(SCHEMA) :] in TERMS, kind
    for r in reviews:
        # required
        assert _one(r, "claimReviewed")["@value"]
        assert _one(r, "url")["@id"].startswith("https://example.org/kb/claims/")  # an IRI
        rating = _one(r, "reviewRating")
        assert _one(rating, "alternateName")["@value"]
        # recommended
        author = _one(r, "author")
        assert _one(author, "name")["@value"] == "Ed Itor"
        assert _one(author, "url")["@id"] == "https://example.org/kb/experts/ed-itor.html"
        assert _one(r, "datePublished")["@value"]
        item = _one(r, "itemReviewed")
        assert item["@type"] == [SCHEMA + "Claim"]
        assert _one(_one(item, "author"), "name")["@value"]
        assert _one(item, "datePublished")["@value"]
        assert _one(_one(item, "appearance"), "url")["@id"].startswith("https://")
    aspects = [n for n in _walk(expanded) if SCHEMA + "reviewAspect" in n]
    assert [_one(a, "reviewAspect")["@value"] for a in aspects] == ["attribution"]
    assert _one(_one(aspects[0], "reviewRating"), "alternateName")["@value"]


def test_a_claim_in_a_sources_own_voice_has_its_publisher_as_author(base: Any) -> None:
    review = claim_review(base.kb, base.kb.claims[ClaimId("own-voice")], "https://kb.example/")
    item = review["itemReviewed"]
    assert item["author"] == {"@type": "Organization", "name": "Example Agency"}
    assert item["datePublished"] == "2024-05-01"
    assert review["url"] == "https://kb.example/claims/own-voice.html"
    nmda = claim_review(base.kb, base.kb.claims[ClaimId("nmda-blockade")], None)
    assert nmda["url"] == "../claims/nmda-blockade.html"  # relative without a base_url
    assert nmda["itemReviewed"]["firstAppearance"]["name"]


def test_export_warns_without_base_url(tmp_path: Path, run_kb: RunKB) -> None:
    root = tmp_path / "kb"
    shutil.copytree(DATA / "valid", root)
    (root / "kb.yaml").write_text("title: No address\n")
    r = run_kb("-C", root, "export", "claimreview")
    assert r.code == 0
    assert "kb.yaml has no base_url" in r.err and "Google requires absolute" in r.err
    assert '"url": "../claims/nmda-blockade.html"' in r.out


def test_each_claim_page_embeds_its_review_as_compact_json_safe_in_a_script(
    tmp_path: Path,
) -> None:
    """A claim page's JSON-LD is the export's review with "@context", in compact JSON with sorted
    keys and `<`, `>`, `&`, U+2028, U+2029 escaped: the same text as json.dumps makes, and
    nothing in it can end the script. A statement and a rationale carry each of those."""
    root = tmp_path / "kb"
    shutil.copytree(DATA / "valid", root)
    nmda = root / "claims" / "nmda-blockade.yaml"
    text = nmda.read_text()
    old = "\nstatement: Ketamine blocks NMDA receptors.\n"
    why = '  rationale: "Smith 2020 measured the blockade."\n'
    assert old in text and why in text
    nmda.write_text(
        text.replace(old, '\nstatement: "</script> <!-- & \\u2028 \\u2029 > blocks."\n').replace(
            why, "  rationale: a < b & c\n"
        )
    )
    opened = open_base(root)
    # the statement changed since its review: that warning, and nothing else
    found = {p.code for p in opened.problems if p.loc.path == "claims/nmda-blockade.yaml"}
    assert found == {"stale-review"}
    kb = opened.kb
    page = claimreview.reviews_of(kb)
    exported = json.loads(claimreview.export(kb, opened.graph, []))["@graph"]
    assert exported, "the bundled base has reviewed claims"
    for review in exported:
        cid = review["url"].rsplit("/", 1)[1].removesuffix(".html")
        got = page(cid)
        assert got is not None
        want = json.dumps(
            {"@context": "https://schema.org", **review},
            ensure_ascii=False, sort_keys=True, separators=(",", ":"),
        )  # fmt: skip
        for ch in "<>&\u2028\u2029":
            want = want.replace(ch, f"\\u{ord(ch):04x}")
        assert got == want, cid
        assert not set("<>&\u2028\u2029") & set(got)
    nmda_review = json.loads(page("nmda-blockade") or "")
    assert nmda_review["claimReviewed"] == "</script> <!-- & \u2028 \u2029 > blocks."
    assert nmda_review["reviewBody"] == "a < b & c"
    assert page("no-such-claim") is None
