"""Quote-first capture: a quote is checked against its source's snapshot as it is written.

`kb new claim ID --source S --quote "..."` and `kb quote add CLAIM --source S --quote "..."`
find the words at once; when they occur more than once the prefix (or suffix) that picks the
wanted place is filled in; when they are not there nothing is written and the nearest passage
of the snapshot is printed with a word diff.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from kb.cli import COMMANDS
from kb.cli.report import text_arg
from kb.codes import did_you_mean
from kb.errors import KBError
from kb.model import ClaimId, KnowledgeBase, SourceId


@dataclass(frozen=True)
class Placed:
    """Where a quote was found: its line, how many places hold it, and what picks the one."""

    line: int
    count: int
    prefix: str | None = None
    suffix: str | None = None


def _words_before(text: str, at: int, n: int) -> str:
    return " ".join(text[:at].split()[-n:])


def _words_after(text: str, at: int, n: int) -> str:
    return " ".join(text[at:].split()[:n])


def place(kb: KnowledgeBase, source: str, quote: str, occurrence: int = 1) -> Placed:
    """Find `quote` in the snapshot of `source`; return where, with the prefix or suffix that
    picks the `occurrence`-th place when there are several. Raise KBError (exit 1) with the
    nearest passage and a word diff when the words are not there."""
    from kb.text.nearest import nearest
    from kb.text.quotes import fold, locate

    src = kb.sources.get(SourceId(source))
    if src is None:
        raise KBError(f"no source {source!r}{did_you_mean(source, kb.sources)}")
    text = src.snapshot_text
    if text is None:
        raise KBError(
            f"source {source} has no snapshot to check the quote against: archive its text "
            f"first (`kb snapshot {source} FILE`)"
        )
    folded = fold(text)
    spans = locate(quote, folded, limit=None)  # every place: --at may pick any
    if not spans:
        near = nearest(quote, text)
        detail = near.describe(f"sources/{src.snapshot}", 600) if near else "no word of it is there"
        raise KBError(
            f"the quote is not in the snapshot of {source} (sources/{src.snapshot}); nothing "
            f"was written.\n  {detail}",
            1,
        )
    if not 1 <= occurrence <= len(spans):
        raise KBError(f"--at {occurrence}: the words occur {len(spans)} time(s)")
    start, end = spans[occurrence - 1]
    line = text.count("\n", 0, start) + 1
    if len(spans) == 1:
        return Placed(line, 1)
    for n in range(1, 16):  # the fewest words before (or after) that pick this place alone
        pre = _words_before(text, start, n)
        if pre and locate(quote, folded, prefix=pre) == [(start, end)]:
            return Placed(line, len(spans), prefix=pre)
        suf = _words_after(text, end, n)
        if suf and locate(quote, folded, suffix=suf) == [(start, end)]:
            return Placed(line, len(spans), suffix=suf)
    return Placed(line, len(spans))


def quote_item(args: argparse.Namespace, placed: Placed) -> dict[str, Any]:
    """The quote as a record's item, in the format's key order."""
    item: dict[str, Any] = {"text": args.quote, "source": args.source}
    for key in ("speaker", "attribution"):
        if getattr(args, key, None):
            item[key] = getattr(args, key)
    if placed.prefix:
        item["prefix"] = placed.prefix
    if placed.suffix:
        item["suffix"] = placed.suffix
    if getattr(args, "locator", None):
        item["locator"] = args.locator
    return item


def report(args: argparse.Namespace, placed: Placed) -> str:
    """What was found, for the user."""
    msg = f"found in the snapshot of {args.source}, line {placed.line}"
    if placed.count > 1:
        which = f"prefix {placed.prefix!r}" if placed.prefix else f"suffix {placed.suffix!r}"
        if not (placed.prefix or placed.suffix):
            which = "nothing (no prefix or suffix picks it)"
        msg += (
            f"; the words occur {placed.count} times: place {args.at} is picked by {which}"
            " (--at N picks another)"
        )
    return msg


def add_quote_arguments(p: argparse.ArgumentParser, required: bool) -> None:
    """The options that give a quote."""
    p.add_argument("--source", required=required, help="the source id whose snapshot has the words")
    p.add_argument("--quote", type=text_arg, required=required, help="the words exactly as printed")
    p.add_argument("--speaker", help="an expert id: who the source says spoke them")
    p.add_argument(
        "--attribution", type=text_arg, help="how the source introduces the speaker, as printed"
    )
    p.add_argument("--locator", type=text_arg, help="a pinpoint: page, paragraph, timestamp")
    p.add_argument(
        "--at", type=int, default=1, metavar="N", help="the N-th place, when the words recur"
    )


def register(sub: Any) -> None:
    """Add the `quote` subcommand (quote add)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "quote",
        help=COMMANDS["quote"].summary,
        description="Add a quote to an existing claim. The words are looked up in the source's "
        "snapshot first: when they are not there nothing is written and the nearest passage is "
        "shown with a word diff; when they occur more than once, the prefix (or suffix) that "
        "picks one is written too. The rest of the file, comments included, is kept.",
        epilog="example:\n  kb quote add my-claim --source my-article "
        '--quote "the words as printed" --speaker dr-someone',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a: argparse.ArgumentParser = actions.add_parser(
        "add", help="add a quote to a claim", description="Add a quote to a claim."
    )
    a.add_argument("claim", help="a claim id")
    add_quote_arguments(a, required=True)
    a.set_defaults(func=cmd_quote_add)


def cmd_quote_add(args: argparse.Namespace) -> int:
    """Run `kb quote add`."""
    from kb.reading.edit import edit_file
    from kb.reading.load import load_kb

    kb, _problems = load_kb(args.root)
    claim = kb.claims.get(ClaimId(args.claim))
    if claim is None:
        raise KBError(f"no claim {args.claim!r}{did_you_mean(args.claim, kb.claims)}")
    if args.speaker and args.speaker not in kb.experts:
        raise KBError(f"no expert {args.speaker!r}{did_you_mean(args.speaker, kb.experts)}")
    placed = place(kb, args.source, args.quote, args.at)
    path = args.root / claim.where.file
    item = quote_item(args, placed)

    def add(record: Any) -> None:
        quotes = record.get("quotes")
        if quotes:  # a list (an empty value, as the template writes it, is no list yet)
            quotes.append(dict(item))
        else:
            record["quotes"] = [dict(item)]

    edit_file(path, add, claim.where.file)
    print(f"added a quote to {claim.where.file}: {report(args, placed)}")
    return 0
