"""Cite sources and claims in the official CSL styles, formatted by pandoc's citeproc.

`cite_sources` gives every source's reference and in-text citation in each style (the site's
"cite this" and reference boxes use it); `cite_claim` lays out one claim's quotes with their
citations (`kb cite`). Formatting is done by kb.cite.citeproc (grouped, parallel, cached).
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.cite.citeproc import format_items, intext_with_locator
from kb.cite.csl import csl_items
from kb.cite.format import ClaimBlock, QuoteBlock, html_to_text, render_block
from kb.cite.groups import SLOW_BATCH, group_items, split_group
from kb.cite.styles import STYLE_LABELS, STYLES, adapt_item, load_style
from kb.cite.twins import fill_slot, slot_style, split_twins
from kb.errors import Problem
from kb.model import (
    ATTRIBUTION_LABELS,
    ATTRIBUTION_MEANINGS,
    VERDICT_LABELS,
    Claim,
    ClaimId,
    KnowledgeBase,
    Source,
)
from kb.text.attribution import propose

__all__ = ["STYLES", "STYLE_LABELS", "Citation", "cite_claim", "cite_sources"]
DISPUTED = frozenset({"misleading", "inaccurate"})
# Refused by `kb cite` unless --allow-disputed: disputed claims, and those no evidence was found for
REFUSED = DISPUTED | {"unsupported"}
CACHE_DIR = ".kb-cache"
QUOTE_CODES = ("quote-not-found", "quote-ambiguous", "quote-drift", "snapshot-missing")


@dataclass(frozen=True, slots=True)
class Citation:
    """A source formatted in one style, as pandoc's citeproc writes it."""

    style: str
    source: str
    reference_html: str  # the bibliography entry as inline HTML (pandoc's, escaped)
    reference_text: str  # the same as plain text
    intext: str  # the in-text citation as plain text, e.g. "(Li et al., 2010)" or "1"
    intext_html: str = ""  # the same as HTML (AMA's number is a <sup>)


def cite_sources(
    kb: KnowledgeBase,
    styles: Sequence[str] = tuple(STYLES),
    cache_dir: Path | None = None,
    jobs: int | None = None,
    *,
    only: Collection[str] | None = None,
) -> dict[str, dict[str, Citation]]:
    """Format every source (or the groups holding `only`) in each style: style -> id -> Citation.

    A style is a short name from STYLES or a path to a .csl file. With `cache_dir` each group
    of sources is formatted once per change of its data; `jobs` pandoc processes run at once
    (default: one per CPU).
    """
    loaded = [load_style(s, kb.root) for s in dict.fromkeys(styles)]
    wanted = set(only) if only is not None else None
    entries = format_items(csl_items(kb), loaded, cache_dir, jobs, wanted)
    return {
        style.name: {
            sid: Citation(
                style.name,
                sid,
                e.reference_html,
                html_to_text(e.reference_html),
                html_to_text(e.intext_html),
                e.intext_html,
            )
            for sid, e in sorted(entries[style.name].items())
        }
        for style in loaded
    }


def voice(src: Source) -> str:
    """Who speaks in a source's own, unattributed words: its authors, else its publisher."""
    names = [
        str(n.get("literal") or " ".join(str(n.get(k, "")) for k in ("given", "family")).strip())
        for n in src.csl.get("author") or ()
    ]
    if names:
        return ", ".join(names)
    for key in ("publisher", "container-title"):
        if src.csl.get(key):
            return str(src.csl[key])
    return src.title


def _verdict_line(claim: Claim) -> str | None:
    if claim.verdict == "accurate":
        return None
    if claim.review is None:
        return "Unreviewed: no one has checked this claim yet."
    line = f"Verdict: {VERDICT_LABELS.get(claim.verdict, claim.verdict)}"
    if claim.verdict in DISPUTED:
        line += " (disputed)"
    elif claim.verdict == "unsupported":
        line += " (no evidence found either way)"
    return line + (f". {claim.review.rationale}" if claim.review.rationale else "")


