"""`claims.csv`: one row per claim for spreadsheets: verdict, quotes, evidence and problems.

The file starts with a UTF-8 byte-order mark, without which Excel reads UTF-8 as Windows-1252
(`naïve` shown as `naÃ¯ve`); `kb export csv --no-bom` leaves it out, and pandas'
`read_csv(encoding="utf-8-sig")` reads either. List cells join ids with `; ` (ids hold no `;`);
topics are free text that may hold `;`, so `claim-topics.csv` (kb.export.claimtopics) has one
row per claim and topic.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from kb.errors import Problem, Severity
from kb.export.csvtext import BOM, FORMULA_START, cell
from kb.memo import Memo
from kb.model import STANCES, VERDICT_LABELS, VERDICTS, Claim, KnowledgeBase
from kb.urls import page_path

COLUMNS = (
    "id", "statement", "verdict", "verdict_label", "rating", "reviewer", "review_date",
    "topics", "quotes", "speakers", "quoted_sources", "origins",
    *(f"evidence_{s}" for s in STANCES), "errors", "warnings", "page",
)  # fmt: skip


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return the claims as CSV (RFC 4180, UTF-8, header row), sorted by id; with a `memo`,
    each row is kept by its claim's digest and problem counts (all a row shows)."""
    errors: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    for p in problems:
        if p.subject:
            (errors if p.severity is Severity.ERROR else warnings)[p.subject] += 1
    buf = io.StringIO()
    buf.write(BOM)
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS)
    if memo is None:
        out.writerows(_row(cid, kb.claims[cid], errors, warnings) for cid in sorted(kb.claims))
        return buf.getvalue().encode("utf-8")
    texts = [buf.getvalue()]
    old: dict[str, Any] = memo.store
    new: dict[str, Any] = {}
    for cid in sorted(kb.claims):
        subject = "claim:" + cid
        key = (memo.digest(subject), errors[subject], warnings[subject])
        got = old.get(cid)
        if got is None or key[0] is None or got[0] != key:
            buf.seek(0)
            buf.truncate()
            out.writerow(_row(cid, kb.claims[cid], errors, warnings))
            got = (key, buf.getvalue())
        if key[0] is not None:
            new[cid] = got
        texts.append(got[1])
    memo.store = new
    return "".join(texts).encode("utf-8")


def _row(cid: str, c: Claim, errors: Counter[str], warnings: Counter[str]) -> list[object]:
    """One claim's cells, as `cell` gives them: text that no spreadsheet could take for a
    formula and numbers that are not negative go as they are (the csv writer writes them as
    `cell` would), anything else through `cell`."""
    stances = [e.stance for e in c.evidence]
    quotes = c.quotes
    review = c.review
    verdict = c.verdict
    subject = "claim:" + cid
    row = [
        cid, c.statement, verdict, VERDICT_LABELS.get(verdict, verdict),
        VERDICTS.get(verdict), review.reviewer if review else None,
        review.date if review else None, "; ".join(c.topics), len(quotes),
        "; ".join(dict.fromkeys([q.speaker for q in quotes if q.speaker])),
        "; ".join(dict.fromkeys([q.source for q in quotes])),
        "; ".join(dict.fromkeys([q.origin.source for q in quotes
                                 if q.origin and q.origin.source])),
        *(stances.count(s) for s in STANCES),
        errors[subject], warnings[subject], page_path("claim", cid),
    ]  # fmt: skip
    return [
        v
        if (type(v) is str and v[:1] not in FORMULA_START) or (type(v) is int and v >= 0)
        else cell(v)
        for v in row
    ]
