"""The site in a real browser, opened from file://: navigation, search, graph, accessibility.

Drives Debian's Chromium (/usr/bin/chromium) through Playwright for Python; a missing browser
fails these tests rather than skipping them. One browser and one built site per session.
Screenshots of the main pages are saved in tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

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
    finder.fill(label)
    finder.press("Enter")
    assert label in status.inner_text() and "Enter finds the next" in status.inner_text()
    finder.fill("zzqqxx-no-such-node")
    finder.press("Enter")
    assert "No shown node matches" in status.inner_text()
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


def test_no_serious_accessibility_violations(browser: Browser, shipped_site: Path) -> None:
    """axe-core finds no serious or critical violation on the main pages and a sample."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context()
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


SHOTS = (
    ("index.html", 1280),
    ("audit.html", 1280),
    ("graph.html", 1280),
    ("index.html", 390),
)


def test_screenshots_of_the_main_pages(browser: Browser, shipped_site: Path) -> None:
    """Save screenshots of the main pages to tests/artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    picks = list(SHOTS)
    for kind in ("claims", "experts", "sources"):
        first = sorted((shipped_site / kind).glob("*.html"))[0]
        picks += [(f"{kind}/{first.name}", 1280), (f"{kind}/{first.name}", 390)]
    for path, width in picks:
        context = browser.new_context(viewport={"width": width, "height": 900})
        pg = context.new_page()
        pg.goto(url(shipped_site, path))
        if path == "graph.html":
            pg.wait_for_timeout(1500)
        name = f"{path.replace('/', '_').removesuffix('.html')}-{width}.png"
        pg.screenshot(path=str(ARTIFACTS / name), full_page=path != "graph.html")
        context.close()
        assert (ARTIFACTS / name).stat().st_size > 5000


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


def test_graph_of_ten_thousand_claims_shows_within_two_seconds(
    page: Page, golden_site: Path, tmp_path: Path
) -> None:
    """13,000 nodes and ~100,000 links: the first frame is drawn within 2 s of navigation."""
    from kb.site.sitedata import graph_data
    from kb.site.state import Site

    graph = _synthetic_graph(10_000)
    assert graph.number_of_nodes() == 13_100
    site = Site(kb=None, graph=graph, problems=[], citations={}, styles=(), build_date=None,
                exports=())  # type: ignore[arg-type]  # fmt: skip
    out = tmp_path / "big"
    shutil.copytree(golden_site, out)
    (out / "graph-data.js").write_bytes(graph_data(site))
    first = 1e9
    for _ in range(2):  # the better of two loads, so that a busy moment of the machine is not it
        page.goto(url(out, "graph.html"))
        page.wait_for_function("() => window.KB_GRAPH_STATS && window.KB_GRAPH_STATS.frames > 0")
        first = min(first, page.evaluate("window.KB_GRAPH_STATS.firstFrameAt"))
    print(f"13,100 nodes: first frame at {first:.0f} ms")
    assert first < 2000, f"first frame after {first:.0f} ms"
    _wait_ink(page, "n > 5000")
    page.wait_for_function("() => window.KB_GRAPH_STATS.frames > 5")
    stats = page.evaluate("window.KB_GRAPH_STATS")
    assert stats["drawMs"] / stats["frames"] < 200, "frames stay quick enough to pan and zoom"


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
