"""Small presentation helpers shared by the pages: labels, badges, names, links and safe HTML."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import markupsafe
from markupsafe import Markup, escape

from kb.model import (
    ATTRIBUTION_LABELS,
    ATTRIBUTION_MEANINGS,
    CITE_MARK,
    VERDICT_LABELS,
    VERDICTS,
    Claim,
    Source,
)
from kb.urls import (
    AUDIT_PAGE,
    EXPERTS_PAGE,
    GRAPH_PAGE,
    INDEX_PAGE,
    SOURCES_PAGE,
    TOPICS_PAGE,
    anchored,
    link,
    page_path,
    static_path,
)

VERDICT_ORDER = (*VERDICTS, "unreviewed")
EVIDENCE_LEVEL_LABELS = {
    "meta-analysis": "Meta-analysis",
    "rct": "Randomised controlled trial",
    "observational": "Observational study",
    "preclinical": "Preclinical",
    "review": "Review",
    "regulatory": "Regulatory",
    "expert-opinion": "Expert opinion",
    "news": "News",
    "marketing": "Marketing",
    "blog": "Blog",
}
STANCE_LABELS = {
    "supports": "Supports",
    "contradicts": "Contradicts",
    "qualifies": "Qualifies",
    "context": "Context",
}
RELATION_LABELS = {
    "leads-to": "leads to",
    "part-of": "part of",
    "supports": "supports",
    "contradicts": "contradicts",
    "refines": "refines",
    "same-as": "same as",
}
BACK_RELATION_LABELS = {
    "leads-to": "follows from",
    "part-of": "includes",
    "supports": "supported by",
    "contradicts": "contradicted by",
    "refines": "refined by",
    "same-as": "same as",
}
KIND_LABELS = {"claim": "Claim", "expert": "Expert", "source": "Source", "topic": "Topic"}
EDGE_LABELS = {
    "quoted-in": "quoted in",
    "spoken-by": "spoken by",
    "origin": "origin",
    "evidence": "evidence",
    "related": "related claim",
    "reviewed-by": "reviewed by",
    "tagged": "topic",
    "derived-from": "derived from",
    "role-source": "role confirmed by",
}


# markupsafe's escaping of a str to a str (what `esc` does), for callers that escape a great many
escape_str: Callable[[str], str] = getattr(markupsafe, "_escape_inner", lambda s: str(escape(s)))


def esc(text: str) -> str:
    """Escape a string for HTML as `markupsafe.escape` does, as a plain `str` (quicker)."""
    return escape_str(text)


def verdict_label(verdict: str) -> str:
    """Return the human label of a verdict (or of `unreviewed`)."""
    return VERDICT_LABELS.get(verdict, verdict)


@lru_cache(maxsize=64)
def badge(verdict: str) -> Markup:
    """Return a verdict badge: an icon shape and a text label, never colour alone."""
    cls = verdict if verdict in VERDICT_LABELS else "unknown"
    return Markup(
        f'<span class="badge v-{cls}"><span class="ico" aria-hidden="true"></span>'
        f"{escape(verdict_label(verdict))}</span>"
    )


@lru_cache(maxsize=8)
def attribution_badge(rating: str) -> Markup:
    """Return an attribution rating's badge (an icon and a word), or a dash when not rated."""
    if rating not in ATTRIBUTION_LABELS:
        return Markup('<span class="muted">—</span>')
    return Markup(
        f'<span class="badge a-{rating}" title="{escape(ATTRIBUTION_MEANINGS[rating])}">'
        f'<span class="ico" aria-hidden="true"></span>{escape(ATTRIBUTION_LABELS[rating])}</span>'
    )


@lru_cache(maxsize=8)
def severity_badge(severity: str) -> Markup:
    """Return a badge for a problem's severity, with an icon and its name."""
    return Markup(
        f'<span class="sev sev-{escape(severity)}"><span class="ico" aria-hidden="true">'
        f"</span>{escape(severity.capitalize())}</span>"
    )


@lru_cache(maxsize=16)
def stance_badge(stance: str) -> Markup:
    """Return a badge for an evidence stance, with an icon and its name."""
    return Markup(
        f'<span class="stance st-{escape(stance)}"><span class="ico" aria-hidden="true"></span>'
        f"{escape(STANCE_LABELS.get(stance, stance))}</span>"
    )


