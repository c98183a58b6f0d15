"""The site in a real browser, opened from file://: navigation, search, graph, accessibility.

Drives Debian's Chromium (/usr/bin/chromium) through Playwright for Python; a missing browser
fails these tests rather than skipping them. One browser and one built site per session.
Screenshots of the main pages are saved in tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest
from sitecrawl import GOLDEN_KB, REPO, crawl, render

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright
except ImportError:  # pragma: no cover - reported by the browser fixture as a failure
    sync_playwright = None  # type: ignore[assignment]


def write_site(files: dict[str, bytes], out: Path) -> Path:
    """Write a rendered site to a folder, with its manifest (kb serve serves only what it names)."""
    from kb.output import write_site as write

    write(files, out)
    return out


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    if sync_playwright is None:
        pytest.fail("playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden knowledge base, built once."""
    return write_site(render(GOLDEN_KB), tmp_path_factory.mktemp("golden-site"))


@pytest.fixture(scope="session")
def shipped_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge base of this repository, built once by `kb build` (citations, exports)."""
    from kb.build import build

    out = tmp_path_factory.mktemp("shipped-site") / "site"
    report = build(REPO, out, log=lambda line: None)
    assert report.exit_code == 0, [p.text() for p in report.problems]
    return out


def test_built_site_links_resolve(shipped_site: Path) -> None:
    """In the real build (exports included) every link and anchor resolves from index.html."""
    files = {
        p.relative_to(shipped_site).as_posix(): p.read_bytes()
        for p in shipped_site.rglob("*")
        if p.is_file()
    }
    result = crawl(files)
    assert result.broken == []
    assert {p for p in files if p.endswith(".html")} <= result.reached


class Console:
    """Console errors, page errors and failed requests seen by one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("requestfailed", self._failed)

    def _failed(self, request: Request) -> None:
        if request.failure != "net::ERR_ABORTED":  # aborted: the test navigated on, quickly
            self.errors.append(f"failed: {request.url} {request.failure}")

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "warning" and "willReadFrequently" in msg.text:
            return  # caused by the test reading the canvas back, not by the page
        if msg.type in ("error", "warning"):
            self.errors.append(f"{msg.type}: {msg.text}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page at desktop size; fails the test if it logged any console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    console = Console(pg)
    yield pg
    context.close()
    assert console.errors == []


# Note: wait_for_function gets arrow functions, never bare expressions: Playwright evaluates a
# bare expression with eval() inside the page when it polls, which the pages' CSP refuses.


def url(site: Path, path: str) -> str:
    """The file:// URL of a site path."""
    return (site / path).as_uri()


def test_index_to_claim_to_expert_to_source_to_highlight_and_back(
    page: Page, golden_site: Path
) -> None:
    """Follow a quote from the dashboard to its highlight in the archived text and back."""
    page.goto(url(golden_site, "index.html"))
    page.get_by_role("link", name="Ketamine blocks NMDA receptors.").first.click()
    assert page.url.endswith("/claims/nmda-blockade.html")
    page.locator("#q-nmda-blockade-1").get_by_role("link", name="Jane Doe").click()
    assert page.url.endswith("/experts/jane-doe.html")
    page.get_by_role("link", name="A new hope for depression").first.click()
    assert page.url.endswith("/sources/example-news.html")
    page.get_by_role("link", name="Highlight 1 in the archived text").click()
    assert page.url.endswith("#q-nmda-blockade-1")
    mark = page.locator("mark#q-nmda-blockade-1")
    assert mark.evaluate("m => m.matches(':target')")
    assert "The drug blocks NMDA receptors" in mark.inner_text()
    page.get_by_role("link", name="quote 1 of claim nmda-blockade").click()
    assert page.url.endswith("/claims/nmda-blockade.html#q-nmda-blockade-1")
    page.wait_for_load_state()  # the click waits for the navigation to start, not to end
    assert page.locator("article.quote:target").count() == 1
    page.get_by_role("link", name="See it highlighted").first.click()
    assert page.url.endswith("/sources/example-news.html#q-nmda-blockade-1")
    page.go_back()
    assert page.url.endswith("/claims/nmda-blockade.html#q-nmda-blockade-1")


def test_search_finds_a_claim_by_a_word_of_its_quote(page: Page, golden_site: Path) -> None:
    """From a page one folder down, a word that is only in a quote finds its claim."""
    page.goto(url(golden_site, "experts/jane-doe.html"))
    box = page.get_by_role("searchbox", name="Search claims, experts, sources and topics")
    box.fill("hours")
    result = page.locator("#kb-results a").first
    result.wait_for()
    assert "begins within a day" in result.inner_text()
    assert "result" in page.locator("#kb-search-status").inner_text()
    box.press("ArrowDown")
    assert page.evaluate("document.activeElement.closest('#kb-results') !== null")
    page.keyboard.press("Enter")
    page.wait_for_url("**/claims/rapid-onset.html")
    box = page.get_by_role("searchbox", name="Search claims, experts, sources and topics")
    box.fill("zzzzqqq")
    page.locator("#kb-search-status").get_by_text("Nothing matches").wait_for()
    box.fill("smi jon")  # prefixes of two authors' names
    assert "Rapid effects of ketamine" in page.locator("#kb-results a").first.inner_text()


INK = """() => { const c = document.getElementById('kb-graph');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""


def _ink(page: Page) -> int:
    """Count the canvas pixels that are not blank."""
    return int(page.evaluate(INK))


def _wait_ink(page: Page, check: str) -> None:
    """Wait until the canvas pixel count passes `check` (e.g. `n > 2000`): frames are async."""
    page.wait_for_function(f"() => {{ const n = ({INK})(); return {check}; }}", timeout=10_000)


def test_graph_draws_nodes_and_its_filters_work(page: Page, shipped_site: Path) -> None:
    """The graph draws; node, verdict and edge filters change what is shown; keys select."""
    page.goto(url(shipped_site, "graph.html"))
    status = page.locator("#kb-graph-status")
    page.wait_for_function(
        "() => document.getElementById('kb-graph-status').textContent.startsWith('Showing')"
    )
    page.wait_for_timeout(400)
    total = status.inner_text()
    _wait_ink(page, "n > 2000")
    page.get_by_role("checkbox", name="Claims").uncheck()
    shown = status.inner_text()
    assert shown != total and "links" in shown
    page.get_by_role("checkbox", name="Claims").check()
    assert status.inner_text() == total
    page.locator("input[name=verdict][value=needs-context]").uncheck()
    assert status.inner_text() != total
    page.locator("input[name=verdict][value=needs-context]").check()
    page.locator("input[name=edge][value=evidence]").uncheck()
    assert status.inner_text() != total
    page.locator("input[name=edge][value=evidence]").check()
    for box in page.locator("#kb-graph-controls input[name=node]").all():
        box.uncheck()
    assert "Showing 0 of" in status.inner_text()
    _wait_ink(page, "n === 0")
    for box in page.locator("#kb-graph-controls input[name=node]").all():
        box.check()
    canvas = page.locator("#kb-graph")
    canvas.focus()
    canvas.press("]")
    assert "Press Enter to open it" in status.inner_text()
    label = page.evaluate("window.KB_GRAPH.nodes.label[0]")
    finder = page.get_by_label("Find a node")
    finder.fill("zzqqxx-no-such-node")
    assert "No shown node matches" in status.inner_text()
    finder.fill(label)  # found as it is typed; Enter opens it
    assert label in status.inner_text() and "Enter opens it" in status.inner_text()
    href = page.evaluate("window.KB_GRAPH.nodes.url[0]")
    finder.press("Enter")
    page.wait_for_url("**/" + href)
    page.go_back()
    page.wait_for_function(
        "() => document.getElementById('kb-graph-status').textContent.startsWith('Showing')"
    )
    canvas.focus()
    canvas.press("]")
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})  # the selected node
    page.wait_for_url("**/*s/*.html")
    page.go_back()
    canvas = page.locator("#kb-graph")
    canvas.focus()
    canvas.press("]")
    canvas.press("+")
    canvas.press("ArrowLeft")
    canvas.press("Enter")
    page.wait_for_url("**/*s/*.html")


def test_graph_opens_readable_and_keyboard_first(page: Page, shipped_site: Path) -> None:
    """Topics and review links are off at first; a key of verdict colours; the canvas comes
    early in the Tab order (right after the finder); the shown nodes are listed as links."""
    page.goto(url(shipped_site, "graph.html"))
    page.wait_for_function("() => window.KB_GRAPH_STATS && window.KB_GRAPH_STATS.frames > 0")
    assert not page.locator("input[name=node][value=topic]").is_checked()
    assert not page.locator("input[name=edge][value=reviewed-by]").is_checked()
    assert not page.locator("input[name=edge][value=tagged]").is_checked()
    assert page.locator("input[name=node][value=claim]").is_checked()
    key = page.locator(".graph-key").inner_text()
    assert "Misleading" in key and "Accurate" in key
    stops = 0
    while page.evaluate("() => document.activeElement.id") != "kb-graph" and stops < 40:
        page.keyboard.press("Tab")
        stops += 1
    assert stops <= 12, f"the canvas is Tab stop {stops}"
    items = page.locator("#kb-graph-list-items a")
    shown = int(page.locator("#kb-graph-status").inner_text().split()[1])
    assert items.count() == min(shown, 300) > 0
    assert not page.locator("#kb-graph-list-items a", has_text="(topic").count()
    page.locator("input[name=node][value=topic]").check()
    assert page.locator("#kb-graph-list-items a", has_text="(topic").count() > 0


def test_audit_table_sorts_and_filters(page: Page, shipped_site: Path) -> None:
    """Headers sort, the verdict filter hides rows, and print hides the controls."""
    page.goto(url(shipped_site, "audit.html"))
    header = page.locator("#kb-claims th").nth(1)
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    rows = page.locator("#kb-claims tbody tr")
    total = rows.count()
    page.locator("#kb-f-verdict").select_option("accurate")
    visible = page.locator("#kb-claims tbody tr:not([hidden])")
    assert 0 < visible.count() < total
    assert "Showing" in page.locator("#kb-claims-status").inner_text()
    page.emulate_media(media="print")
    assert page.locator(".masthead").evaluate("e => getComputedStyle(e).display") == "none"
    assert page.locator("#kb-claim-filters").evaluate("e => getComputedStyle(e).display") == "none"


MAIN_PAGES = ("index.html", "audit.html", "graph.html", "topics.html", "experts.html",
              "sources.html")  # fmt: skip


def _sample(site: Path) -> list[str]:
    paths = list(MAIN_PAGES)
    for kind in ("claims", "experts", "sources", "topics"):
        paths += sorted(f"{kind}/{p.name}" for p in (site / kind).glob("*.html"))[:3]
    return paths


def test_no_page_logs_a_console_error(browser: Browser, shipped_site: Path) -> None:
    """The main pages and a few of each kind load from file:// without an error or warning."""
    context = browser.new_context()
    pg = context.new_page()
    console = Console(pg)
    for path in _sample(shipped_site):
        pg.goto(url(shipped_site, path))
        pg.locator("#kb-q").focus()  # loads the search index too
        pg.wait_for_function("() => window.KB_SEARCH !== undefined")
        assert console.errors == [], path
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(
    browser: Browser, shipped_site: Path, scheme: str
) -> None:
    """axe-core finds no serious or critical violation (contrast included) on the main pages
    and a sample, in the light and in the dark palette."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    pg = context.new_page()
    found = []
    for path in _sample(shipped_site):
        pg.goto(url(shipped_site, path))
        for v in axe.run(pg).response["violations"]:
            if v["impact"] in ("serious", "critical"):
                targets = [n["target"] for n in v["nodes"][:3]]
                found.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} {targets}")
    context.close()
    assert found == []


def test_dark_palette_follows_the_system(browser: Browser, shipped_site: Path) -> None:
    """prefers-color-scheme: dark gives dark pages with light text; light gives the reverse."""
    for scheme, dark in (("dark", True), ("light", False)):
        context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
        pg = context.new_page()
        pg.goto(url(shipped_site, "index.html"))
        bg, ink = pg.evaluate(
            "() => [getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle(document.body).color]"
        )
        luminance = [
            sum(int(x) for x in c[c.index("(") + 1 : -1].split(",")[:3]) for c in (bg, ink)
        ]
        assert (luminance[0] < luminance[1]) is dark, (scheme, bg, ink)
        context.close()


def test_phone_width_has_no_sideways_scroll(browser: Browser, shipped_site: Path) -> None:
    """At 390 px wide no page scrolls sideways (wide tables scroll inside their box)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    pg = context.new_page()
    for path in _sample(shipped_site):
        pg.goto(url(shipped_site, path))
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide"
    context.close()


def test_keyboard_reaches_skip_link_search_and_nav(page: Page, golden_site: Path) -> None:
    """Tab starts at the skip link, then the site links and the search box; `/` focuses search."""
    page.goto(url(golden_site, "claims/nmda-blockade.html"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash === '#main'")  # the jump is not synchronous
    assert page.url.endswith("#main")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "kb-q"


PAGE_TYPES = (*MAIN_PAGES, "claims/krystal-game-changer.html", "experts/john-krystal.html",
              "sources/nybh-ketamine.html", "topics/efficacy.html")  # fmt: skip


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_every_page_type(browser: Browser, shipped_site: Path, scheme: str) -> None:
    """Save screenshots of every kind of page at 1280 and 390 px, in the light and the dark
    palette, to tests/artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            color_scheme=scheme,  # type: ignore[arg-type]
        )
        pg = context.new_page()
        for path in PAGE_TYPES:
            assert (shipped_site / path).exists(), path
            pg.goto(url(shipped_site, path))
            if path == "graph.html":
                pg.wait_for_timeout(1000)
            name = f"{path.replace('/', '_').removesuffix('.html')}-{width}-{scheme}.png"
            pg.screenshot(path=str(ARTIFACTS / name), full_page=path != "graph.html")
            assert (ARTIFACTS / name).stat().st_size > 5000
        context.close()


def _synthetic_graph(claims: int) -> nx.MultiDiGraph[str]:
    """A graph shaped like a knowledge base of `claims` claims (about 1.3 nodes per claim)."""
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    n_src, n_exp, n_top = claims // 5, claims // 10, max(1, claims // 100)
    verdicts = ("accurate", "mostly-accurate", "needs-context", "misleading", "unreviewed")
    for i in range(n_src):
        g.add_node(f"source:s{i}", type="source", id=f"s{i}", label=f"Source {i}")
    for i in range(n_exp):
        g.add_node(f"expert:e{i}", type="expert", id=f"e{i}", label=f"Expert {i}")
    for i in range(n_top):
        g.add_node(f"topic:t{i}", type="topic", id=f"t{i}", label=f"topic {i}")
    for i in range(claims):
        c = f"claim:c{i}"
        g.add_node(c, type="claim", id=f"c{i}", label=f"Claim {i}", verdict=verdicts[i % 5])
        for k in range(2):
            g.add_edge(c, f"source:s{(i * 7 + k * 13) % n_src}", type="quoted-in", quote=k)
            g.add_edge(c, f"expert:e{(i * 3 + k) % n_exp}", type="spoken-by", quote=k)
            g.add_edge(c, f"source:s{(i * 11 + k * 5) % n_src}", type="evidence")
            g.add_edge(c, f"claim:c{(i * 31 + k * 17 + 1) % claims}", type="related")
        g.add_edge(c, f"topic:t{i % n_top}", type="tagged")
    return g


def test_graph_of_ten_thousand_claims_is_drawn(
    page: Page, golden_site: Path, tmp_path: Path
) -> None:
    """13,000 nodes and ~100,000 links are drawn and keep drawing as the view changes (how
    quickly is measured by bench/site_speed.py, not here: no test has a time bound)."""
    from kb.site.sitedata import graph_data
    from kb.site.state import Site

    graph = _synthetic_graph(10_000)
    assert graph.number_of_nodes() == 13_100
    site = Site(kb=None, graph=graph, problems=[], citations={}, styles=(), build_date=None,
                exports=())  # type: ignore[arg-type]  # fmt: skip
    out = tmp_path / "big"
    shutil.copytree(golden_site, out)
    (out / "graph-data.js").write_bytes(graph_data(site))
    page.goto(url(out, "graph.html"))
    page.wait_for_function("() => window.KB_GRAPH_STATS && window.KB_GRAPH_STATS.frames > 0")
    # it opens on a neighbourhood of at most 300 nodes, not on the whole ball
    focus = page.locator("#kb-graph-focus")
    assert focus.is_visible() and "Showing the" in focus.inner_text()
    shown = int(page.locator("#kb-graph-status").inner_text().split()[1])
    assert 0 < shown <= 300
    page.get_by_role("button", name="Show the whole graph").click()
    assert not focus.is_visible()
    assert int(page.locator("#kb-graph-status").inner_text().split()[1]) > 10_000
    _wait_ink(page, "n > 5000")
    page.wait_for_function("() => window.KB_GRAPH_STATS.frames > 5")


def test_served_page_reloads_after_a_rebuild(page: Page, golden_site: Path) -> None:
    """Under `kb serve` an open page polls the site version and reloads when it changes."""
    import threading

    from kb.serve import LiveState, make_server

    live = LiveState()
    httpd = make_server(golden_site, 0, live)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/claims/nmda-blockade.html")
        page.wait_for_function("() => typeof window.KB_LIVE === 'function'")
        page.wait_for_timeout(900)  # the first poll has answered: the version is known
        with page.expect_navigation(timeout=5000):
            live.bump()
        assert page.url.endswith("/claims/nmda-blockade.html")
        page.goto("about:blank")  # stop polling before the server goes away
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_article_reading_view_marks_by_verdict_with_summaries(
    browser: Browser, shipped_site: Path
) -> None:
    """The dashboard leads to the article claim by claim: marks coloured by their claim's
    verdict, a legend of those verdicts, the verdict and why on hover or focus of a mark's
    number, and the list of claims beside the text on a wide screen (under it on a phone)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    console = Console(pg)
    pg.goto(url(shipped_site, "index.html"))
    pg.get_by_role("link", name="The article, claim by claim").first.click()
    assert pg.url.endswith("sources/nybh-ketamine.html#kb-article")
    marks = pg.locator("#kb-article mark.hl-v")
    classes = set(marks.evaluate_all("ms => ms.map(m => m.className.split(' ').pop())"))
    assert {"hl-misleading", "hl-needs-context", "hl-accurate"} <= classes
    legend = pg.locator("#kb-article .legend").inner_text()
    for label in ("Accurate", "Needs context", "Misleading"):
        assert label in legend
    # the colour of a mark is its verdict's, and differs between verdicts
    colours = {
        c: pg.locator(f"#kb-article mark.{c}").first.evaluate(
            "m => getComputedStyle(m).backgroundColor"
        )
        for c in ("hl-accurate", "hl-misleading")
    }
    assert colours["hl-accurate"] != colours["hl-misleading"]
    ref = pg.locator("#kb-article a.hl-ref.hl-misleading").first
    tip = ref.locator(".tip")
    assert not tip.is_visible()
    ref.focus()
    assert tip.is_visible() and tip.inner_text().startswith("Misleading: ")
    text = pg.locator(".reading-text").bounding_box()
    claims = pg.locator(".reading-claims").bounding_box()
    assert text and claims and claims["x"] >= text["x"] + text["width"]  # beside it
    pg.set_viewport_size({"width": 390, "height": 844})
    text = pg.locator(".reading-text").bounding_box()
    claims = pg.locator(".reading-claims").bounding_box()
    assert text and claims and claims["y"] >= text["y"] + text["height"]  # under it
    context.close()
    assert console.errors == []


def test_every_list_says_why(page: Page, shipped_site: Path) -> None:
    """The verdict's one-line summary is in the audit, the dashboard's latest reviews, topic
    and expert pages; columns the same on every row are said once above the audit table."""
    page.goto(url(shipped_site, "audit.html"))
    heads = [h.strip() for h in page.locator("#kb-claims thead th").all_text_contents()]
    assert "Why" in heads and "Reviewer" not in heads  # one reviewer for every claim
    assert "Every claim reviewed by" in page.locator("#kb-claims-table ~ .shared-line").inner_text()
    why = page.locator("#kb-claims tr:has(a[href='claims/fda-approval.html']) td.why").inner_text()
    assert why == "Conflates two drugs."
    for path in ("index.html", "topics/efficacy.html", "experts/john-krystal.html"):
        page.goto(url(shipped_site, path))
        assert page.locator(".why").count() > 0, path
        assert page.locator(".why").first.inner_text().strip(), path


def test_dashboard_verdicts_open_the_audit_filtered_and_the_url_keeps_it(
    page: Page, shipped_site: Path
) -> None:
    """A verdict on the dashboard opens the audit filtered to it; filters and sorting are kept
    in the URL, so that a reload or a shared link shows the same rows in the same order."""
    page.goto(url(shipped_site, "index.html"))
    row = page.locator("table.bars tr:has(.v-misleading)")
    count = int(row.locator(".bar-n").inner_text())
    row.locator("a.bar-link").click()
    # the click starts the navigation; the audit page's script filters once it has loaded
    page.wait_for_url("**/audit.html?verdict=misleading")  # waits for the load event
    shown = page.locator("#kb-claims tbody tr:not([hidden])")
    assert shown.count() == count > 0
    assert set(shown.evaluate_all("rs => rs.map(r => r.dataset.verdict)")) == {"misleading"}
    assert page.locator("#kb-f-verdict").input_value() == "misleading"
    page.locator("#kb-f-verdict").select_option("needs-context")
    page.locator("#kb-claims th[data-key='claim'] button").click()
    page.locator("#kb-claims th[data-key='claim'] button").click()
    assert "verdict=needs-context" in page.url and "sort=claim&order=desc" in page.url
    first = page.locator("#kb-claims tbody tr:not([hidden])").first.inner_text()
    page.reload()
    assert page.locator("#kb-f-verdict").input_value() == "needs-context"
    assert (
        page.locator("#kb-claims th[data-key='claim']").get_attribute("aria-sort") == "descending"
    )
    assert page.locator("#kb-claims tbody tr:not([hidden])").first.inner_text() == first
    # a problem count opens the problems of that check
    page.goto(url(shipped_site, "index.html"))
    page.locator(
        "#kb-problems ~ table a, section[aria-labelledby='kb-problems'] td a"
    ).first.click()
    assert "audit.html?code=" in page.url
    code = page.url.split("code=")[1].split("#")[0]
    rows = page.locator("#kb-problems tbody tr:not([hidden])")
    assert rows.count() > 0
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.code)")) == {code}


def test_search_finds_verdicts_topics_and_speakers_and_marks_the_words(
    page: Page, shipped_site: Path
) -> None:
    """A verdict word, a topic and a speaker's name find claims; matched words are marked."""
    page.goto(url(shipped_site, "index.html"))
    box = page.locator("#kb-q")
    for query, expect in (("misleading", "Misleading"), ("krystal", "game changer"),
                          ("mechanism", "NMDA")):  # fmt: skip
        box.fill(query)
        results = page.locator("#kb-results li")
        results.first.wait_for()
        assert expect in " ".join(results.all_inner_texts()), query
        assert page.locator("#kb-results mark").count() > 0, query
    box.fill("misleading")
    page.locator("#kb-results li").first.wait_for()
    marked = page.locator("#kb-results mark").first.inner_text()
    assert marked.lower().startswith("misleading")


def test_cite_box_near_the_top_copies_quote_speaker_and_reference(
    page: Page, shipped_site: Path
) -> None:
    """The cite box comes before the quotes, warns when the verdict is not accurate, reads
    "Speaker said, “quote” (in-text)." and its Copy button puts the block on the clipboard as
    plain text and as HTML."""
    page.goto(url(shipped_site, "claims/krystal-game-changer.html"))
    cite = page.locator("#kb-cite")
    assert cite.bounding_box()["y"] < page.locator("#kb-quotes").bounding_box()["y"]  # type: ignore[index]
    caution = page.locator(".cite-caution")
    assert "Rated Unverifiable." in caution.inner_text()
    quote = page.locator(".cite-block").first.locator(".cite-quote").first.inner_text()
    assert quote.startswith("John H. Krystal said, “This is a game changer") and quote.endswith(".")
    page.evaluate(
        """() => { window.addEventListener("copy", e => { window.copied = {
            text: e.clipboardData.getData("text/plain"), html: e.clipboardData.getData("text/html")
        }; }); }"""
    )
    button = page.locator("button.copy").first
    assert button.is_visible()
    button.click()
    copied = page.evaluate("() => window.copied")
    assert "John H. Krystal said, “This is a game changer" in copied["text"]
    assert "New York Behavioral Health" in copied["text"]  # the reference
    assert '<p class="cite-quote">' in copied["html"] and '<p class="ref">' in copied["html"]
    assert page.locator(".copy-status").first.inner_text() == "Copied."
    page.goto(url(shipped_site, "claims/nmda-blockade.html"))
    assert page.locator(".cite-caution").count() == 0  # accurate: no warning


def test_rationale_and_problem_ids_are_links_with_names(page: Page, shipped_site: Path) -> None:
    """A rationale shows its sources as linked short citations and a problem names the expert,
    not their ids; each claim page embeds its ClaimReview as JSON-LD."""
    page.goto(url(shipped_site, "claims/fda-approval.html"))
    rationale = page.locator(".rationale")
    links = rationale.locator("a.cite-link")
    assert links.count() >= 3
    assert "fda-esketamine-2019" not in rationale.inner_text()
    assert links.first.get_attribute("href") == "../sources/fda-esketamine-2019.html"
    data = json.loads(page.locator('script[type="application/ld+json"]').text_content() or "")
    assert data["@type"] == "ClaimReview" and data["reviewRating"]["alternateName"] == "Misleading"
    page.goto(url(shipped_site, "claims/krystal-game-changer.html"))
    problem = page.locator(".problem", has_text="origin").first
    assert "john-krystal" not in problem.locator(".pmsg").inner_text()
    assert problem.locator(".pmsg a").first.inner_text() == "John H. Krystal"


def test_phone_shows_a_compact_audit_the_whole_nav_and_a_fitted_local_graph(
    browser: Browser, shipped_site: Path
) -> None:
    """At 390 px: every navigation link is reachable, an audit row is a few lines (not a card
    of labelled rows), and the local graph fits the width."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    pg.goto(url(shipped_site, "audit.html"))
    for name in ("Dashboard", "Audit", "Graph", "Topics", "Experts", "Sources"):
        link = pg.locator(".nav").get_by_role("link", name=name)
        assert link.is_visible(), name
    row = pg.locator("#kb-claims tbody tr").first
    labels = row.locator("td").evaluate_all(
        "cs => cs.map(c => getComputedStyle(c, '::before').content)"
    )
    assert set(labels) <= {"none", "normal"}  # no card of labelled rows
    tops = [row.locator(f"td:nth-child({i})").bounding_box()["y"] for i in (2, 4)]  # type: ignore[index]
    assert abs(tops[0] - tops[1]) < 4  # the verdict and the attribution on one line
    pg.goto(url(shipped_site, "claims/fda-approval.html"))
    svg = pg.locator(".local-graph svg").bounding_box()
    assert svg and svg["width"] <= 390
    context.close()


def test_a_long_audit_draws_its_first_rows_then_pages_through_all(
    page: Page, tmp_path: Path
) -> None:
    """Past 200 rows the audit page holds the first 200 and audit-data.js the rest: filters,
    sorting and the URL work over every row, and "Show more" draws the next page."""
    from conftest import generate_kb

    from kb.site.render import render_site

    base = generate_kb(tmp_path / "kb", claims=450)
    from kb.pipeline import open_base

    opened = open_base(base)
    files = render_site(opened.kb, opened.graph, opened.problems, {})
    assert b"audit-data.js" in files["audit.html"]
    site = write_site(files, tmp_path / "site")
    assert (site / "audit.html").read_bytes().count(b"<tr data-verdict") == 200
    page.goto(url(site, "audit.html") + "?verdict=misleading&sort=claim&order=desc")
    rows = page.locator("#kb-claims tbody tr")
    page.wait_for_function("() => window.KB_AUDIT !== undefined")
    want = sum(1 for r in page.evaluate("window.KB_AUDIT.claims") if r[3] == "misleading")
    assert rows.count() == min(want, 200) > 0
    ids = rows.evaluate_all("rs => rs.map(r => r.cells[0].dataset.v)")
    assert ids == sorted(ids, reverse=True)
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.verdict)")) == {"misleading"}
    page.locator("#kb-f-verdict").select_option("")
    assert rows.count() == 200
    more = page.locator("#kb-claims-more button")
    assert "250 not shown" in more.inner_text()
    more.click()
    assert rows.count() == 400
    assert "verdict" not in page.url and "sort=claim" in page.url
    # a row drawn by the script shows what the build's row shows: cells, classes, sort values
    cells = """r => Array.from(r.cells).map(c => [c.className, c.dataset.v,
        c.textContent.replace(/\\s+/g, " ").trim(), c.querySelector("a") ? 1 : 0])"""
    page.goto(url(site, "audit.html") + "?sort=claim&order=asc")
    page.wait_for_function("() => window.KB_AUDIT !== undefined")
    drawn = page.locator("#kb-claims tbody tr").first.evaluate(cells)
    page.route(
        "**/audit-data.js", lambda route: route.fulfill(body="", content_type="text/javascript")
    )
    page.goto(url(site, "audit.html"))  # without the data: the build's own first row
    built = page.locator("#kb-claims tbody tr").first.evaluate(cells)
    assert drawn == built and len(built) >= 3
