"""Cite sources and claims in the official CSL styles, formatted by pandoc's citeproc.

`cite_sources` gives every source's reference and in-text citation in each style (the site's
"cite this" and reference boxes use it); `cite_claim` lays out one claim's quotes with their
citations (`kb cite`). Formatting is done by kb.citeproc (grouped, parallel, cached).
"""

from __future__ import annotations

import argparse
import difflib
import html
import sys
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.build import cache_dir
from kb.citeformat import ClaimBlock, QuoteBlock, html_to_text, render_block
from kb.citegroups import SLOW_BATCH, group_items, split_group
from kb.citeproc import format_items, intext_with_locator
from kb.csl import csl_items
from kb.errors import Problem, Severity
from kb.model import VERDICT_LABELS, Claim, ClaimId, KnowledgeBase, Source
from kb.styles import STYLE_LABELS, STYLES, load_style

__all__ = ["STYLES", "STYLE_LABELS", "Citation", "cite_claim", "cite_sources", "register"]
DISPUTED = frozenset({"misleading", "inaccurate"})
FORMATS = ("text", "markdown", "html")
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


def _voice(src: Source) -> str:
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
    return line + (f". {claim.review.rationale}" if claim.review.rationale else "")


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
            speaker = _voice(src) if src else q.source
        origin = None
        if q.origin is not None and q.origin.unknown:
            origin = "unknown (traced, not found)"
        elif q.origin is not None and q.origin.source in cited:
            origin = cited[q.origin.source].reference_html
        c = cited.get(q.source)
        intext = c.intext_html if c else html.escape(q.source)
        locator = q.locator
        if c is not None and locator and pinpoint:
            intext, locator = _pinpointed(kb, style, q.source, locator), None
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
    block = ClaimBlock(claim_id, claim.statement, _verdict_line(claim), quotes, refs)
    return render_block(block, fmt)


def _pinpointed(kb: KnowledgeBase, style_name: str, sid: str, locator: str) -> str:
    """The in-text citation of a source at a locator, disambiguated within the source's group."""
    style = load_style(style_name, kb.root)
    group = next(
        g
        for g in group_items(csl_items(kb), style.all_names and style.disambiguates)
        if any(it["id"] == sid for it in g)
    )
    parts = split_group(style, group, SLOW_BATCH)
    part, ghosts = next((p, g) for p, g in parts if any(it["id"] == sid for it in p))
    return intext_with_locator([*part, *ghosts], style, sid, locator)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `cite` subcommand."""
    p = sub.add_parser(
        "cite",
        help="print a claim's verified quote with its citation in a style",
        description="Print each claim's quotes exactly as verified, who said them, an in-text\n"
        "citation (with the quote's locator) and the reference entry, formatted by pandoc's\n"
        "citeproc from the official CSL style. A claim rated misleading or inaccurate is\n"
        "refused unless --allow-disputed; any verdict other than accurate is shown, and an\n"
        "unreviewed claim is marked.",
        epilog="examples:\n  kb cite nmda-blockade\n"
        "  kb cite nmda-blockade synaptogenesis --style ama --format markdown\n"
        "  kb cite nmda-blockade --style path/to/nature.csl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="+", metavar="CLAIM", help="claim ids (file stems in claims/)")
    p.add_argument(
        "--style",
        help=f"{', '.join(STYLES)} or a .csl file (default: kb.yaml's style, else apa)",
    )
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument(
        "--allow-disputed", action="store_true", help="cite claims rated misleading or inaccurate"
    )
    p.set_defaults(func=cmd_cite)


def cmd_cite(args: argparse.Namespace) -> int:
    """Run `kb cite`."""
    from kb.load import load_kb

    kb, problems = load_kb(args.root)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        for p in errors:
            print(p.text(), file=sys.stderr)
        return 1
    unknown = [c for c in args.claims if c not in kb.claims]
    for c in unknown:
        close = difflib.get_close_matches(c, list(kb.claims), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        print(f"kb cite: unknown claim {c!r}{hint}", file=sys.stderr)
    if unknown:
        return 2
    style = args.style or kb.config.style or "apa"
    load_style(style, kb.root)  # a bad style is bad usage, before any work
    code, blocks, wanted = 0, [], []
    for cid in dict.fromkeys(args.claims):
        claim = kb.claims[ClaimId(cid)]
        if claim.verdict in DISPUTED and not args.allow_disputed:
            why = f": {claim.review.rationale}" if claim.review and claim.review.rationale else ""
            print(
                f"kb cite: {cid} is rated {VERDICT_LABELS[claim.verdict].lower()}{why}\n"
                "  not cited; pass --allow-disputed to cite it anyway",
                file=sys.stderr,
            )
            code = 1
            continue
        wanted.append(cid)
    needed = set().union(*(claim_sources(kb.claims[ClaimId(c)]) for c in wanted))
    cache = cache_dir(kb.root)  # None when .kb-cache is a link leading elsewhere
    citations = cite_sources(kb, [style], cache, only=needed) if wanted else {}
    checked = _quote_problems(kb) if wanted else []
    for cid in wanted:
        blocks.append(cite_claim(kb, cid, style, args.format, citations=citations,
                                 problems=checked))  # fmt: skip
    sys.stdout.write("\n".join(blocks))
    return code


def _quote_problems(kb: KnowledgeBase) -> list[Problem]:
    """Run the quote checks (quote-not-found and its kin) so unverified quotes are flagged."""
    try:
        from kb.checks import CODES
        from kb.checks.context import Context
        from kb.graph import build_graph
    except ImportError:  # pragma: no cover - the checks are part of kb
        return []
    ctx = Context(kb, build_graph(kb))
    found: list[Problem] = []
    for code in QUOTE_CODES:
        c = CODES.get(code)
        if c is not None and c.runs and kb.config.severity.get(code) != "off":
            found.extend(c.func(ctx))
    return found
