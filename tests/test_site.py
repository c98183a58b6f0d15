"""The rendered site: every link and anchor resolves, output is deterministic, data stays inert."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sitecrawl import DATA, GOLDEN_KB, REPO, crawl, js_data, parse, render

from kb.checks import run_checks
from kb.graph import build_graph
from kb.reading.load import load_kb
from kb.site.jinja import CSP
from kb.site.marks import Highlight, highlighted
from kb.site.render import pages, render_page, render_site
from kb.site.sitedata import layout
from kb.site.state import prepare
from kb.urls import link, relative

HOSTILE_KB = DATA / "hostile" / "inject"


@pytest.fixture(scope="module")
def golden() -> dict[str, bytes]:
    """The golden knowledge base, rendered."""
    return render(GOLDEN_KB)


@pytest.fixture(scope="module")
def shipped() -> dict[str, bytes]:
    """The knowledge base shipped at the top of the repository, rendered."""
    return render(REPO)


@pytest.fixture(scope="module")
def hostile() -> dict[str, bytes]:
    """A knowledge base whose every string is an attack, rendered."""
    return render(HOSTILE_KB)


@pytest.mark.parametrize("which", ["golden", "shipped", "hostile"])
def test_every_link_and_anchor_resolves(which: str, request: pytest.FixtureRequest) -> None:
    """Crawl from index.html: every href and src names a file, every #anchor an id there."""
    files: dict[str, bytes] = request.getfixturevalue(which)
    result = crawl(files)
    assert result.broken == []
    html = {p for p in files if p.endswith(".html")}
    assert html - result.reached == set(), "every page is reachable from the dashboard"


def test_the_pages_spec_lists_are_written(golden: dict[str, bytes]) -> None:
    """index, audit, graph, and a page per claim, expert, source and topic."""
    kb, _ = load_kb(GOLDEN_KB)
    expected = {"index.html", "audit.html", "graph.html", "search-index.js", "graph-data.js"}
    expected |= {f"claims/{c}.html" for c in kb.claims}
    expected |= {f"experts/{e}.html" for e in kb.experts}
    expected |= {f"sources/{s}.html" for s in kb.sources}
    expected |= {f"topics/{t}.html" for t in kb.topics().values()}
    assert expected <= set(golden)
    assert "static/livereload.js" not in golden, "live reload is served by kb serve only"


def test_every_page_carries_the_csp_and_no_inline_code(shipped: dict[str, bytes]) -> None:
    """A CSP meta on every page; scripts only by src; no style attributes, style tags or on*."""
    for path, data in shipped.items():
        if not path.endswith(".html"):
            continue
        page = parse(data)
        assert page.meta_csp == [CSP], path
        assert data.index(b"Content-Security-Policy") < data.index(b"<script"), path
        for attrs, body in page.scripts:
            assert attrs.get("src") and not body.strip(), path
        assert (page.styles, page.style_attrs, page.handlers) == (0, 0, []), path
        for attr, url in page.links:
            assert "://" not in url or url.startswith(("https://", "http://")), (path, url)
            if attr != "a.href":  # scripts, styles, icons: never from the network
                assert "://" not in url and not url.startswith("//"), (path, attr, url)
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert "connect-src 'none'" in CSP and "default-src 'none'" in CSP


def test_render_is_deterministic(golden: dict[str, bytes]) -> None:
    """The same input renders to the same bytes, in this process and under other hash seeds."""
    assert render(GOLDEN_KB) == golden
    script = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]); from sitecrawl import render, "
        "GOLDEN_KB; fs = render(GOLDEN_KB); "
        "print(hashlib.sha256(b''.join(k.encode() + v for k, v in sorted(fs.items()))).hexdigest())"
    )
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env.pop("SOURCE_DATE_EPOCH", None)
        out = subprocess.run(
            [sys.executable, "-c", script, str(Path(__file__).parent)],
            env=env, capture_output=True, text=True, check=True, cwd=REPO,
        )  # fmt: skip
        digests.add(out.stdout.strip())
    mine = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(golden.items()))).hexdigest()
    assert digests == {mine}


