"""`kb cite`: a claim as a verified quote with its citation."""

from __future__ import annotations

import argparse
import sys

from kb.cite.claims import (
    FORMATS,
    QUOTE_CODES,
    REFUSED,
    cite_claim,
    cite_sources,
    claim_sources,
)
from kb.cite.styles import STYLES, load_style
from kb.codes import did_you_mean
from kb.errors import Problem, Severity
from kb.model import VERDICT_LABELS, ClaimId, KnowledgeBase
from kb.reading.files import cache_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `cite` subcommand."""
    p = sub.add_parser(
        "cite",
        help="print a claim's verified quote with its citation in a style",
        description="Print each claim's quotes exactly as verified, who said them, an in-text\n"
        "citation (with the quote's locator) and the reference entry, formatted by pandoc's\n"
        "citeproc from the official CSL style. A claim rated misleading, inaccurate or\n"
        "unsupported (no evidence found) is refused unless --allow-disputed; any verdict other\n"
        "than accurate is shown, with the rating of the quotes' attribution, and an\n"
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
        "--allow-disputed",
        action="store_true",
        help="cite claims rated misleading, inaccurate or unsupported",
    )
    p.set_defaults(func=cmd_cite)


def cmd_cite(args: argparse.Namespace) -> int:
    """Run `kb cite`."""
    from kb.reading.load import load_kb

    kb, problems = load_kb(args.root)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        for p in errors:
            print(p.text(), file=sys.stderr)
        return 1
    unknown = [c for c in args.claims if c not in kb.claims]
    for c in unknown:
        print(f"kb cite: unknown claim {c!r}{did_you_mean(c, kb.claims)}", file=sys.stderr)
    if unknown:
        return 2
    style = args.style or kb.config.style or "apa"
    load_style(style, kb.root)  # a bad style is bad usage, before any work
    code, blocks, wanted = 0, [], []
    for cid in dict.fromkeys(args.claims):
        claim = kb.claims[ClaimId(cid)]
        if claim.verdict in REFUSED and not args.allow_disputed:
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
    from kb.checks import CODES
    from kb.checks.context import Context
    from kb.graph import build_graph

    ctx = Context(kb, build_graph(kb))
    found: list[Problem] = []
    for code in QUOTE_CODES:
        c = CODES.get(code)
        if c is not None and c.runs and kb.config.severity.get(code) != "off":
            found.extend(c.func(ctx))
    return found
