"""The commands that read and edit records: check, graph, review."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from kb.checks import CODES
from kb.cli.report import exit_code, print_problems
from kb.codes import did_you_mean
from kb.errors import KBError
from kb.model import ATTRIBUTIONS, VERDICTS
from kb.pipeline import check_kb
from kb.reading import problems as loading

Sub = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _parser(sub: Any, name: str, help_: str, example: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_,
        description=help_,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return p


def register(sub: Any) -> None:
    """Add the check, graph and review subcommands."""
    p = _parser(
        sub,
        "check",
        "check every record and quote; print problems at file:line:col",
        "kb check --strict --format github",
    )
    p.add_argument("--format", choices=("text", "json", "github"), default="text")
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    p.add_argument("--explain", metavar="CODE", help="print the documentation of a check code")
    p.add_argument("--list", action="store_true", help="list every check code with its severity")
    p.set_defaults(func=cmd_check)

    p = _parser(
        sub,
        "graph",
        "summarise the knowledge graph: counts, most connected, components",
        "kb graph --top 10",
    )
    p.add_argument("--top", type=int, default=5, help="how many most-connected records to list")
    p.set_defaults(func=cmd_graph)

    p = _parser(
        sub,
        "review",
        "record a review: verdict, attribution, reviewer, today's date and the fingerprint",
        "kb review my-claim --verdict accurate --attribution confirmed --reviewer fact-desk "
        '--rationale "As the study found."',
    )
    p.add_argument("claim")
    p.add_argument("--verdict", required=True, choices=tuple(VERDICTS))
    p.add_argument(
        "--attribution",
        choices=ATTRIBUTIONS,
        help="are the quoted words the speaker's? (default: the review's rating, kept)",
    )
    p.add_argument("--reviewer", required=True, help="an expert id")
    p.add_argument("--rationale", help="why: cite the evidence")
    p.add_argument("--date", help="review date (default: today, or SOURCE_DATE_EPOCH)")
    p.set_defaults(func=cmd_review)


def cmd_check(args: argparse.Namespace) -> int:
    """Run `kb check`."""
    if args.explain:
        c = CODES.get(args.explain)
        if c is None:
            raise KBError(f"no check code {args.explain!r}{did_you_mean(args.explain, CODES)}")
        print(f"{c.code} ({c.severity.value} by default; {c.family})\n\n{c.doc}")
        return 0
    if args.list:
        for c in sorted(CODES.values(), key=lambda c: (c.family, c.code)):
            print(f"{c.code:20} {c.severity.value:8} {c.summary}")
        return 0
    _kb, _g, problems = check_kb(args.root)
    print_problems(problems, args.format)
    if args.format == "text":
        errors = sum(p.severity == "error" for p in problems)
        print(f"{errors} error(s), {len(problems) - errors} warning(s)", file=sys.stderr)
        if not (_kb.claims or _kb.sources or _kb.experts):
            print(f"no records yet in {_kb.root}: nothing was checked", file=sys.stderr)
    return exit_code(problems, args.strict)


def cmd_graph(args: argparse.Namespace) -> int:
    """Run `kb graph`."""
    from kb.graph import summary

    _kb, g, _problems = check_kb(args.root)
    print(summary(g, args.top))
    return 0


def _today(given: str | None) -> str:
    if given:
        if not loading.check_date(given) or len(given) != 10:
            raise KBError(f"--date {given!r} must be YYYY-MM-DD")
        return given
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date().isoformat()
    return datetime.date.today().isoformat()


def _yaml_str(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML string


def _folded(key: str, text: str, width: int = 96) -> list[str]:
    """Write a long text as a folded block (`>-`), wrapped at single spaces, so it stays
    readable; fall back to a quoted string when folding could change the text."""
    import re

    plain = not re.search(r"[\n\t\r]|^\s|\s$", text)
    if len(text) <= width - len(key) - 4 or not plain:
        return [f"  {key}: {_yaml_str(text)}"]
    lines: list[str] = []
    line = ""
    for word in re.split(r"(?<! ) (?! )", text):  # break only at single spaces
        if line and len(line) + 1 + len(word) > width - 4:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return [f"  {key}: >-", *(f"    {ln}" for ln in lines)]


def cmd_review(args: argparse.Namespace) -> int:
    """Run `kb review`: replace the claim's review block, keeping the rest of the file as it is."""
    from kb.text.fingerprint import fingerprint

    kb, _g, _problems = check_kb(args.root)
    claim = kb.claims.get(args.claim)
    if claim is None:
        raise KBError(f"no claim {args.claim!r}{did_you_mean(args.claim, kb.claims)}")
    if args.reviewer not in kb.experts:
        raise KBError(f"no expert {args.reviewer!r}{did_you_mean(args.reviewer, kb.experts)}")
    path = Path(args.root) / claim.where.file
    with path.open(encoding="utf-8", newline="") as fh:  # keep CRLF and a byte-order mark
        lines = fh.read().splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    block = ["review:", f"  verdict: {args.verdict}"]
    attribution = args.attribution or (claim.review.attribution if claim.review else None)
    if attribution:
        block.append(f"  attribution: {attribution}")
    block += [f"  reviewer: {args.reviewer}", f"  date: {_today(args.date)}"]
    rationale = args.rationale or (claim.review.rationale if claim.review else None)
    if rationale:
        block.extend(_folded("rationale", rationale))
    if claim.review and claim.review.searched:  # kept as it was recorded
        block.append("  searched:")
        for s in claim.review.searched:
            block.append(f"    - where: {_yaml_str(s.place)}")
            block.append(f"      what: {_yaml_str(s.what)}")
            if s.when:
                block.append(f"      when: {s.when}")
    fp = fingerprint(kb, claim)
    block.append(f"  fingerprint: {_yaml_str(fp) if fp.isdigit() else fp}")  # 0123 is a number
    start = claim.where.key_at("review").line - 1 if claim.review else None
    if start is None and ("review", "<key>") in claim.where.marks:  # written, with no value
        start = claim.where.key_at("review").line - 1
    if start is not None:
        # The block is its indented lines; blank lines and comments at the margin after its
        # last indented line belong to what follows and are kept.
        end = k = start + 1
        while k < len(lines) and (
            lines[k][0] in " \t" or lines[k].startswith("#") or not lines[k].strip()
        ):
            k += 1
            if lines[k - 1][0] in " \t" and lines[k - 1].strip():
                end = k
    else:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        start = end = len(lines)
    lines[start:end] = [b + newline for b in block]
    _atomic_write(path, "".join(lines))
    print(f"reviewed {args.claim}: {args.verdict} ({claim.where.file})")
    return 0


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
