"""`kb show ID`: one record as a reviewer reads it, from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kb.cli import COMMANDS
from kb.cli.report import inert_json
from kb.codes import did_you_mean
from kb.errors import KBError, printable
from kb.model import VERDICT_LABELS, Claim, KnowledgeBase, Review

if TYPE_CHECKING:  # the handlers import the pipeline: `kb --help` loads none of it
    from kb.pipeline import Base

EXAMPLE = """\
  kb show my-claim
  kb show my-article             # a source, with its claims in the order of its text
  kb show expert:dr-someone      # kind:id when two kinds share an id"""
PREFIXES = ("claim", "source", "expert", "topic")


def register(sub: Any) -> None:
    """Add the show subcommand."""
    p = sub.add_parser(
        "show",
        help=COMMANDS["show"].summary,
        description=(
            "Show a record: a claim with its quotes (and whether each was found in its\n"
            "snapshot), verdict, review history, evidence and problems; a source with the claims\n"
            "quoted from it in the order of its text, then those citing it as evidence; a person\n"
            "with their quotes and reviews; a topic with its claims."
        ),
        epilog=f"example:\n{EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("id", metavar="ID", help="an id, or kind:id (claim:, source:, expert:, topic:)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_show)


def _resolve(kb: KnowledgeBase, ident: str) -> tuple[str, str]:
    kind, sep, rest = ident.partition(":")
    topics = kb.topics()
    pools: dict[str, Any] = {
        "claim": kb.claims,
        "source": kb.sources,
        "expert": kb.experts,
        "topic": {**{t: t for t in topics}, **{s: t for t, s in topics.items()}},
    }
    if sep and kind in PREFIXES:
        if rest not in pools[kind]:
            raise KBError(f"no {kind} {rest!r}{did_you_mean(rest, pools[kind])}")
        return kind, rest if kind != "topic" else pools["topic"][rest]
    found = [k for k in PREFIXES if ident in pools[k]]
    if not found:
        every = {i for k in PREFIXES for i in pools[k]}
        raise KBError(f"no record {ident!r}{did_you_mean(ident, every)}")
    if len(found) > 1:
        names = " or ".join(f"{k}:{ident}" for k in found)
        raise KBError(f"{ident!r} is the id of more than one record: write {names}")
    kind = found[0]
    return kind, ident if kind != "topic" else pools["topic"][ident]


def _scope(ident: str) -> Callable[[KnowledgeBase], list[str]]:
    """The claims whose checks `kb show` needs: the claim shown, or those quoting the source
    shown (their quotes are placed in its text); none for a person or a topic."""

    def scope(kb: KnowledgeBase) -> list[str]:
        kind, key = _resolve(kb, ident)
        if kind == "claim":
            return [key]
        if kind == "source":
            return [c for c, x in kb.claims.items() if any(q.source == key for q in x.quotes)]
        return []

    return scope


def cmd_show(args: argparse.Namespace) -> int:
    """Run `kb show`: only the checks of the claims shown run, not those across the base."""
    from kb.pipeline import open_scoped

    base = open_scoped(args.root, _scope(args.id))
    kind, ident = _resolve(base.kb, args.id)
    data = {"claim": _claim, "source": _source, "expert": _person, "topic": _topic}[kind](
        base, ident
    )
    if args.format == "json":
        print(inert_json(data))
    else:
        _print_text(data)
    return 0


def _review(r: Review, base: Base) -> dict[str, Any]:
    who = base.kb.experts.get(r.reviewer) if r.reviewer else None
    return {
        "verdict": r.verdict,
        "reviewer": r.reviewer,
        "reviewer_name": who.name if who else None,
        "reviewer_credentials": _credentials(who) if who else None,
        "date": r.date,
        "rationale": r.rationale,
    }


def _credentials(person: Any) -> str | None:
    parts = [x for x in (person.affiliation, person.credentials) if x]
    parts += [f"{r.title}, {r.organization}" if r.organization else r.title for r in person.roles]
    return "; ".join(parts) or None


