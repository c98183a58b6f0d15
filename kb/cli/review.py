"""`kb review`: record verdicts in claim files, in batches, keeping every earlier review."""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.cli import COMMANDS
from kb.cli.report import text_arg
from kb.codes import did_you_mean
from kb.errors import KBError, Severity
from kb.model import ATTRIBUTIONS, VERDICTS, Claim, source_date

if TYPE_CHECKING:  # the handlers import the pipeline: `kb --help` loads none of it
    from kb.pipeline import Base

EXAMPLE = """\
  kb review my-claim --verdict accurate --reviewer fact-desk --rationale "As the study found."
  kb review my-claim --verdict needs-context --reviewer fact-desk   # claims may be several
  kb review --reconfirm my-claim                         # looked again: the verdict stands
  kb review --reconfirm --stale                          # every stale review, in one command"""


def register(sub: Any) -> None:
    """Add the review subcommand."""
    p = sub.add_parser(
        "review",
        help=COMMANDS["review"].summary,
        description=(
            "Record a review of each CLAIM: the verdict, reviewer, date and the fingerprint of\n"
            "what the reviewer saw. The review it replaces moves into the claim's review history\n"
            "(latest first). A claim with errors is refused. --reconfirm records that the\n"
            "reviewer looked again and the verdict stands: a new date and fingerprint, the\n"
            "verdict, reviewer and rationale kept."
        ),
        epilog=f"example:\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("claims", nargs="*", metavar="CLAIM")
    p.add_argument("--verdict", choices=tuple(VERDICTS))
    p.add_argument(
        "--attribution",
        choices=ATTRIBUTIONS,
        help="are the quoted words the speaker's? (default: the review's rating, kept)",
    )
    p.add_argument(
        "--reconfirm", action="store_true", help="the verdict stands: new date and fingerprint"
    )
    p.add_argument(
        "--stale", action="store_true", help="with --reconfirm: every claim whose review is stale"
    )
    p.add_argument(
        "--upgrade-fingerprints",
        action="store_true",
        help="rewrite every current fingerprint of the first form (12 hex digits) in the "
        "part-by-part form; no review is added",
    )
    p.add_argument(
        "--reviewer", help="a reviewer's id (experts/ID.yaml); default: the review's own"
    )
    p.add_argument(
        "--rationale",
        type=text_arg,
        help="why: cite the evidence (default: the rationale kept)",
    )
    p.add_argument("--date", help="review date (default: today, or SOURCE_DATE_EPOCH)")
    p.set_defaults(func=cmd_review)


def _today(given: str | None) -> str:
    from kb.reading import problems as loading

    if given:
        if not loading.check_date(given) or len(given) != 10:
            raise KBError(f"--date {given!r} must be YYYY-MM-DD")
        return given
    return source_date() or datetime.date.today().isoformat()


def _targets(args: argparse.Namespace, base: Base) -> list[Claim]:
    kb = base.kb
    if args.reconfirm == bool(args.verdict):
        raise KBError("give --verdict V, or --reconfirm (not both)")
    ids: list[str] = list(args.claims)
    if args.stale:
        if not args.reconfirm:
            raise KBError("--stale goes with --reconfirm")
        ids += sorted(
            p.subject.partition(":")[2]
            for p in base.problems
            if p.code == "stale-review" and p.subject
        )
    if not ids and args.stale:  # asked for every stale review, and there is none
        return []
    if not ids:
        raise KBError("name at least one claim" + (" (or --stale)" if args.reconfirm else ""))
    claims: list[Claim] = []
    for cid in dict.fromkeys(ids):
        claim = kb.claims.get(cid)  # type: ignore[call-overload]
        if claim is None:
            raise KBError(f"no claim {cid!r}{did_you_mean(cid, kb.claims)}")
        claims.append(claim)
    return claims


def _refusals(base: Base, claims: list[Claim], reconfirm: bool) -> list[str]:
    """Why each claim cannot be reviewed: its errors (a quote not found included)."""
    wanted = {f"claim:{c.id}" for c in claims}
    files = {c.where.file for c in claims}
    out = []
    for p in base.problems:
        if p.severity is Severity.ERROR and (p.subject in wanted or p.loc.path in files):
            out.append(p.text())
    if reconfirm:
        out += [
            f"{c.where.file}:1:1: {c.id} has no review to reconfirm; give --verdict"
            for c in claims
            if c.review is None
        ]
    return out


def cmd_review(args: argparse.Namespace) -> int:
    """Run `kb review`."""
    from kb.pipeline import open_base
    from kb.reading.edit import EditRefused, edit_file
    from kb.text.fingerprint import fingerprint

    base = open_base(args.root)
    kb = base.kb
    if args.upgrade_fingerprints:
        return _upgrade(args, base)
    claims = _targets(args, base)
    if not claims:  # --stale, and no review is stale
        print("no review is stale: nothing to reconfirm")
        return 0
    if args.reviewer is not None and args.reviewer not in kb.experts:
        raise KBError(f"no reviewer {args.reviewer!r}{did_you_mean(args.reviewer, kb.experts)}")
    if args.reviewer is None and not args.reconfirm:
        raise KBError("--reviewer is required with --verdict")
    refused = _refusals(base, claims, args.reconfirm)
    if refused:
        for line in refused:
            print(line, file=sys.stderr)
        print("kb review: nothing was written; fix the errors first", file=sys.stderr)
        return 1
    date = _today(args.date)
    for claim in claims:
        fp = fingerprint(kb, claim)
        verdict = args.verdict or (claim.review.verdict if claim.review else None)
        assert verdict is not None
        change = _change(verdict, args.attribution, args.reviewer, date, args.rationale, fp)
        try:
            edit_file(Path(args.root) / claim.where.file, change, claim.where.file)
        except EditRefused as exc:
            print(f"kb review: {exc}", file=sys.stderr)
            return 1
        what = "reconfirmed" if args.reconfirm else "reviewed"
        print(f"{what} {claim.id}: {verdict} ({claim.where.file})")
    return 0


def _upgrade(args: argparse.Namespace, base: Base) -> int:
    """Rewrite current fingerprints of the first form; a stale one is left for a reviewer."""
    from kb.reading.edit import EditRefused, edit_file
    from kb.text.fingerprint import fingerprint, is_current

    kb = base.kb
    done = stale = 0
    for _cid, claim in sorted(kb.claims.items()):
        r = claim.review
        if r is None or not r.fingerprint or r.fingerprint.strip().startswith("s:"):
            continue
        if not is_current(r.fingerprint, kb, claim):
            stale += 1
            continue
        fp = fingerprint(kb, claim)

        def change(doc: MutableMapping[str, Any], fp: str = fp) -> None:
            review = doc.get("review")
            if isinstance(review, MutableMapping):
                review["fingerprint"] = fp

        try:
            edit_file(Path(args.root) / claim.where.file, change, claim.where.file)
        except EditRefused as exc:
            print(f"kb review: {exc}", file=sys.stderr)
            return 1
        done += 1
    print(f"{done} fingerprint(s) rewritten; {stale} stale one(s) left for a review")
    return 0


def _change(
    verdict: str,
    attribution: str | None,
    reviewer: str | None,
    date: str,
    rationale: str | None,
    fp: str,
) -> Any:
    from kb.reading.edit import folded, plain

    def change(doc: MutableMapping[str, Any]) -> None:
        old = doc.get("review")
        review: MutableMapping[str, Any] = {}
        history = None
        if isinstance(old, MutableMapping):  # edited in place, its layout kept
            review = old
            earlier = {k: plain(v) for k, v in old.items() if k != "history"}
            history = [earlier, *plain(old.get("history") or [])]
        review["verdict"] = verdict
        if attribution:
            review["attribution"] = attribution
        if reviewer:
            review["reviewer"] = reviewer
        review["date"] = date
        if rationale:
            review["rationale"] = folded(rationale)
        review["fingerprint"] = fp
        if history is not None:
            review["history"] = history
        else:
            doc["review"] = review

    return change
