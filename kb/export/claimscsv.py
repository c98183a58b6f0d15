"""`claims.csv`: one row per claim for spreadsheets: verdict, quotes, evidence and problems."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence

import networkx as nx

from kb.errors import Problem, Severity
from kb.graph import node_id
from kb.model import STANCES, VERDICT_LABELS, VERDICTS, KnowledgeBase
from kb.urls import page_path

COLUMNS = (
    "id", "statement", "verdict", "verdict_label", "rating", "reviewer", "review_date",
    "topics", "quotes", "speakers", "quoted_sources", "origins",
    *(f"evidence_{s}" for s in STANCES), "errors", "warnings", "page",
)  # fmt: skip


def cell(value: object) -> str:
    """Text for a cell; a leading = + - @ is quoted so spreadsheets do not run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]) -> bytes:
    """Return the claims as CSV (RFC 4180, UTF-8, header row), sorted by id."""
    errors: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for p in problems:
        if p.subject:
            (errors if p.severity is Severity.ERROR else warnings)[p.subject] += 1
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS)
    for cid in sorted(kb.claims):
        c = kb.claims[cid]
        stances = Counter(e.stance for e in c.evidence)
        row = [
            cid, c.statement, c.verdict, VERDICT_LABELS.get(c.verdict, c.verdict),
            VERDICTS.get(c.verdict), c.review.reviewer if c.review else None,
            c.review.date if c.review else None, "; ".join(c.topics), len(c.quotes),
            "; ".join(dict.fromkeys(q.speaker for q in c.quotes if q.speaker)),
            "; ".join(dict.fromkeys(q.source for q in c.quotes)),
            "; ".join(dict.fromkeys(q.origin.source for q in c.quotes
                                    if q.origin and q.origin.source)),
            *(stances[s] for s in STANCES),
            errors[node_id("claim", cid)], warnings[node_id("claim", cid)],
            page_path("claim", cid),
        ]  # fmt: skip
        out.writerow([cell(v) for v in row])
    return buf.getvalue().encode("utf-8")
