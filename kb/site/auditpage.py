"""The audit page: every claim and every problem, in tables that sort and filter.

Up to `PAGE_ROWS` rows of each table are drawn in the page, so that its first screen comes at
once at any size; when there are more, `audit-data.js` (`window.KB_AUDIT`) holds every row as
plain values and audit.js sorts, filters and draws them a page at a time from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

from kb.errors import Problem
from kb.graph import node_id
from kb.model import ATTRIBUTIONS, Claim
from kb.site import refs
from kb.site.jinja import table
from kb.site.present import (
    KIND_LABELS,
    VERDICT_ORDER,
    Links,
    attribution_badge,
    badge,
    severity_badge,
    summary_of,
    verdict_label,
)
from kb.site.sitedata import js_assign, js_json
from kb.site.state import Counts, Site
from kb.urls import AUDIT_PAGE

AUDIT_DATA = "audit-data.js"
PAGE_ROWS = 200  # rows drawn in the page, and then by audit.js at a time


def _said_reviewer(row: Sequence[Any], at: int) -> Markup:
    if row[at] is None:
        return Markup("No claim has a reviewer.")
    name = escape(row[at])
    return Markup(f'Every claim reviewed by <a href="{escape(row[at + 1])}">{name}</a>.')


def _said_date(row: Sequence[Any], at: int) -> Markup:
    if not row[at]:
        return Markup("No review is dated.")
    return Markup(
        f'Every review dated <time datetime="{escape(row[at])}">{escape(row[at])}</time>.'
    )


def _said_count(what: str) -> Callable[[Sequence[Any], int], Markup]:
    def say(row: Sequence[Any], at: int) -> Markup:
        n = row[at]
        return Markup(
            f"{'No' if n == 0 else f'Every claim has {n}'} {what}{'' if n == 1 else 's'}."
        )

    return say


# (flag, column in a claim row, what to say when every row has the same value there)
_SHARED_COLUMNS: tuple[tuple[str, int, Callable[[Sequence[Any], int], Markup]], ...] = (
    ("r", 6, _said_reviewer),
    ("d", 8, _said_date),
    ("e", 9, _said_count("error")),
    ("w", 10, _said_count("warning")),
)


_Rows = tuple[list[tuple[Any, ...]], str, list[Markup], list[str] | None]


def _audit_rows(site: Site) -> _Rows:
    """`_rows` from the audit page, made once per build (the page and its data file show them)."""
    got: _Rows | None = site.once.get("audit-rows")
    if got is None:
        got = site.once["audit-rows"] = _rows(site, Links(AUDIT_PAGE))
    return got


def _audit_problems(site: Site) -> tuple[list[tuple[Any, ...]], list[str] | None]:
    """`_problems` from the audit page, made once per build."""
    got: tuple[list[tuple[Any, ...]], list[str] | None] | None = site.once.get("audit-problems")
    if got is None:
        got = site.once["audit-problems"] = _problems(site, Links(AUDIT_PAGE))
    return got


_RANK = {v: i for i, v in enumerate(VERDICT_ORDER)}


def _claim_row(site: Site, cid: str, c: Claim, counts: Counts, u: Links) -> tuple[Any, ...]:
    reviewer = refs.expert_ref(site, c.review.reviewer if c.review else None, u)
    attribution = c.review.attribution if c.review else None
    return (
        cid,
        c.statement,
        u.claim(cid),
        c.verdict,
        _RANK.get(c.verdict, len(VERDICT_ORDER)),
        summary_of(c),
        reviewer["name"] if reviewer else None,
        reviewer["href"] if reviewer else None,
        c.review.date if c.review and c.review.date else "",
        counts.errors,
        counts.warnings,
        attribution or "",
        ATTRIBUTIONS.index(attribution) if attribution else len(ATTRIBUTIONS),
    )


def _rows(site: Site, u: Links) -> _Rows:
    """The claims' rows as plain values, the flags of the columns every row shares (left
    out of the rows' markup), what is said of them above the table, and (with `site.memo`)
    each row's JSON.

    With `site.memo`, a claim's row and its JSON are kept while its record, its problem
    counts and the world (its reviewer's name) are the same."""
    memo = site.memo
    old: dict[str, tuple[Any, tuple[Any, ...], str]] = {}
    if memo is not None:
        old = memo.store.get("audit-claims", {})
    kept: dict[str, tuple[Any, tuple[Any, ...], str]] = {}
    rows = []
    texts: list[str] | None = [] if memo is not None else None
    for cid, c in sorted(site.kb.claims.items()):
        node = node_id("claim", cid)
        counts = site.counts_of(node)
        if memo is None:
            rows.append(_claim_row(site, cid, c, counts, u))
            continue
        assert texts is not None
        digest = memo.digest(node)
        stamp = (digest, memo.world, counts)
        got = old.get(cid)
        if got is None or digest is None or got[0] != stamp:
            row = _claim_row(site, cid, c, counts, u)
            got = (stamp, row, js_json(row))
        if digest is not None:
            kept[cid] = got
        rows.append(got[1])
        texts.append(got[2])
    if memo is not None:
        memo.store["audit-claims"] = kept
    # Columns with the same value on every row are said once, above the table.
    shared: list[Markup] = []
    hidden = ""
    if len(rows) > 1:
        for flag, at, say in _SHARED_COLUMNS:
            values = {r[at] for r in rows}
            if len(values) == 1:
                hidden += flag
                shared.append(say(rows[0], at))
    return rows, hidden, shared, texts


def _problem_row(p: Problem, node: bool, u: Links) -> tuple[Any, ...]:
    kind = href = label = None
    if node and p.subject is not None:
        kind, _, label = p.subject.partition(":")
        href = u.node(p.subject)
        kind = KIND_LABELS.get(kind, kind)
    return (p.severity.value, p.code, p.message, str(p.loc), p.loc.path, p.loc.line, kind,
            href, label)  # fmt: skip


def _problems(site: Site, u: Links) -> tuple[list[tuple[Any, ...]], list[str] | None]:
    """The problems' rows as plain values, and (with `site.memo`) each row's JSON.

    With `site.memo`, a row and its JSON are kept for the same problem object (the checks'
    memory hands back the unchanged claims' problems) while its subject stays a node of the
    graph or not; the object is kept with them, so its id() is not taken by another."""
    memo = site.memo
    succ = site.succ
    if memo is None:
        rows = [_problem_row(p, bool(p.subject) and p.subject in succ, u) for p in site.problems]
        return rows, None
    old: dict[int, tuple[Problem, bool, tuple[Any, ...], str]] = memo.store.get(
        "audit-problems", {}
    )
    kept: dict[int, tuple[Problem, bool, tuple[Any, ...], str]] = {}
    rows, texts = [], []
    for p in site.problems:
        node = bool(p.subject) and p.subject in succ  # a node of the graph
        got = old.get(id(p))
        if got is None or got[0] is not p or got[1] != node:
            row = _problem_row(p, node, u)
            got = (p, node, row, js_json(row))
        kept[id(p)] = got
        rows.append(got[2])
        texts.append(got[3])
    memo.store["audit-problems"] = kept
    return rows, texts


def audit_page(site: Site, u: Links) -> dict[str, Any]:
    """Return the context of the audit page."""
    rows, hidden, shared, _ = _audit_rows(site)
    problems, _ = _audit_problems(site)
    first = [(*r, hidden) for r in rows[:PAGE_ROWS]]
    first_problems = [(p[0], severity_badge(p[0]), *p[1:]) for p in problems[:PAGE_ROWS]]
    chunked = len(rows) > PAGE_ROWS or len(problems) > PAGE_ROWS
    return {
        "title": "Audit",
        "claim_count": len(rows),
        "problem_count": len(problems),
        "claim_rows": table(site, "claim_rows", first),
        "shared": shared,
        "hidden": hidden,
        "problem_rows": table(site, "problem_rows", first_problems),
        "problems": bool(problems),
        "verdicts": [(v, verdict_label(v)) for v in VERDICT_ORDER],
        "codes": sorted({p.code for p in site.problems}),
        "data": u.to(AUDIT_DATA) if chunked else None,
        "page_rows": PAGE_ROWS,
        "badges": [(v, badge(v)) for v in VERDICT_ORDER],
        "severities": [(s, severity_badge(s)) for s in ("error", "warning")],
        "attributions": [(a, attribution_badge(a)) for a in ("", *ATTRIBUTIONS)],
    }


def audit_data(site: Site) -> bytes | None:
    """Return `audit-data.js`, every row of both tables, or None when the page holds them all."""
    if len(site.kb.claims) <= PAGE_ROWS and len(site.problems) <= PAGE_ROWS:
        return None
    rows, hidden, _, row_texts = _audit_rows(site)
    problems, problem_texts = _audit_problems(site)
    if row_texts is None or problem_texts is None:
        return js_assign("KB_AUDIT", {"claims": rows, "hidden": hidden, "problems": problems})
    # with a memo, each row's JSON is kept: js_assign's text, in pieces (js_json escapes
    # character by character, and sorts the three keys as written here)
    text = (
        'window.KB_AUDIT = {"claims":['
        + ",".join(row_texts)
        + '],"hidden":'
        + js_json(hidden)
        + ',"problems":['
        + ",".join(problem_texts)
        + "]};\n"
    )
    return text.encode()
