"""Helpers for the site tests: build a site in memory, parse its pages, follow every link."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from kb.checks import run_checks
from kb.graph import build_graph
from kb.reading.load import load_kb
from kb.site.render import render_site

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
GOLDEN_KB = DATA / "golden" / "kb"


def render(root: Path, citations: Any = None) -> dict[str, bytes]:
    """Load, check and render the knowledge base at `root` (no citations unless given)."""
    kb, problems = load_kb(root)
    graph = build_graph(kb)
    problems = [*problems, *run_checks(kb, graph)]
    return render_site(kb, graph, problems, citations or {})


@dataclass
class Page:
    """What a crawl needs of one HTML page."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)  # (tag.attr, url)
    scripts: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    styles: int = 0  # <style> elements
    style_attrs: int = 0
    handlers: list[str] = field(default_factory=list)  # on* attributes
    meta_csp: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._script: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.page.ids.add(str(a["id"]))
        for name, value in attrs:
            if name.startswith("on"):
                self.page.handlers.append(f"{tag}.{name}")
            if name == "style":
                self.page.style_attrs += 1
            if name in ("href", "src", "action", "formaction", "srcset", "poster", "data"):
                self.page.links.append((f"{tag}.{name}", value or ""))
        if tag == "style":
            self.page.styles += 1
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.page.meta_csp.append(a.get("content") or "")
        if tag == "script":
            self._script, self._text = a, []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.page.scripts.append((self._script, "".join(self._text)))
            self._script = None


def parse(html: bytes) -> Page:
    """Parse one page."""
    p = _Parser()
    p.feed(html.decode("utf-8"))
    p.close()
    return p.page


@dataclass
class Crawl:
    """Every page reached from index.html, and every link that did not resolve."""

    reached: set[str]
    broken: list[str]
    external: set[str]


def crawl(files: dict[str, bytes], start: str = "index.html") -> Crawl:
    """Follow every href and src from `start`; check that files and #anchors exist."""
    pages = {p: parse(b) for p, b in files.items() if p.endswith(".html")}
    todo, reached, broken, external = [start], {start}, [], set()
    while todo:
        here = todo.pop()
        for attr, url in pages[here].links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                if parts.scheme in ("http", "https"):
                    external.add(url)
                else:
                    broken.append(f"{here}: {attr}={url!r} (scheme not allowed)")
                continue
            target = (
                here
                if not parts.path
                else posixpath.normpath(
                    posixpath.join(posixpath.dirname(here), unquote(parts.path))
                )
            )
            if target not in files:
                broken.append(f"{here}: {attr}={url!r} (no file {target})")
                continue
            if parts.fragment:
                if target not in pages:
                    broken.append(f"{here}: {attr}={url!r} (anchor into a non-page)")
                elif unquote(parts.fragment) not in pages[target].ids:
                    broken.append(f"{here}: {attr}={url!r} (no id {parts.fragment!r})")
            if target in pages and target not in reached:
                reached.add(target)
                todo.append(target)
    return Crawl(reached, broken, external)


_ASSIGN = re.compile(r"^window\.(\w+) = (.*);\n$", re.S)


def js_data(data: bytes) -> tuple[str, Any]:
    """Parse a `window.NAME = {...};` data file into (NAME, value)."""
    m = _ASSIGN.match(data.decode("utf-8"))
    assert m, "a data file assigns one JSON value to one global"
    return m.group(1), json.loads(m.group(2))