def test_build_date_appears_only_with_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """No wall clock: the date comes from SOURCE_DATE_EPOCH when it is set, else is left out."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert b"<time" not in render(GOLDEN_KB)["topics.html"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert b'<time datetime="2026-01-01">' in render(GOLDEN_KB)["topics.html"]


def test_pages_render_one_at_a_time() -> None:
    """`pages` lists every page and `render_page` gives the same bytes as the whole render."""
    kb, problems = load_kb(GOLDEN_KB)
    graph = build_graph(kb)
    problems += run_checks(kb, graph)
    whole = render_site(kb, graph, problems, {})
    site = prepare(kb, graph, problems, {})
    listed = pages(site)
    assert {p.path for p in listed} == {p for p in whole if p.endswith(".html")}
    for page in listed:
        assert render_page(site, page) == whole[page.path]


def test_hostile_strings_stay_inert(hostile: dict[str, bytes]) -> None:
    """Markup, template syntax and odd separators in the data show as text and run nowhere."""
    for path, data in hostile.items():
        text = data.decode("utf-8")
        if path.endswith(".html"):
            page = parse(data)
            assert "alert(" not in "".join(body for _, body in page.scripts), path
            assert page.handlers == [] and page.style_attrs == 0, path
            for _, url in page.links:
                assert not url.lower().lstrip().startswith(("javascript:", "data:")), (path, url)
            assert "<script>alert" not in text and "<img src=x" not in text, path
            assert "<iframe" not in text and "<svg onload" not in text, path
        elif path.endswith(".js") and not path.startswith("static/"):
            assert not any(c in text for c in "<>&\u2028\u2029"), path
            js_data(data)  # still valid JSON after escaping
    claim = hostile["claims/inject.html"].decode()
    assert "{{ 7*7 }}" in claim and "${7*7}" in claim, "template syntax in data shows literally"
    assert "&lt;script&gt;alert(&#34;statement&#34;)&lt;/script&gt;" in claim
    second = hostile["claims/second.html"].decode()
    assert "{% for x in range(10) %}{{ x }}{% endfor %}" in second
    assert "{{ 7*7 }}" in hostile["index.html"].decode()


def test_quotes_and_highlights_link_both_ways(golden: dict[str, bytes]) -> None:
    """A claim's quote links to its <mark> on the source page, and the mark's link leads back."""
    claim = golden["claims/nmda-blockade.html"].decode()
    source = golden["sources/example-news.html"].decode()
    assert 'id="q-nmda-blockade-1"' in claim
    assert 'href="../sources/example-news.html#q-nmda-blockade-1"' in claim
    # the mark is coloured by its claim's verdict; the number after it says the verdict and why
    assert '<mark class="hl hl-v hl-accurate" id="q-nmda-blockade-1">' in source
    assert (
        'class="hl-ref hl-accurate" href="../claims/nmda-blockade.html#q-nmda-blockade-1"' in source
    )
    origin = golden["sources/doe-lecture.html"].decode()
    assert '<mark class="hl hl-v hl-origin" id="o-nmda-blockade-1">' in origin


def test_search_index_finds_every_record_by_its_words(golden: dict[str, bytes]) -> None:
    """Every claim, expert, source and topic is a document; a word of a quote finds its claim."""
    name, index = js_data(golden["search-index.js"])
    assert name == "KB_SEARCH"
    kb, _ = load_kb(GOLDEN_KB)
    assert len(index["docs"]) == len(kb.claims) + len(kb.experts) + len(kb.sources) + len(
        kb.topics()
    )
    words = index["words"]
    assert words == sorted(words)
    hits = index["postings"][words.index("hours")]
    assert ["claim", "claims/rapid-onset.html"] in [
        [index["docs"][d][0], index["docs"][d][2]] for d in hits
    ]


def test_graph_data_has_a_layout_for_every_node(golden: dict[str, bytes]) -> None:
    """Every node has finite coordinates and a page; edges are index triples."""
    name, data = js_data(golden["graph-data.js"])
    assert name == "KB_GRAPH"
    n = len(data["ids"])
    assert all(len(col) == n for col in data["nodes"].values())
    assert all(math.isfinite(v) for v in data["nodes"]["x"] + data["nodes"]["y"])
    assert all(url in golden for url in data["nodes"]["url"])
    assert len(data["edges"]) % 3 == 0 and max(data["edges"][:-1:3]) < n


def test_layout_is_deterministic_and_separates_nodes() -> None:
    """The precomputed layout gives the same places every time, and no two nodes coincide."""
    kb, _ = load_kb(REPO)
    graph = build_graph(kb)
    first, second = layout(graph), layout(graph)
    assert first == second
    assert len({(round(x), round(y)) for x, y in first.values()}) == len(first)


def test_link_is_relative_for_site_paths() -> None:
    """urls.link gives the same links as urls.relative for every page depth the site has."""
    targets = [
        "index.html",
        "claims/a.html",
        "sources/b.html",
        "static/site.css",
        "claims/x/y.html",
    ]
    for here in ["index.html", "claims/a.html", "topics/t.html", "claims/x/z.html"]:
        for target in targets:
            assert link(target, here) == relative(target, here)


def test_overlapping_highlights_keep_every_id() -> None:
    """Two highlights that overlap are split into runs; both ids and both back links remain."""
    text = "one two three four five"
    marks = [
        Highlight(4, 13, "q-a-1", "a", 0, False, 1),  # type: ignore[arg-type]
        Highlight(8, 18, "q-b-1", "b", 0, False, 2),  # type: ignore[arg-type]
        Highlight(8, 13, "q-c-1", "c", 0, False, 3),  # type: ignore[arg-type]
    ]
    html = str(highlighted(text, marks, {m.anchor: f"x#{m.anchor}" for m in marks}))
    assert html.count("<mark") == 3 and 'id="q-a-1"' in html
    assert 'id="q-b-1"' in html and 'id="q-c-1"' in html
    assert html.count('class="hl-ref"') == 3
    assert html.replace("</mark>", "").count("five") == 1


@dataclass(frozen=True)
class FakeCitation:
    """Stands in for kb.cite.claims.Citation."""

    style: str
    source: str
    reference_html: str
    reference_text: str
    intext: str


def test_citations_show_and_unsafe_reference_html_is_dropped() -> None:
    """A citation's HTML is used when it holds inline markup only, else its escaped text."""
    good = FakeCitation("apa", "smith-2020", "Smith, A. (2020). <i>Rapid</i>.", "Smith (2020).",
                        "(Smith, 2020)")  # fmt: skip
    bad = FakeCitation("apa", "example-news", 'W. <img src=x onerror="alert(1)">', "W <b>",
                       "(Writer, 2024)")  # fmt: skip
    files = render(GOLDEN_KB, {"apa": {"smith-2020": good, "example-news": bad}})
    smith = files["sources/smith-2020.html"].decode()
    assert "Smith, A. (2020). <i>Rapid</i>." in smith
    news = files["sources/example-news.html"].decode()
    assert "<img" not in news and "W &lt;b&gt;" in news
    claim = files["claims/nmda-blockade.html"].decode()
    assert "Cite this" in claim and "(Writer, 2024)" in claim


