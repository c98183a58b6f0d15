"""`kb pandoc DRAFT [pandoc options]`: a draft rendered by the bundled pandoc, citing sources
and claims from the base."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kb.cli import COMMANDS
from kb.cli.report import refuse_base_file
from kb.codes import did_you_mean
from kb.errors import KBError, Severity
from kb.model import ClaimId

EXAMPLE = """\
  kb pandoc draft.md -o draft.docx                      # [@my-article] and [@claim:my-claim]
  kb pandoc draft.md --style vancouver -o draft.html --standalone
  kb pandoc draft.md --style nature -o draft.odt"""


def register(sub: Any) -> None:
    """Add the pandoc subcommand."""
    p = sub.add_parser(
        "pandoc",
        help=COMMANDS["pandoc"].summary,
        description=(
            "Run the bundled pandoc on DRAFT with the base's sources as its bibliography, in the\n"
            "chosen CSL style, and a filter that turns each [@claim:ID] into the claim's verified\n"
            "quote, its speaker as the source attributes them, and the citation of the quote's\n"
            "source; [@source-id] cites a source as usual, and a reference list is added.\n"
            "Everything after DRAFT that is not --style or --allow-disputed goes to pandoc\n"
            "(-o draft.docx, -t html, --standalone, ...): docx, html, odt, md, and pdf where\n"
            "pandoc has a PDF engine. A claim rated misleading or inaccurate, or whose quote is\n"
            "not verified, stops the run (exit 1, naming it) unless --allow-disputed."
        ),
        epilog=f"example:\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("draft", type=Path, metavar="DRAFT")
    p.add_argument("pandoc_args", nargs=argparse.REMAINDER, metavar="PANDOC-OPTION")
    p.add_argument("--style", help="as for kb cite (default: kb.yaml's style, else apa)")
    p.add_argument("--allow-disputed", action="store_true", help="render disputed claims too")
    p.set_defaults(func=cmd_pandoc)


def _outputs(pandoc_args: list[str]) -> list[str]:
    """The files pandoc is told to write (`-o F`, `-oF`, `--output F`, `--output=F`)."""
    out = []
    it = iter(pandoc_args)
    for a in it:
        if a in ("-o", "--output"):
            out.append(next(it, ""))
        elif a.startswith("--output="):
            out.append(a.split("=", 1)[1])
        elif a.startswith("-o") and len(a) > 2 and not a.startswith("--"):
            out.append(a[2:])
    return [o for o in out if o and o != "-"]


def _own_options(args: argparse.Namespace) -> list[str]:
    """Take kb's options out of what follows DRAFT; return what goes to pandoc."""
    rest: list[str] = []
    it = iter(args.pandoc_args)
    for a in it:
        if a == "--allow-disputed":
            args.allow_disputed = True
        elif a == "--style":
            args.style = next(it, None)
            if args.style is None:
                raise KBError("--style needs a style name")
        elif a.startswith("--style="):
            args.style = a.split("=", 1)[1]
        else:
            rest.append(a)
    return rest


def cmd_pandoc(args: argparse.Namespace) -> int:
    """Run `kb pandoc`."""
    from kb.cite.claims import placeholders
    from kb.cite.draft import cited_keys, read_draft, refusals, run
    from kb.pipeline import open_base

    extra = _own_options(args)
    for out in _outputs(extra):
        refuse_base_file(Path(args.root), Path(out))
    text = read_draft(args.draft)
    base = open_base(args.root)
    kb = base.kb
    told = ("snapshot-changed", "quote-not-found")  # the refusals below say these, per claim
    errors = [p for p in base.problems if p.severity is Severity.ERROR and p.code not in told]
    cited = cited_keys(text, kb)
    for key in cited.unknown:
        cid = key.removeprefix("claim:")
        print(f"kb pandoc: no claim {cid!r}{did_you_mean(cid, kb.claims)}", file=sys.stderr)
    if cited.unknown:
        return 1
    mine = {f"claim:{c}" for c in cited.claims} | {f"source:{s}" for s in cited.sources}
    bad = [p for p in errors if p.subject in mine]
    if bad:
        for p in bad:
            print(p.text(), file=sys.stderr)
        return 1
    changed = [p for p in base.problems if p.code == "snapshot-changed"]
    why = refusals(kb, cited.claims, changed)
    if why and not args.allow_disputed:
        for line in why:
            print(f"kb pandoc: {line}", file=sys.stderr)
        print("  nothing was rendered; pass --allow-disputed to render anyway", file=sys.stderr)
        return 1
    for cid in cited.claims:
        for line in placeholders(kb, kb.claims[ClaimId(cid)]):
            print(f"kb pandoc: warning: {line}", file=sys.stderr)
    style = args.style or kb.config.style or "apa"
    code = run(kb, args.draft, cited.claims, style, extra)
    return 0 if code == 0 else 1