def evidence_level_label(level: str | None) -> str:
    """Return the label of an evidence level, or `Not rated`."""
    return EVIDENCE_LEVEL_LABELS.get(level, level) if level else "Not rated"


def person_name(name: Mapping[str, Any]) -> str:
    """Format one CSL name as `Given Family` (or its literal)."""
    if name.get("literal"):
        return str(name["literal"])
    parts = [str(name[k]) for k in ("given", "non-dropping-particle", "family") if name.get(k)]
    return " ".join(parts)


def author_list(source: Source, limit: int = 6) -> str:
    """Return a source's authors (or editors) joined, shortened with `et al.`."""
    names = source.csl.get("author") or source.csl.get("editor") or []
    if not isinstance(names, list):
        return ""
    people = [person_name(n) for n in names if isinstance(n, Mapping)]
    people = [p for p in people if p]
    if len(people) > limit:
        return ", ".join(people[:limit]) + " et al."
    return ", ".join(people)


def short_citation(source: Source) -> str:
    """Return a source as a short author-year citation (Anis 1983, Duman & Li 2012, Zarate et
    al. 2006), or its title cut short when it names no author."""
    names = source.csl.get("author") or source.csl.get("editor") or []
    fams = [
        str(n.get("family") or n.get("literal") or "")
        for n in (names if isinstance(names, list) else [])
        if isinstance(n, Mapping)
    ]
    fams = [f for f in fams if f]
    if not fams:
        who = short(source.title, 40)
    elif len(fams) == 1:
        who = fams[0]
    elif len(fams) == 2:
        who = f"{fams[0]} & {fams[1]}"
    else:
        who = f"{fams[0]} et al."
    return f"{who} {source.year}" if source.year else who


def plain_reference(source: Source) -> str:
    """Return a simple reference when no citation style is available."""
    bits = [author_list(source)]
    if source.year:
        bits.append(f"({source.year})")
    text = " ".join(b for b in bits if b)
    text = f"{text}. {source.title}." if text else f"{source.title}."
    container = source.csl.get("container-title")
    if container:
        text += f" {container}."
    return text


_HTTP = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def safe_url(url: object) -> str | None:
    """Return the URL when it is a plain http(s) URL, else None (never trust the data)."""
    if isinstance(url, str) and _HTTP.match(url.strip()):
        return url.strip()
    return None


def pmid_url(pmid: object) -> str | None:
    """Return the PubMed URL of a numeric PMID."""
    if isinstance(pmid, (str, int)) and re.fullmatch(r"\d{1,9}", str(pmid).strip()):
        return f"https://pubmed.ncbi.nlm.nih.gov/{str(pmid).strip()}/"
    return None


# Tags a citation processor may emit; anything else falls back to the escaped plain text.
_SAFE_TAG = re.compile(
    r'</?(?:i|em|b|strong|sup|sub|span|div)(?: class="[\w -]*")?>|<a href="https?://[^"<>]*">|</a>'
)


def safe_reference_html(html: str, text: str) -> Markup:
    """Return a citation's HTML when it holds only harmless inline markup, else escaped text."""
    rest = _SAFE_TAG.sub("", html)
    if "<" in rest or ">" in rest:
        return escape(text)
    return Markup(html)


# A sentence ends at . ! or ? followed by a space and a capital letter or an opening quote,
# unless the word before the point is an abbreviation (et al., e.g., Dr., an initial).
_SENTENCE_END = re.compile(
    r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bDr)(?<!\bSt)(?<!\bNo)(?<!\b[A-Z])"
    r"[.!?](?=\s+[A-Z\"“‘(])"
)


def first_sentence(text: str) -> str:
    """Return the first sentence of a text, white space collapsed."""
    text = " ".join(text.split())
    m = _SENTENCE_END.search(text)
    return text[: m.end()] if m else text


def summary_of(claim: Claim) -> str:
    """Return the one-line reason for a claim's verdict: the review's `summary`, else the
    first sentence of its rationale ("" when there is neither); `[@id]` shown as the id."""
    review = claim.review
    if review is None:
        return ""
    return _summary(review.summary, review.rationale)