def _quote_status(base: Base, claim: Claim, i: int) -> str:
    q = claim.quotes[i]
    src = base.kb.sources.get(q.source)
    if src is None or src.snapshot_text is None:
        return "not checked: no snapshot"
    spans = base.kb.located.get((claim.id, i, False))
    if spans is None:
        return "not checked"
    if not spans:
        return "NOT FOUND in the snapshot"
    if len(spans) > 1 and not (q.prefix or q.suffix):
        return f"found {len(spans)} times (ambiguous)"
    return "verified in the snapshot"


def _claim(base: Base, cid: str) -> dict[str, Any]:
    c = base.kb.claims[cid]  # type: ignore[index]
    names = base.kb.experts
    return {
        "kind": "claim",
        "id": c.id,
        "file": c.where.file,
        "statement": c.statement,
        "topics": list(c.topics),
        "verdict": c.verdict,
        "review": _review(c.review, base) if c.review else None,
        "history": [_review(h, base) for h in c.review.history] if c.review else [],
        "quotes": [
            {
                "text": q.text,
                "source": q.source,
                "speaker": q.speaker,
                "speaker_name": names[q.speaker].name if q.speaker in names else None,
                "attribution": q.attribution,
                "origin": "unknown" if q.origin and q.origin.unknown
                else q.origin.source if q.origin else None,
                "status": _quote_status(base, c, i),
            }
            for i, q in enumerate(c.quotes)
        ],
        "evidence": [
            {"source": e.source, "stance": e.stance, "directness": e.directness,
             "locator": e.locator, "note": e.note}
            for e in c.evidence
        ],
        "related": [{"claim": r.claim, "relation": r.relation} for r in c.related],
        "problems": [p.text() for p in base.problems if p.subject == f"claim:{cid}"],
    }  # fmt: skip


def _source(base: Base, sid: str) -> dict[str, Any]:
    kb = base.kb
    s = kb.sources[sid]  # type: ignore[index]
    placed: list[tuple[int, str, int]] = []  # (offset in the text, claim, quote index)
    unplaced: list[tuple[str, int]] = []
    for cid in sorted(kb.claims):
        for i, q in enumerate(kb.claims[cid].quotes):
            if q.source == sid:
                spans = kb.located.get((cid, i, False)) or []
                if spans:
                    placed.append((spans[0][0], cid, i))
                else:
                    unplaced.append((cid, i))
    order: list[tuple[str, int, int | None]] = [(c, i, at) for at, c, i in sorted(placed)]
    order += [(c, i, None) for c, i in unplaced]
    quoted = []
    text = s.snapshot_text or ""
    for key, i, at in order:
        c = kb.claims[key]  # type: ignore[index]
        line = text.count("\n", 0, at) + 1 if at is not None else None
        quoted.append({"claim": c.id, "verdict": c.verdict, "quote": c.quotes[i].text,
                       "line": line, "statement": c.statement})  # fmt: skip
    cited = [
        {"claim": cid, "stance": e.stance, "verdict": c.verdict, "statement": c.statement}
        for cid, c in sorted(kb.claims.items())
        for e in c.evidence
        if e.source == sid
    ]
    return {
        "kind": "source",
        "id": s.id,
        "file": s.where.file,
        "title": s.title,
        "type": s.type,
        "year": s.year,
        "snapshot": f"sources/{s.snapshot}" if s.snapshot else None,
        "quoted_in": quoted,
        "evidence_for": cited,
        "problems": [p.text() for p in base.problems if p.subject == f"source:{sid}"],
    }


def _person(base: Base, eid: str) -> dict[str, Any]:
    kb = base.kb
    x = kb.experts[eid]  # type: ignore[index]
    quotes = [
        {"claim": cid, "text": q.text, "source": q.source, "attribution": q.attribution}
        for cid, c in sorted(kb.claims.items())
        for q in c.quotes
        if q.speaker == eid
    ]
    reviews = [
        {"claim": cid, "verdict": r.verdict, "date": r.date, "current": r is c.review}
        for cid, c in sorted(kb.claims.items())
        if c.review
        for r in (c.review, *c.review.history)
        if r.reviewer == eid
    ]
    return {
        "kind": x.kind,
        "id": x.id,
        "file": x.where.file,
        "name": x.name,
        "credentials": _credentials(x),
        "quotes": quotes,
        "reviews": reviews,
    }


