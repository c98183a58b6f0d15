"""`kb list`: find records from the command line, filtered, as text, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any

from kb.cli import COMMANDS
from kb.cli.report import inert_json
from kb.codes import did_you_mean
from kb.errors import KBError, Problem, printable
from kb.model import VERDICT_LABELS, Claim, ExpertId, KnowledgeBase, SourceId

KINDS = ("claims", "sources", "experts", "people", "topics")
LIST_EXAMPLE = """\
  kb list --verdict misleading
  kb list --source my-article --unreviewed
  kb list --stale --format csv
  kb list experts --source my-article"""


def register(sub: Any) -> None:
    """Add the list subcommand."""
    p = sub.add_parser(
        "list",
        help=COMMANDS["list"].summary,
        description=(
            "List records. Claims are filtered by every option given (all must hold); sources,\n"
            "experts, people and topics are those of the claims that pass the filters (all of\n"
            "them when no filter is given). --source S: a quote, origin or evidence item from S;\n"
            "--speaker E: a quote attributed to E; --topic T: the topic's text or page name."
        ),
        epilog=f"example:\n{LIST_EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", nargs="?", choices=KINDS, default="claims")
    p.add_argument("--source", metavar="S")
    p.add_argument("--speaker", metavar="E")
    p.add_argument("--topic", metavar="T")
    p.add_argument("--verdict", metavar="V", choices=tuple(VERDICT_LABELS))
    p.add_argument("--problem", metavar="CODE", help="claims with a problem of this check code")
    p.add_argument("--stale", action="store_true", help="claims whose review is stale")
    p.add_argument("--unreviewed", action="store_true", help="claims with no review")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.set_defaults(func=cmd_list)


# ---------------------------------------------------------------- list


def _needs_checks(args: argparse.Namespace) -> bool:
    return bool(args.problem or args.stale)


def _claim_sources(c: Claim) -> set[str]:
    out = {q.source for q in c.quotes} | {e.source for e in c.evidence}
    return out | {q.origin.source for q in c.quotes if q.origin and q.origin.source}


def _filtered(
    args: argparse.Namespace, kb: KnowledgeBase, problems: Sequence[Problem]
) -> list[Claim]:
    _known(args, kb)
    slugs = kb.topics() if args.topic else {}
    flagged: dict[str, set[str]] = {}
    for p in problems:
        if p.subject and p.subject.startswith("claim:"):
            flagged.setdefault(p.code, set()).add(p.subject[6:])
    out = []
    for cid in sorted(kb.claims):
        c = kb.claims[cid]
        if args.source and args.source not in _claim_sources(c):
            continue
        if args.speaker and all(q.speaker != args.speaker for q in c.quotes):
            continue
        if args.topic and all(args.topic not in (t, slugs.get(t)) for t in c.topics):
            continue
        if args.verdict and c.verdict != args.verdict:
            continue
        if args.unreviewed and c.review is not None:
            continue
        if args.problem and cid not in flagged.get(args.problem, ()):
            continue
        if args.stale and cid not in flagged.get("stale-review", ()):
            continue
        out.append(c)
    return out


def _known(args: argparse.Namespace, kb: KnowledgeBase) -> None:
    """Refuse a filter that names nothing (a typo would list nothing, silently)."""
    from kb.checks import CODES

    if args.source and args.source not in kb.sources:
        raise KBError(f"no source {args.source!r}{did_you_mean(args.source, kb.sources)}")
    if args.speaker and args.speaker not in kb.experts:
        raise KBError(f"no person {args.speaker!r}{did_you_mean(args.speaker, kb.experts)}")
    if args.problem and args.problem not in CODES:
        raise KBError(f"no check code {args.problem!r}{did_you_mean(args.problem, CODES)}")
    if args.topic:
        slugs = kb.topics()
        if args.topic not in slugs and args.topic not in slugs.values():
            raise KBError(f"no topic {args.topic!r}{did_you_mean(args.topic, slugs)}")


def _filters_given(args: argparse.Namespace) -> bool:
    return any(
        (args.source, args.speaker, args.topic, args.verdict, args.problem, args.stale,
         args.unreviewed)
    )  # fmt: skip


def _rows(kind: str, kb: KnowledgeBase, claims: list[Claim], every: bool) -> list[dict[str, Any]]:
    if kind == "claims":
        return [_claim_row(c) for c in claims]
    if kind == "sources":
        used: dict[str, int] = {}
        for c in claims:
            for name in _claim_sources(c):
                used[name] = used.get(name, 0) + 1
        sources = (
            kb.sources.values()
            if every
            else [s for sid in used if (s := kb.sources.get(SourceId(sid))) is not None]
        )
        return [
            {"id": s.id, "type": s.type, "year": s.year, "claims": used.get(s.id, 0),
             "title": s.title}
            for s in sorted(sources, key=lambda s: s.id)
        ]  # fmt: skip
    if kind in ("experts", "people"):
        quoted: dict[str, int] = {}
        for c in claims:
            for q in c.quotes:
                if q.speaker:
                    quoted[q.speaker] = quoted.get(q.speaker, 0) + 1
        people = sorted(
            kb.experts.values() if every
            else [x for e in quoted if (x := kb.experts.get(ExpertId(e))) is not None],
            key=lambda x: x.id,
        )  # fmt: skip
        if kind == "experts":
            people = [x for x in people if x.kind == "expert"]
        return [
            {"id": x.id, "kind": x.kind, "quotes": quoted.get(x.id, 0), "name": x.name}
            for x in people
        ]
    slugs = kb.topics()
    count: dict[str, int] = {}
    for c in claims:
        for t in c.topics:
            count[t] = count.get(t, 0) + 1
    return [{"topic": t, "page": slugs[t], "claims": n} for t, n in sorted(count.items())]


def _claim_row(c: Claim) -> dict[str, Any]:
    r = c.review
    return {
        "id": c.id,
        "verdict": c.verdict,
        "reviewer": r.reviewer if r else None,
        "date": r.date if r else None,
        "topics": list(c.topics),
        "sources": sorted({q.source for q in c.quotes}),
        "speakers": sorted({q.speaker for q in c.quotes if q.speaker}),
        "file": c.where.file,
        "statement": c.statement,
    }


def cmd_list(args: argparse.Namespace) -> int:
    """Run `kb list`."""
    from kb.pipeline import open_for
    from kb.reading.load import load_kb

    if _needs_checks(args):  # only the checks asked for run
        codes = {c for c in (args.problem, "stale-review" if args.stale else None) if c}
        base = open_for(args.root, codes)
        kb, problems = base.kb, base.problems
    else:
        kb, _loading = load_kb(args.root)
        problems = []
    claims = _filtered(args, kb, problems)
    rows = _rows(args.kind, kb, claims, not _filters_given(args))
    _print_rows(rows, args.format)
    return 0


def _print_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    out = sys.stdout
    if fmt == "json":
        print(inert_json(rows), file=out)
        return
    if fmt == "csv":
        if not rows:
            return
        w = csv.writer(out, lineterminator="\n")
        w.writerow(rows[0])
        for r in rows:
            w.writerow([_cell(v, spreadsheet=True) for v in r.values()])
        return
    if not rows:
        print("nothing matches", file=sys.stderr)
        return
    keys = list(rows[0])
    widths = {k: max(len(_cell(r[k])) for r in rows) for k in keys[:-1]}
    for r in rows:
        head = "  ".join(_cell(r[k]).ljust(min(widths[k], 40)) for k in keys[:-1] if k in _SHOWN)
        print(printable(f"{head}  {_cell(r[keys[-1]])}"))


_SHOWN = {"id", "verdict", "type", "year", "claims", "kind", "quotes", "topic", "page"}


def _cell(v: Any, spreadsheet: bool = False) -> str:
    if v is None:
        return ""
    text = ";".join(str(x) for x in v) if isinstance(v, list) else str(v)
    if spreadsheet and text[:1] in ("=", "+", "-", "@"):
        return "'" + text  # a spreadsheet does not run it as a formula
    return text
