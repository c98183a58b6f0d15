"""`audit.json`: every problem the checks found and every claim's status, for tools and CI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from kb.errors import Problem, Severity
from kb.export import jsontext
from kb.memo import Memo
from kb.model import VERDICTS, KnowledgeBase


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return a summary, the problems (by place) and each claim's verdict and problem codes.

    With a `memo`, the text of each claim's entry is kept by its digest and problems (all it
    shows), and that of each problem by the problem (an equal one has the same text).
    """
    ordered = sorted(problems, key=Problem.sort_key)
    by_subject: dict[str, list[Problem]] = {}
    for p in ordered:
        if p.subject:
            by_subject.setdefault(p.subject, []).append(p)
    claims, new_claims = _claims(kb, by_subject, memo)
    listed, new_problems, last = _problems(ordered, memo)
    if memo is not None:
        memo.store = {"claims": new_claims, "problems": new_problems, "listed": last}
    doc = {"summary": _summary(kb, ordered), "problems": listed, "claims": claims}
    return (jsontext.dumps(doc) + "\n").encode("utf-8")


def _claims(
    kb: KnowledgeBase, by_subject: dict[str, list[Problem]], memo: Memo | None
) -> tuple[list[Any], dict[str, tuple[Any, str]]]:
    """Each claim's entry (its text kept by the claim's digest and problems, with a memo)."""
    claims: list[Any] = []
    old_claims: dict[str, tuple[Any, str]] = memo.store.get("claims", {}) if memo else {}
    new_claims: dict[str, tuple[Any, str]] = {}
    digests = memo.digests if memo is not None else {}
    for cid in sorted(kb.claims):
        c = kb.claims[cid]
        node = "claim:" + cid
        mine = by_subject.get(node)
        digest = digests.get(node)
        if digest is not None:
            key = (digest, mine)  # the claim and its problems: all its entry shows
            got = old_claims.get(cid)
            if got is not None and got[0] == key:  # equal problems: the same counts and codes
                new_claims[cid] = got
                claims.append(jsontext.Raw(got[1]))
                continue
        review = c.review
        entry = {
            "id": cid,
            "verdict": c.verdict,
            "reviewer": review.reviewer if review else None,
            "review_date": review.date if review else None,
            "errors": sum(p.severity is Severity.ERROR for p in mine) if mine else 0,
            "warnings": sum(p.severity is Severity.WARNING for p in mine) if mine else 0,
            "codes": sorted({p.code for p in mine}) if mine else [],
        }
        text = jsontext.encode_at(entry, 2) if digest is not None else None
        if text is None:
            claims.append(entry)
        else:
            new_claims[cid] = (key, text)
            claims.append(jsontext.Raw(text))
    return claims, new_claims


def _problems(
    ordered: list[Problem], memo: Memo | None
) -> tuple[Any, dict[Problem, str], tuple[list[Problem], str] | None]:
    """The problems section (kept whole while the problems are equal, with a memo), the text
    of each problem, and the section as kept."""
    listed: Any = []
    old_problems: dict[Problem, str] = memo.store.get("problems", {}) if memo else {}
    new_problems: dict[Problem, str] = {}
    last = memo.store.get("listed") if memo else None
    if last is not None and last[0] == ordered:  # equal problems: the same text
        return jsontext.Raw(last[1]), old_problems, last
    for p in ordered:
        seen = old_problems.get(p)  # an equal problem: the same text
        if seen is not None:
            new_problems[p] = seen
            listed.append(jsontext.Raw(seen))
            continue
        item = {**p.as_dict(), "subject": p.subject}
        text = jsontext.encode_at(item, 2) if memo is not None else None
        if text is None:
            listed.append(item)
        else:
            new_problems[p] = text
            listed.append(jsontext.Raw(text))
    section = jsontext.encode_at(listed, 1) if memo is not None else None
    if section is None:
        return listed, new_problems, None
    return jsontext.Raw(section), new_problems, (ordered, section)


def _summary(kb: KnowledgeBase, ordered: list[Problem]) -> dict[str, Any]:
    verdicts = Counter(c.verdict for c in kb.claims.values())
    return {
        "title": kb.config.title,
        "claims": len(kb.claims),
        "sources": len(kb.sources),
        "experts": len(kb.experts),
        "verdicts": {v: verdicts[v] for v in (*VERDICTS, "unreviewed")},
        "errors": sum(p.severity is Severity.ERROR for p in ordered),
        "warnings": sum(p.severity is Severity.WARNING for p in ordered),
        "codes": dict(sorted(Counter(p.code for p in ordered).items())),
    }
