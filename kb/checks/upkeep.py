"""Upkeep checks: what still needs a reviewer's attention."""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks.context import Context
from kb.codes import code, problem
from kb.errors import Loc, Problem, Severity
from kb.reading import templates as T
from kb.text.fingerprint import fingerprint, matches

F = "upkeep"


@code("unreviewed", F, Severity.WARNING, runs=True)
def unreviewed(ctx: Context) -> Iterator[Problem]:
    """A claim has no `review:`: no reviewer has given it a verdict yet.

    Write one with `kb review CLAIM --verdict V --reviewer ID --rationale TEXT`.
    """
    for cid, c in ctx.claims():
        if c.review is None:
            yield problem(
                "unreviewed",
                c.where.at("statement"),
                f"claim {cid} has not been reviewed",
                f"claim:{cid}",
            )


@code("stale-review", F, Severity.WARNING, runs=True)
def stale_review(ctx: Context) -> Iterator[Problem]:
    """A review's `fingerprint` no longer matches the claim: its statement, quotes, evidence or the
    snapshots its quotes are checked against changed after the review.

    Never judged from file times. Review the claim again (`kb review` records the new fingerprint).
    """
    for cid, c in ctx.claims():
        if c.review and c.review.fingerprint:
            current = fingerprint(ctx.kb, c)
            if not matches(c.review.fingerprint, current):
                yield problem(
                    "stale-review",
                    c.review.where.at("fingerprint"),
                    f"the claim changed since its review of {c.review.date or 'unknown date'} "
                    f"(fingerprint {c.review.fingerprint}, now {current}): review it again",
                    f"claim:{cid}",
                )


@code("orphan-source", F, Severity.WARNING, runs=True)
def orphan_source(ctx: Context) -> Iterator[Problem]:
    """A source that no claim quotes or cites, no origin names, no expert role rests on, and no
    other source derives from."""
    if not ctx.across:
        return
    g = ctx.graph
    for sid, s in sorted(ctx.kb.sources.items()):
        if g.in_degree(f"source:{sid}") == 0:
            yield problem(
                "orphan-source",
                s.where.at(),
                f"source {sid} is not used by any claim or expert",
                f"source:{sid}",
            )


@code("orphan-expert", F, Severity.WARNING, runs=True)
def orphan_expert(ctx: Context) -> Iterator[Problem]:
    """An expert that no quote attributes words to and no review names as reviewer."""
    if not ctx.across:
        return
    g = ctx.graph
    for eid, x in sorted(ctx.kb.experts.items()):
        if g.in_degree(f"expert:{eid}") == 0:
            yield problem(
                "orphan-expert",
                x.where.at(),
                f"expert {eid} is not quoted and reviews nothing",
                f"expert:{eid}",
            )


@code("template-unedited", F, Severity.WARNING, runs=True)
def template_unedited(ctx: Context) -> Iterator[Problem]:
    """A record still holds a placeholder that `kb new` wrote: a claim's statement, a source's
    title, an expert's name, or a quote's example text uncommented as it was.

    Write the real value in its place (or give it at once: `kb new claim ID --statement ...`,
    `kb new source ID --title ...`, `kb new expert ID --name ...`).
    """
    for cid, c in ctx.claims():
        if c.statement == T.PLACEHOLDER_STATEMENT:
            yield _unedited(c.where.at("statement"), "statement", f"claim:{cid}")
        for i, q in enumerate(c.quotes):
            if q.text == T.PLACEHOLDER_QUOTE:
                yield _unedited(c.where.at("quotes", i, "text"), "text", f"claim:{cid}")
    if not ctx.across:
        return
    for sid, s in sorted(ctx.kb.sources.items()):
        if s.title == T.PLACEHOLDER_TITLE:
            yield _unedited(s.where.at("title"), "title", f"source:{sid}")
    for eid, x in sorted(ctx.kb.experts.items()):
        if x.name == T.PLACEHOLDER_NAME:
            yield _unedited(x.where.at("name"), "name", f"expert:{eid}")


def _unedited(loc: Loc, key: str, subject: str) -> Problem:
    return problem(
        "template-unedited",
        loc,
        f"{key!r} is still the placeholder of `kb new` ({T.PLACEHOLDERS[key]!r}): write the "
        "real value",
        subject,
    )