def test_parallel_render_gives_the_same_bytes(
    golden: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Rendering in forked worker processes (write_files) gives exactly the serial result."""
    import kb.fast.workers
    import kb.site.render
    from kb.output import SiteWriter
    from kb.site.state import build_date_from_env, prepare

    monkeypatch.setattr(kb.fast.workers, "PARALLEL_MIN", 1)
    monkeypatch.setattr(kb.fast.workers, "SHARE_MAX", 2)  # more, smaller shares than asked for
    kb_, problems = load_kb(GOLDEN_KB)
    graph = build_graph(kb_)
    problems += run_checks(kb_, graph)
    site = prepare(kb_, graph, problems, {}, build_date=build_date_from_env())
    todo = kb.site.render.pages(site)
    producers = [("assets", lambda: kb.site.render.assets(site))]
    producers += kb.fast.workers.page_producers(site, todo, shares=4)
    heavy = [p for p in todo if p.kind not in ("claim", "expert", "source")]
    assert len(producers) == 1 + len(heavy) + -(-(len(todo) - len(heavy)) // 2)
    with SiteWriter(tmp_path / "site") as writer:
        staging = writer.staging()
        placed, _ = kb.fast.workers.write_files(producers, staging, jobs=2, pages=len(todo))
        got = {path: (staging.tmp / path).read_bytes() for path, _, _, _ in placed}
    assert dict(sorted(got.items())) == golden


def test_dependencies_name_what_a_record_page_shows() -> None:
    """Neighbours for record pages; a topic page also depends on its claims' neighbours."""
    from kb.site.pages import Page, dependencies

    kb_, problems = load_kb(GOLDEN_KB)
    graph = build_graph(kb_)
    site = prepare(kb_, graph, problems, {})
    deps = dependencies(site, Page("claims/nmda-blockade.html", "claim", "nmda-blockade"))
    assert {"claim:nmda-blockade", "expert:jane-doe", "source:doe-lecture"} <= deps
    assert "expert:jane-doe" in dependencies(
        site, Page("topics/mechanism.html", "topic", "mechanism")
    )
    assert dependencies(site, Page("index.html", "index")) == set()


def test_long_tables_keep_unchanged_chunks_in_a_long_running_process() -> None:
    """In a long-running process (with caches), the audit tables draw again only the chunks of
    rows that changed since the last build, and the markup is what drawing them all gives."""
    from types import SimpleNamespace

    import kb.site.jinja

    def rows(edited: int | None = None) -> list[tuple[object, ...]]:
        return [
            (f"c{i}", f"Statement {i}{' edited' if i == edited else ''}", f"c{i}.html",
             "accurate", 0, "Why.", "Ed <Itor>" if i % 2 else None, "../experts/ed.html", "",
             i % 3, 0, "confirmed" if i % 2 else "", 0 if i % 2 else 5, "")
            for i in range(450)
        ]  # fmt: skip

    once, kept = SimpleNamespace(caches=None), SimpleNamespace(caches={}, drawn={})
    first = kb.site.jinja.table(kept, "claim_rows", rows())  # type: ignore[arg-type]
    assert first == kb.site.jinja.table(once, "claim_rows", rows())  # type: ignore[arg-type]
    assert "Ed &lt;Itor&gt;" in first and first.count("<tr ") == 450
    kept.caches, kept.drawn = kept.drawn, {}  # as the build keeps them for the next one
    before = list(kept.caches["rows:claim_rows"].values())
    second = kb.site.jinja.table(kept, "claim_rows", rows(edited=250))  # type: ignore[arg-type]
    assert second == kb.site.jinja.table(once, "claim_rows", rows(edited=250))  # type: ignore[arg-type]
    after = list(kept.drawn["rows:claim_rows"].values())
    assert [a is b for a, b in zip(before, after, strict=True)] == [True, False, True]
    same = [("error", "E", "code", "m", "a:1:1", "a", 1, None, None, None)] * 400  # equal chunks
    drawn = kb.site.jinja.table(kept, "problem_rows", same)  # type: ignore[arg-type]
    assert drawn.count("<tr ") == 400


def test_a_hub_draws_its_first_neighbours_in_order_and_counts_the_rest(tmp_path: Path) -> None:
    """A node with more neighbours than a drawing holds (the reviewer of every claim) draws the
    first 24 by kind, then label, then id, and says how many more there are."""
    import re

    from conftest import generate_kb

    from kb.site.localgraph import local_graph
    from kb.site.present import Links

    root = generate_kb(tmp_path / "kb", claims=80)
    kb_, problems = load_kb(root)
    graph = build_graph(kb_)
    site = prepare(kb_, graph, [*problems, *run_checks(kb_, graph)], {})
    hub = max(site.node_data, key=lambda n: len(site.links_of(n)))
    others = site.links_of(hub)
    assert len(others) > 30
    rank = {"claim": 0, "source": 1, "expert": 2, "topic": 3}
    want = sorted(
        others,
        key=lambda n: (rank[graph.nodes[n]["type"]], str(graph.nodes[n]["label"]).casefold(), n),
    )[:24]
    drawn = local_graph(site, hub, Links("experts/x.html"))
    assert drawn is not None
    assert drawn["total"] == len(others) and drawn["more"] == len(others) - 24
    hrefs = re.findall(r'<a href="([^"]+)"', str(drawn["svg"]))
    assert hrefs == [Links("experts/x.html").node(n) for n in want]


def test_the_evidence_table_has_a_locator_column_only_when_an_item_has_one(
    golden: dict[str, bytes],
) -> None:
    """A column that would be empty on every row is left out of a claim's evidence table."""
    with_one = golden["claims/nmda-blockade.html"].decode()
    without = golden["claims/rapid-onset.html"].decode()
    assert '<th scope="col">Locator</th>' in with_one and "<td>p. 101</td>" in with_one
    assert 'class="data stackable evidence"' in without
    assert '<th scope="col">Locator</th>' not in without


def test_topic_pages_are_named_readably_in_any_script() -> None:
    """A topic's page name is its text in lower-case ASCII: other scripts are transliterated
    (they once lost every letter that was not ASCII: `für` gave `f-r`, `健康` gave `topic`);
    clashes are numbered in sorted order, and nothing leads out of topics/."""
    from kb.urls import slugify, topic_slugs

    assert slugify("Gesundheit für Ältere") == "gesundheit-fur-altere"
    assert slugify("健康") == "jiankang" and slugify("Астахова") == "astakhova"
    assert slugify("Mental health") == "mental-health" and slugify("—") == "topic"
    assert slugify("../../etc") == "etc"
    assert topic_slugs(["ä-b", "a-b", "A B"]) == {"A B": "a-b", "a-b": "a-b-2", "ä-b": "a-b-3"}


@given(
    st.lists(
        st.one_of(st.from_regex(r"\A[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?\Z"), st.text(max_size=6)),
        max_size=12,
    )
)
def test_the_latest_reviews_sort_newest_first(dates: list[str]) -> None:
    """The dashboard's key sorts dates (and any text) as negating each code point does."""
    from kb.site.render import _negated

    by_points = sorted(dates, key=lambda d: tuple(-ord(ch) for ch in d))
    assert sorted(dates, key=_negated) == by_points