@lru_cache(maxsize=65536)  # the audit page, its data, claim pages and dashboards ask alike
def _summary(summary: str | None, rationale: str | None) -> str:
    text = summary or first_sentence(rationale or "")
    return " ".join(CITE_MARK.sub(r"\1", text).split())


def short(text: str, limit: int = 90) -> str:
    """Cut a text at a word boundary, adding an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


@lru_cache(maxsize=256)
def _record_prefix(folder: str, kind: str) -> str:
    """What links from a page in `folder` to any record page of `kind` start with: the link to
    `page_path(kind, ident)` is this, then `ident.html`, for an ident without `/`."""
    here = f"{folder}/page.html" if folder else "page.html"
    href = link(page_path(kind, "x"), here)
    assert href.endswith("x.html"), href
    return href[: -len("x.html")]


class Links:
    """Links from one page to every other page of the site, always relative."""

    __slots__ = ("folder", "here")

    def __init__(self, here: str) -> None:
        self.here = here
        self.folder = here.rpartition("/")[0]  # links from pages of one folder are the same

    def to(self, target: str, anchor: str | None = None) -> str:
        """Link to any site path, with an optional #anchor."""
        return anchored(link(target, self.here), anchor)

    def record(self, kind: str, ident: str, anchor: str | None = None) -> str:
        """Link to a record page (`page_path(kind, ident)`), with an optional #anchor."""
        if "/" in ident:
            return self.to(page_path(kind, ident), anchor)
        href = _record_prefix(self.folder, kind) + ident + ".html"
        return f"{href}#{anchor}" if anchor else href

    def reach(self, kind: str, ident: str) -> str:
        """What `record(kind, ident)` depends on besides `kind` and `ident`: pages in different
        folders that link to a record alike (`../claims/` from experts/, sources/ and topics/)
        share it, so views of records are cached under it."""
        return _record_prefix(self.folder, kind) if "/" not in ident else "\0" + self.folder

    def claim(self, ident: str, anchor: str | None = None) -> str:
        """Link to a claim page."""
        return self.record("claim", ident, anchor)

    def expert(self, ident: str, anchor: str | None = None) -> str:
        """Link to an expert page."""
        return self.record("expert", ident, anchor)

    def source(self, ident: str, anchor: str | None = None) -> str:
        """Link to a source page."""
        return self.record("source", ident, anchor)

    def topic(self, slug: str) -> str:
        """Link to a topic page."""
        return self.record("topic", slug)

    def node(self, node: str) -> str:
        """Link to the page of a graph node id."""
        kind, _, ident = node.partition(":")
        return self.record(kind, ident)

    def static(self, name: str) -> str:
        """Link to a bundled asset."""
        return self.to(static_path(name))

    @property
    def root(self) -> str:
        """The prefix that leads from this page to the site root (`./` or `../`)."""
        return "../" * self.here.count("/") or "./"

    @property
    def index(self) -> str:
        """Link to the dashboard."""
        return self.to(INDEX_PAGE)

    @property
    def audit(self) -> str:
        """Link to the audit table."""
        return self.to(AUDIT_PAGE)

    @property
    def graph(self) -> str:
        """Link to the whole graph."""
        return self.to(GRAPH_PAGE)

    @property
    def topics(self) -> str:
        """Link to the list of topics."""
        return self.to(TOPICS_PAGE)

    @property
    def experts(self) -> str:
        """Link to the list of experts."""
        return self.to(EXPERTS_PAGE)

    @property
    def sources(self) -> str:
        """Link to the list of sources."""
        return self.to(SOURCES_PAGE)


def join_nonempty(parts: Iterable[str | None], sep: str = " · ") -> str:
    """Join the parts that are not empty."""
    return sep.join(p for p in parts if p)


_QUOTE_MARKS = "\"'“”‘’«»„"


def quoted(text: str) -> str:
    """Wrap text in curly quotation marks, unless it is already wrapped in quotation marks."""
    text = text.strip()
    if len(text) >= 2 and text[0] in _QUOTE_MARKS and text[-1] in _QUOTE_MARKS:
        return text
    return f"“{text}”"
