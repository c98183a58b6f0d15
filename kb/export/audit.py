"""`audit.json`: every problem the checks found and every claim's status, for tools and CI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from kb.errors import Problem, Severity
from kb.export import jsontext
from kb.model import VERDICTS, KnowledgeBase


def export(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]) -> bytes:
    """Return a summary, the problems (by place) and each claim's verdict and problem codes."""
    ordered = sorted(problems, key=Problem.sort_key)
    by_subject: dict[str, list[Problem]] = {}
    for p in ordered:
        if p.subject:
            by_subject.setdefault(p.subject, []).append(p)
    claims: list[dict[str, Any]] = []
    for cid in sorted(kb.claims):
        c = kb.claims[cid]
        review = c.review
        mine = by_subject.get("claim:" + cid)
        claims.append(
            {
                "id": cid,
                "verdict": c.verdict,
                "reviewer": review.reviewer if review else None,
                "review_date": review.date if review else None,
                "errors": sum(p.severity is Severity.ERROR for p in mine) if mine else 0,
                "warnings": sum(p.severity is Severity.WARNING for p in mine) if mine else 0,
                "codes": sorted({p.code for p in mine}) if mine else [],
            }
        )
    verdicts = Counter(c.verdict for c in kb.claims.values())
    summary = {
        "title": kb.config.title,
        "claims": len(kb.claims),
        "sources": len(kb.sources),
        "experts": len(kb.experts),
        "verdicts": {v: verdicts[v] for v in (*VERDICTS, "unreviewed")},
        "errors": sum(p.severity is Severity.ERROR for p in ordered),
        "warnings": sum(p.severity is Severity.WARNING for p in ordered),
        "codes": dict(sorted(Counter(p.code for p in ordered).items())),
    }
    doc = {
        "summary": summary,
        "problems": [{**p.as_dict(), "subject": p.subject} for p in ordered],
        "claims": claims,
    }
    return (jsontext.dumps(doc) + "\n").encode("utf-8")