def attribution_line(claim: Claim) -> str | None:
    """Whether the quoted words are the speaker's: the reviewer's rating, else the checks'
    proposal; None when no quote has a speaker."""
    rating = claim.review.attribution if claim.review else None
    if rating:
        return f"Attribution: {ATTRIBUTION_LABELS[rating]} ({ATTRIBUTION_MEANINGS[rating]})."
    proposed = propose(claim)
    if proposed is None:
        return None
    return (
        f"Attribution: not rated by a reviewer; the checks propose {ATTRIBUTION_LABELS[proposed]}"
        f" ({ATTRIBUTION_MEANINGS[proposed]})."
    )


def unverified(kb: KnowledgeBase, claim: Claim, changed: Iterable[Problem] = ()) -> list[str]:
    """Why each of a claim's quotes is not verified: not found in its source's snapshot, found
    in several places, or in a snapshot that changed after its hash was recorded (`changed`: the
    snapshot-changed problems). Needs kb.located (the quote checks). A quote whose source has no
    snapshot is cited with the snapshot-missing note."""
    moved = {p.subject.partition(":")[2] for p in changed if p.subject}
    moved |= {p.loc.path.removeprefix("sources/").rsplit(".", 1)[0] for p in changed}
    out = []
    for i, q in enumerate(claim.quotes):
        src = kb.sources.get(q.source)
        name = f"quote {i + 1} (“{_short(q.text)}”)"
        spans = kb.located.get((claim.id, i, False))
        if src is None or src.snapshot_text is None:
            continue  # nothing to check it in: cited with the snapshot-missing note
        if q.source in moved:
            out.append(f"the snapshot of {q.source} that {name} is checked in changed after it "
                       "was recorded [snapshot-changed]")  # fmt: skip
        elif spans is not None and not spans:
            out.append(f"{name} is not found in the snapshot of {q.source} [quote-not-found]")
        elif spans is not None and len(spans) > 1:
            out.append(f"{name} is found in {len(spans)} places of the snapshot of {q.source} "
                       "[quote-ambiguous]")  # fmt: skip
    return out


def refused(kb: KnowledgeBase, claim: Claim, changed: Iterable[Problem] = ()) -> str | None:
    """Why a claim must not be cited without an override (a disputed verdict, a quote not
    verified), or None."""
    reasons = []
    if claim.verdict in REFUSED:
        why = f": {claim.review.rationale}" if claim.review and claim.review.rationale else ""
        reasons.append(f"is rated {VERDICT_LABELS[claim.verdict].lower()}{why}")
    bad = unverified(kb, claim, changed)
    if bad:
        reasons.append("has a quote that is not verified: " + "; ".join(bad))
    return f"{claim.id} " + "; and ".join(reasons) if reasons else None


def placeholders(kb: KnowledgeBase, claim: Claim) -> list[str]:
    """What a citation of `claim` would show that is still a placeholder of `kb new` (its
    statement, a speaker's name, a source's title): one line each, for a warning."""
    from kb.reading import templates as T

    found = []
    if claim.statement == T.PLACEHOLDER_STATEMENT:
        found.append(f"claim {claim.id}'s statement")
    for q in claim.quotes:
        expert = kb.experts.get(q.speaker) if q.speaker else None
        if expert is not None and expert.name == T.PLACEHOLDER_NAME:
            found.append(f"expert {q.speaker}'s name")
    for sid in sorted(claim_sources(claim)):
        src = kb.sources.get(sid)  # type: ignore[call-overload]
        if src is not None and src.title == T.PLACEHOLDER_TITLE:
            found.append(f"source {sid}'s title")
    return [
        f"{claim.id}: {what} is still the placeholder of `kb new`: the citation shows it"
        for what in dict.fromkeys(found)
    ]


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claim_sources(claim: Claim) -> set[str]:
    """The sources a claim's citation needs: its quotes' sources and origins, else its evidence."""
    ids = {str(q.source) for q in claim.quotes}
    ids |= {str(q.origin.source) for q in claim.quotes if q.origin and q.origin.source}
    return ids if claim.quotes else {str(e.source) for e in claim.evidence}


