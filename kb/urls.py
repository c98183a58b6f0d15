"""Decide every output path and every relative link of the site, in one place."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import quote as url_quote

DEFAULT_OUT = "site"  # the site is written here in the base unless --out says otherwise

# The exports: format name -> (its file in EXPORT_DIR, the other names `kb export` takes).
# kb.export pairs each with its exporter; the command line's help needs only this table.
EXPORT_DIR = "exports"
EXPORT_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "csl-json": ("kb.csl.json", ("csl", "csljson", "json")),
    "bibtex": ("kb.bib", ("bib",)),
    "biblatex": ("kb-biblatex.bib", ("biber",)),
    "claimreview": ("claimreview.jsonld", ("jsonld",)),
    "graphml": ("graph.graphml", ()),
    "csv": ("claims.csv", ("claims",)),
    "claim-topics": ("claim-topics.csv", ("topics",)),
    "audit": ("audit.json", ()),
}

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Turn free text into a page name: lower-case ASCII letters and digits joined by `-`; text
    in other scripts is transliterated first (anyascii: `Gesundheit für Ältere` gives
    `gesundheit-fur-altere`, `健康` gives `jiankang`)."""
    if not text.isascii():
        from anyascii import anyascii  # here: only for text that needs it

        text = anyascii(text)
    slug = _NON_SLUG.sub("-", text.lower()).strip("-")[:60].strip("-")
    return slug or "topic"


def topic_slugs(topics: Iterable[str]) -> dict[str, str]:
    """Map each distinct topic to a unique slug; clashes get -2, -3 in sorted order."""
    result: dict[str, str] = {}
    used: set[str] = set()
    for topic in sorted(set(topics)):
        base = slugify(topic)
        slug, n = base, 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        result[topic] = slug
    return result


def page_path(kind: str, ident: str) -> str:
    """Return the site path of a record page: kind is claim, expert, source or topic."""
    return f"{kind}s/{ident}.html"


def node_path(node: str) -> str:
    """Return the site path of a graph node id such as `claim:nmda-blockade`."""
    kind, _, ident = node.partition(":")
    return page_path(kind, ident)


def relative(target: str, from_page: str) -> str:
    """Return a link to site path `target` that works from the page at site path `from_page`."""
    start = posixpath.dirname(from_page) or "."
    return posixpath.relpath(target, start)


def quote_anchor(claim_id: str, index: int) -> str:
    """Return the id of a quote's highlight on its source page (and of the quote on its claim)."""
    return f"q-{claim_id}-{index + 1}"


# --- site pages and assets (added for the renderer; existing functions above are unchanged) ---

INDEX_PAGE = "index.html"
AUDIT_PAGE = "audit.html"
GRAPH_PAGE = "graph.html"
TOPICS_PAGE = "topics.html"
EXPERTS_PAGE = "experts.html"
SOURCES_PAGE = "sources.html"
SEARCH_INDEX = "search-index.js"
GRAPH_DATA = "graph-data.js"
STATIC_DIR = "static"


def static_path(name: str) -> str:
    """Return the site path of a bundled asset such as `site.css`."""
    return f"{STATIC_DIR}/{name}"


def link(target: str, from_page: str) -> str:
    """Return the same link as `relative`, fast, for site paths that never contain `..` or `./`."""
    here_dir, sep, _ = from_page.rpartition("/")
    if not sep:
        return target
    if "/" in here_dir:
        return relative(target, from_page)
    if target.startswith(here_dir + "/"):
        return target[len(here_dir) + 1 :]
    return "../" + target


def anchored(target: str, anchor: str | None) -> str:
    """Return `target` with a `#fragment` when `anchor` is given."""
    return f"{target}#{anchor}" if anchor else target


def origin_anchor(claim_id: str, index: int) -> str:
    """Return the id of a quote's origin highlight on the origin source's page."""
    return f"o-{claim_id}-{index + 1}"


def evidence_anchor(claim_id: str, index: int) -> str:
    """Return the id of an evidence row on its claim's page."""
    return f"e-{claim_id}-{index + 1}"


def doi_url(doi: object) -> str | None:
    """Return the resolver URL of a DOI that looks like `10.NNNN/...`."""
    if isinstance(doi, str) and re.match(r"^10\.\d{4,9}/\S+$", doi.strip()):
        return "https://doi.org/" + url_quote(doi.strip(), safe="/:;()._-")
    return None


_IDENTIFIER_URLS = {
    "orcid": (re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$"), "https://orcid.org/{}"),
    "wikidata": (re.compile(r"^Q\d+$"), "https://www.wikidata.org/wiki/{}"),
}


def identifier_url(scheme: str, value: str) -> str | None:
    """Return the URL of a known person identifier (ORCID, Wikidata) when it is well-formed."""
    known = _IDENTIFIER_URLS.get(scheme.lower())
    if known and known[0].match(value):
        return known[1].format(value)
    return None
