"""Find every quote in its archived text once, and render archived text with quotes highlighted."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from markupsafe import Markup

from kb.model import ClaimId, KnowledgeBase, SourceId
from kb.site.present import esc
from kb.text.quotes import context, locate
from kb.urls import origin_anchor, quote_anchor

Span = tuple[int, int]
QuoteKey = tuple[ClaimId, int]


@dataclass(frozen=True, slots=True)
class Highlight:
    """One quote (or a quote's origin) found in a source's archived text."""

    start: int
    end: int
    anchor: str  # the id of the <mark> on the source page
    claim: ClaimId
    index: int  # the quote's index in its claim
    origin: bool  # True when this is where the quote's origin text was found
    number: int = 0  # 1-based position among the page's highlights, in text order


@dataclass(frozen=True, slots=True)
class QuoteSpans:
    """Where every quote and every origin text was found, keyed by (claim id, quote index)."""

    quotes: dict[QuoteKey, list[Span]]
    origins: dict[QuoteKey, list[Span]]
    by_source: dict[SourceId, list[Highlight]]


def find_all(kb: KnowledgeBase) -> QuoteSpans:
    """Locate every quote and origin text in its source's snapshot, one source at a time."""
    jobs: dict[SourceId, list[tuple[QuoteKey, bool, str, str | None, str | None]]] = defaultdict(
        list
    )
    for cid, claim in sorted(kb.claims.items()):
        for i, q in enumerate(claim.quotes):
            jobs[q.source].append(((cid, i), False, q.text, q.prefix, q.suffix))
            if q.origin and q.origin.source and q.origin.text:
                jobs[q.origin.source].append(((cid, i), True, q.origin.text, None, None))
    quotes: dict[QuoteKey, list[Span]] = {}
    origins: dict[QuoteKey, list[Span]] = {}
    by_source: dict[SourceId, list[Highlight]] = {}
    for sid in sorted(jobs):
        highlights(kb, sid, jobs[sid], QuoteSpans(quotes, origins, by_source))
    return QuoteSpans(quotes, origins, by_source)


Job = tuple[QuoteKey, bool, str, str | None, str | None]  # (claim, index), origin?, words ...


def highlights(kb: KnowledgeBase, sid: SourceId, jobs: list[Job], into: QuoteSpans) -> None:
    """Locate the quotes and origin texts of `jobs` (all of those in the snapshot of `sid`, in
    the order find_all lists them) and put their places and the source's highlights `into`."""
    src = kb.sources.get(sid)
    if src is None or not src.snapshot_text:
        return
    quotes, origins = into.quotes, into.origins
    # (start, -end, anchor, ...): sorted by the first three, which never tie (anchors differ)
    found: list[tuple[int, int, str, int, ClaimId, int, bool]] = []
    for key, is_origin, text, prefix, suffix in jobs:
        found_by_checks = kb.located.get((key[0], key[1], is_origin))
        if found_by_checks is None:
            found_by_checks = locate(text, src.snapshot_text, prefix, suffix)
        spans = [s for s in found_by_checks if s[1] > s[0]]
        (origins if is_origin else quotes)[key] = spans
        if spans:
            anchor = (origin_anchor if is_origin else quote_anchor)(key[0], key[1])
            a, b = spans[0]
            found.append((a, -b, anchor, b, key[0], key[1], is_origin))
    found.sort()
    into.by_source[sid] = [
        Highlight(a, b, anchor, cid, i, is_origin, n)
        for n, (a, _, anchor, b, cid, i, is_origin) in enumerate(found, 1)
    ]


@dataclass(frozen=True, slots=True)
class InContext:
    """A quote as it stands in its source: the words before, the quoted words, the words after."""

    before: str
    quoted: str
    after: str


def in_context(snapshot: str, span: Span) -> InContext:
    """Return the sentence around a span, with white space collapsed."""
    before, quoted, after = context(snapshot, span)
    return InContext(" ".join(before.split()), " ".join(quoted.split()), " ".join(after.split()))


def highlighted(
    text: str,
    marks: list[Highlight],
    ref_href: dict[str, str],
    tips: dict[str, tuple[str, str]] | None = None,
) -> Markup:
    """Render archived text as HTML with each highlight in a `<mark id=...>` and a link after it.

    Overlapping highlights are split into runs; a run inside several highlights is marked once,
    and every highlight keeps its own id on the first run it starts. `ref_href` maps a
    highlight's anchor to the link placed after its last run. `tips` maps an anchor to its
    claim's verdict (a class: the mark's colour) and a one-line summary, shown when the link
    after it is hovered or focused.
    """
    tips = tips or {}
    bounds = sorted({0, len(text), *(h.start for h in marks), *(h.end for h in marks)})
    starts: dict[int, list[Highlight]] = defaultdict(list)
    ends: dict[int, list[Highlight]] = defaultdict(list)
    for h in marks:
        starts[h.start].append(h)
        ends[h.end].append(h)
    out: list[str] = []
    active: set[str] = set()
    for a, b in itertools.pairwise(bounds):
        for h in ends.get(a, ()):
            out.append(_ref(h, ref_href[h.anchor], tips.get(h.anchor)))
            active.discard(h.anchor)
        opening = starts.get(a, [])
        for h in opening[1:]:
            out.append(f'<span class="hl-anchor" id="{esc(h.anchor)}"></span>')
        active.update(h.anchor for h in opening)
        run = esc(text[a:b])
        if not active:
            out.append(run)
            continue
        if len(active) > 1:
            cls = "hl hl-multi"
        else:
            tip = tips.get(next(iter(active)))
            cls = f"hl hl-v hl-{esc(tip[0])}" if tip else "hl"
        if opening:
            out.append(f'<mark class="{cls}" id="{esc(opening[0].anchor)}">{run}</mark>')
        else:
            out.append(f'<mark class="{cls}">{run}</mark>')
    for h in ends.get(len(text), ()):
        out.append(_ref(h, ref_href[h.anchor], tips.get(h.anchor)))
    return Markup("".join(out))


def _ref(h: Highlight, href: str, tip: tuple[str, str] | None = None) -> str:
    what = "origin of quote" if h.origin else "quote"
    label = f"{what} {h.index + 1} of claim {h.claim}"
    if tip is None:
        return (
            f'<a class="hl-ref" href="{esc(href)}" aria-label="{esc(label)}">'
            f"<span>{h.number}</span></a>"
        )
    return (
        f'<a class="hl-ref hl-{esc(tip[0])}" href="{esc(href)}" aria-label="{esc(label)}">'
        f'<span>{h.number}</span><span class="tip" role="tooltip">{esc(tip[1])}</span></a>'
    )
