"""`kb cite`: a claim as a verified quote with its citation."""

from __future__ import annotations

import argparse
import sys

from kb.cli import COMMANDS
from kb.codes import did_you_mean
from kb.errors import KBError, Problem, Severity
from kb.model import STYLE_FILES, ClaimId, KnowledgeBase

FORMATS = ("text", "markdown", "html")  # what kb.cite.claims.cite_claim writes


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `cite` subcommand."""
    p = sub.add_parser(
        "cite",
        help=COMMANDS["cite"].summary,
        description="Print each claim's quotes exactly as verified, who said them, an in-text\n"
        "citation (with the quote's locator) and the reference entry, formatted by pandoc's\n"
        "citeproc from the official CSL style. A claim rated misleading, inaccurate or\n"
        "unsupported (no evidence found), or whose quote is not verified (not found in its\n"
        "snapshot, found in several places, or in a snapshot changed since it was recorded),\n"
        "is refused with the reason unless --allow-disputed; any verdict other than accurate\n"
        "is shown, with the rating of the quotes' attribution, and an unreviewed claim is\n"
        "marked. --style takes apa, ama, vancouver, chicago, mla, the file name of any\n"
        "installed CSL style (--list-styles WORD finds one) or a .csl file.",
        epilog="examples:\n  kb cite my-claim\n"
        "  kb cite my-claim --style ama --format markdown\n"
        "  kb cite my-claim --style harvard-cite-them-right\n"
        "  kb cite --list-styles nature",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="*", metavar="CLAIM", help="claim ids (file stems in claims/)")
    p.add_argument(
        "--style",
        help=f"{', '.join(STYLE_FILES)}, an installed style's file name (nature, "
        "harvard-cite-them-right) or a .csl file (default: kb.yaml's style, else apa)",
    )
    p.add_argument(
        "--list-styles",
        nargs="?",
        const="",
        metavar="WORD",
        help="list the installed CSL styles whose file name or title holds WORD, and stop",
    )
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument(
        "--allow-disputed",
        action="store_true",
        help="cite claims rated misleading, inaccurate or unsupported, or whose quotes are not "
        "verified",
    )
    p.set_defaults(func=cmd_cite)


def cmd_cite(args: argparse.Namespace) -> int:
    """Run `kb cite`."""
    from kb.cite.claims import cite_claim, cite_sources, claim_sources, placeholders, refused
    from kb.cite.styles import load_style
    from kb.reading.files import cache_dir
    from kb.reading.load import load_kb

    if args.list_styles is not None:
        return _list_styles(args.list_styles)
    if not args.claims:
        raise KBError("name at least one claim (or --list-styles)")
    kb, problems = load_kb(args.root)
    changed = [p for p in problems if p.code == "snapshot-changed"]  # a reason, per claim
    errors = [p for p in problems if p.severity is Severity.ERROR and p.code != "snapshot-changed"]
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
    checked = _quote_problems(kb)  # places every quote in its snapshot (kb.located)
    for cid in dict.fromkeys(args.claims):
        claim = kb.claims[ClaimId(cid)]
        refusal = refused(kb, claim, changed)
        if refusal and not args.allow_disputed:
            print(f"kb cite: {refusal}\n  not cited; pass --allow-disputed to cite it anyway",
                  file=sys.stderr)  # fmt: skip
            code = 1
            continue
        wanted.append(cid)
        for line in placeholders(kb, claim):
            print(f"kb cite: warning: {line}", file=sys.stderr)
    needed = set().union(*(claim_sources(kb.claims[ClaimId(c)]) for c in wanted))
    cache = cache_dir(kb.root)  # None when .kb-cache is a link leading elsewhere
    citations = cite_sources(kb, [style], cache, only=needed) if wanted else {}
    for cid in wanted:
        blocks.append(cite_claim(kb, cid, style, args.format, citations=citations,
                                 problems=checked))  # fmt: skip
    sys.stdout.write("\n".join(blocks))
    return code


def _list_styles(word: str) -> int:
    from kb.cite.styles import STYLE_LABELS, STYLES, installed_styles, style_title

    names = installed_styles()
    low = word.casefold()
    short = [n for n in STYLES if low in n]
    found = [n for n in names if low in n]
    if low and len(found) < 200:  # titles too, when the list is short enough to read them
        found = [n for n in names if low in n or low in style_title(n).casefold()]
    for n in short:
        print(f"{n:32} {STYLE_LABELS[n]} (kb's short name)")
    for n in found:
        print(f"{n:32} {style_title(n)}" if low else n)
    if not short and not found:
        print(f"kb cite: no installed style's name or title holds {word!r}", file=sys.stderr)
        return 1
    return 0


def _quote_problems(kb: KnowledgeBase) -> list[Problem]:
    """Run the quote checks (quote-not-found and its kin) so unverified quotes are flagged."""
    from kb.checks import CODES
    from kb.checks.context import Context
    from kb.cite.claims import QUOTE_CODES
    from kb.graph import build_links

    ctx = Context(kb, build_links(kb))
    found: list[Problem] = []
    for code in QUOTE_CODES:
        c = CODES.get(code)
        if c is not None and c.runs and kb.config.severity.get(code) != "off":
            found.extend(c.func(ctx))
    return found