def _topic(base: Base, topic: str) -> dict[str, Any]:
    claims = [
        {"claim": cid, "verdict": c.verdict, "statement": c.statement}
        for cid, c in sorted(base.kb.claims.items())
        if topic in c.topics
    ]
    return {"kind": "topic", "id": topic, "page": base.kb.topics()[topic], "claims": claims}


def _print_text(data: dict[str, Any]) -> None:
    out: list[str] = []
    add = out.append
    kind = data["kind"]
    if kind == "claim":
        _claim_text(data, add)
    elif kind == "source":
        add(f"{data['id']} ({data['type']}, {data['year'] or 'n.d.'}): {data['title']}")
        add(
            f"  file: {data['file']}"
            + (f"; snapshot: {data['snapshot']}" if data["snapshot"] else "")
        )
        add(f"claims quoted from it, in the order of its text ({len(data['quoted_in'])}):")
        for q in data["quoted_in"]:
            where = f"line {q['line']}" if q["line"] else "not placed"
            add(f"  {q['claim']} [{q['verdict']}] ({where}): “{q['quote']}”")
        if data["evidence_for"]:
            add(f"cited as evidence ({len(data['evidence_for'])}):")
            for e in data["evidence_for"]:
                add(f"  {e['claim']} [{e['verdict']}]: {e['stance']}")
        _problems(data, add)
    elif kind == "topic":
        add(f"topic {data['id']} (topics/{data['page']}.html): {len(data['claims'])} claim(s)")
        for c in data["claims"]:
            add(f"  {c['claim']} [{c['verdict']}]: {c['statement']}")
    else:
        add(f"{data['id']} ({kind}): {data['name']}")
        if data["credentials"]:
            add(f"  {data['credentials']}")
        add(f"quotes attributed ({len(data['quotes'])}):")
        for q in data["quotes"]:
            add(f"  {q['claim']} ({q['source']}): “{q['text']}”")
        if data["reviews"]:
            add(f"reviews ({len(data['reviews'])}):")
            for r in data["reviews"]:
                now = "" if r["current"] else " (earlier)"
                add(f"  {r['claim']}: {r['verdict']}, {r['date'] or 'undated'}{now}")
    sys.stdout.write("".join(printable(line) + "\n" for line in out))


def _claim_text(data: dict[str, Any], add: Any) -> None:
    add(f"{data['id']}: {data['statement']}")
    add(f"  file: {data['file']}; topics: {', '.join(data['topics']) or 'none'}")
    label = VERDICT_LABELS.get(data["verdict"], data["verdict"])
    review = data["review"]
    if review:
        by = _by(review)
        add(f"verdict: {label}{by}, {review['date'] or 'undated'}")
        if review["rationale"]:
            add(f"  {review['rationale']}")
        for h in data["history"]:
            add(f"  earlier: {h['verdict']}{_by(h)}, {h['date'] or 'undated'}")
    else:
        add("verdict: Unreviewed")
    add(f"quotes ({len(data['quotes'])}):")
    for i, q in enumerate(data["quotes"], 1):
        add(f"  {i}. “{q['text']}”")
        who = q["speaker_name"] or q["speaker"] or "the source's own voice"
        add(f"     in {q['source']}; speaker: {who}; {q['status']}")
        if q["attribution"]:
            add(f"     attributed as “{q['attribution']}”")
        if q["origin"]:
            add(f"     origin: {q['origin']}")
    add(f"evidence ({len(data['evidence'])}):")
    for e in data["evidence"]:
        note = f": {e['note']}" if e["note"] else ""
        add(f"  {e['source']}: {e['stance']} ({e['directness']}){note}")
    for r in data["related"]:
        add(f"related: {r['relation']} {r['claim']}")
    _problems(data, add)


def _by(review: dict[str, Any]) -> str:
    if not review["reviewer"]:
        return ""
    name = review["reviewer_name"] or review["reviewer"]
    cred = f" ({review['reviewer_credentials']})" if review["reviewer_credentials"] else ""
    return f" by {name}{cred}"


def _problems(data: dict[str, Any], add: Any) -> None:
    problems = data.get("problems") or []
    add(f"problems ({len(problems)}):" if problems else "problems: none")
    for p in problems:
        add(f"  {p}")