def cite_claim(
    kb: KnowledgeBase,
    claim_id: str,
    style: str,
    fmt: str = "text",
    *,
    citations: dict[str, dict[str, Citation]] | None = None,
    cache_dir: Path | None = None,
    problems: Iterable[Problem] = (),
    pinpoint: bool = True,
) -> str:
    """Return a claim's quotes, speakers, in-text citations and references in `style` and `fmt`.

    `problems` (from the checks) about the claim's quotes are shown with it. With `pinpoint`,
    a quote's locator goes into its in-text citation, e.g. `(Writer, 2024, para. 3)` (one
    pandoc call per such quote).
    """
    claim = kb.claims[ClaimId(claim_id)]
    if citations is None or style not in citations:
        citations = cite_sources(kb, [style], cache_dir, only=claim_sources(claim))
    cited = citations[style]
    notes = [
        f"Check: {p.message} [{p.code}]"
        for p in problems
        if p.subject == f"claim:{claim_id}" and p.code in QUOTE_CODES
    ]
    quotes: list[QuoteBlock] = []
    for q in claim.quotes:
        src = kb.sources.get(q.source)
        expert = kb.experts.get(q.speaker) if q.speaker else None
        if expert is not None:
            speaker = expert.name + (f", {expert.credentials}" if expert.credentials else "")
        else:
            speaker = voice(src) if src else q.source
        origin = None
        if q.origin is not None and q.origin.unknown:
            origin = "unknown (traced, not found)"
        elif q.origin is not None and q.origin.first_hand:
            origin = "first-hand (the source heard the speaker itself)"
        elif q.origin is not None and q.origin.source in cited:
            origin = cited[q.origin.source].reference_html
        c = cited.get(q.source)
        intext = c.intext_html if c else html.escape(q.source)
        locator = q.locator
        if c is not None and locator and pinpoint:
            intext, locator = _pinpointed(kb, style, q.source, locator, intext), None
        quotes.append(
            QuoteBlock(
                text=q.text,
                speaker=speaker,
                attribution=q.attribution,
                intext_html=intext,
                reference_html=c.reference_html if c else html.escape(q.source),
                locator=locator,
                origin=origin,
            )
        )
    if quotes:
        quotes[-1].notes.extend(notes)
    refs = [] if quotes else [cited[e].reference_html for e in sorted(claim_sources(claim))]
    block = ClaimBlock(
        claim_id, claim.statement, _verdict_line(claim), quotes, refs, attribution_line(claim)
    )
    return render_block(block, fmt)


def _pinpointed(kb: KnowledgeBase, style_name: str, sid: str, locator: str, plain: str) -> str:
    """The in-text citation of a source at a locator, disambiguated within the source's group
    (or its piece of a group of twins, with the year suffix `plain`, its citation, has)."""
    style = load_style(style_name, kb.root)
    group = next(
        g
        for g in group_items(
            [adapt_item(style, it) for it in csl_items(kb)], style.all_names and style.disambiguates
        )
        if any(it["id"] == sid for it in g)
    )
    slotted = slot_style(style)
    pieces = split_twins(style, slotted, group, SLOW_BATCH) if slotted else None
    if pieces is not None and slotted is not None:
        unit = next(u for u in pieces.units if any(it["id"] == sid for it in u.items))
        located = intext_with_locator([*unit.items, *unit.ghosts], slotted, sid, locator)
        filled = fill_slot(located, plain)
        if filled is not None:
            return filled
    parts = split_group(style, group, SLOW_BATCH) if pieces is None else [(group, [])]
    part, ghosts = next((p, g) for p, g in parts if any(it["id"] == sid for it in p))
    return intext_with_locator([*part, *ghosts], style, sid, locator)
