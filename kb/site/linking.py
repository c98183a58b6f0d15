"""Problems, rationales and marks as pages show them: ids in free text (rationales, problem
messages) as links (a source as its short citation, an expert and a claim by name), problem
rows and counts, the tips of the article's marks, a claim's ClaimReview as JSON-LD, and a
source's in-text citation and reference in each style."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

from kb.cite.styles import STYLE_LABELS
from kb.errors import Problem, Severity
from kb.model import CITE_MARK
from kb.site.marks import Highlight
from kb.site.present import (
    Links,
    esc,
    safe_reference_html,
    severity_badge,
    short,
    short_citation,
    summary_of,
    verdict_label,
)
from kb.site.state import CitationLike, Site

_BARE_ID = re.compile(r"(?<![\w/.-])([a-z0-9]+(?:-[a-z0-9]+)+)(?![\w/-])")


def linked(site: Site, text: str, u: Links, near: frozenset[str] | None) -> Markup:
    """Return text as HTML in which `[@source-id]` and the bare ids of the records in `near`
    (graph nodes; any record when None) become links: a source as its short citation, an
    expert and a claim by name. An unknown `[@id]` is kept as written."""
    kb = site.kb

    def known(kind: str, ident: str) -> bool:
        return near is None or f"{kind}:{ident}" in near

    def one(ident: str, explicit: bool) -> str | None:
        src = kb.sources.get(ident)  # type: ignore[call-overload]
        if src is not None and (explicit or known("source", ident)):
            return (
                f'<a class="cite-link" href="{esc(u.source(ident))}">{esc(short_citation(src))}</a>'
            )
        person = kb.experts.get(ident)  # type: ignore[call-overload]
        if person is not None and known("expert", ident):
            return f'<a href="{esc(u.expert(ident))}">{esc(person.name)}</a>'
        claim = kb.claims.get(ident)  # type: ignore[call-overload]
        if claim is not None and known("claim", ident):
            return f'<a href="{esc(u.claim(ident))}">{esc(short(claim.statement, 60))}</a>'
        return None

    out: list[str] = []
    at = 0
    for m in _LINKABLE.finditer(text):
        ident = m.group(1) or m.group(2)
        got = one(ident, m.group(1) is not None)
        if got is None:
            continue
        out.append(esc(text[at : m.start()]))
        out.append(got)
        at = m.end()
    out.append(esc(text[at:]))
    return Markup("".join(out))


_LINKABLE = re.compile(CITE_MARK.pattern + "|" + _BARE_ID.pattern)


def problem_rows(
    problems: list[Problem],
    site: Site | None = None,
    u: Links | None = None,
    near: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """Return problems as table rows; with `site` and `u`, the ids in each message of the
    records in `near` (graph nodes) are linked."""
    return [
        {
            "severity": p.severity.value,
            "badge": severity_badge(p.severity.value),
            "code": p.code,
            "message": linked(site, p.message, u, near) if site and u else p.message,
            "where": str(p.loc),
        }
        for p in problems
    ]


def claim_jsonld(site: Site, cid: str) -> Markup | None:
    """The claim's ClaimReview as JSON-LD, safe inside a <script> (`<`, `>`, `&` escaped)."""
    review = site.claim_reviews(cid) if site.claim_reviews is not None else None
    return None if review is None else Markup(review)


def mark_tips(site: Site, marks: list[Highlight]) -> dict[str, tuple[str, str]]:
    """Each highlight's class (its claim's verdict, or `origin`) and what its number shows on
    hover or focus: the verdict and why."""
    tips: dict[str, tuple[str, str]] = {}
    for h in marks:
        c = site.kb.claims.get(h.claim)
        if c is not None and not h.origin:
            why = summary_of(c)
            label = verdict_label(c.verdict)
            tips[h.anchor] = (c.verdict, f"{label}: {why}" if why else label)
        elif c is not None:
            tips[h.anchor] = (
                "origin",
                f"Where the words of a quote of “{short(c.statement, 60)}” were found earliest",
            )
    return tips


def problem_counts(problems: list[Problem]) -> list[dict[str, Any]]:
    """Count problems by code, worst and most frequent first."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for p in problems:
        counts[(p.code, p.severity.value)] += 1
    rows: list[dict[str, Any]] = [
        {"code": c, "severity": s, "badge": severity_badge(s), "count": n}
        for (c, s), n in counts.items()
    ]
    rows.sort(key=lambda r: (r["severity"] != Severity.ERROR.value, -r["count"], r["code"]))
    return rows


def citation_view(site: Site, style: str, sid: str) -> dict[str, Any] | None:
    """Return a source's in-text citation and reference in one style (made once per source)."""
    key = ("cite", style, sid)
    view = site.refs.get(key)
    if view is None:
        cit = site.citations[style].get(sid)
        if cit is None:
            return None
        view = site.refs[key] = {
            "intext": intext(cit),
            "reference": safe_reference_html(cit.reference_html, cit.reference_text),
        }
    return view


def references(site: Site, sid: str) -> list[dict[str, Any]]:
    refs = []
    for style in site.styles:
        cit = site.citations[style].get(sid)
        if cit is not None:
            refs.append(
                {
                    "style": style,
                    "label": STYLE_LABELS.get(style, style.upper()),
                    "html": safe_reference_html(cit.reference_html, cit.reference_text),
                    "intext": intext(cit),
                }
            )
    return refs


def intext(cit: CitationLike) -> Markup:
    html = getattr(cit, "intext_html", "") or ""
    return safe_reference_html(html, cit.intext) if html else escape(cit.intext)
