"""Reference checks: every id a record names must exist."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kb.checks.context import Context
from kb.codes import code, did_you_mean, problem
from kb.errors import Loc, Problem
from kb.model import CITE_MARK

F = "references"


def _missing(
    name: str, kind: str, ident: str, pool: Mapping[Any, object], loc: Loc, subject: str
) -> Problem:
    return problem(
        name, loc, f"no {kind} {ident!r} in {kind}s/{did_you_mean(ident, pool)}", subject
    )


@code("unknown-source", F, runs=True)
def unknown_source(ctx: Context) -> Iterator[Problem]:
    """A quote, origin, evidence item, expert role or `derived_from` names a missing source.

    The message suggests the closest existing source id. Fix the id, or add `sources/<id>.yaml`.
    """
    pool = ctx.kb.sources
    for cid, c in ctx.claims():
        subj = f"claim:{cid}"
        for q in c.quotes:
            if q.source not in pool:
                yield _missing(
                    "unknown-source", "source", q.source, pool, q.where.at("source"), subj
                )
            if q.origin and q.origin.source and q.origin.source not in pool:
                yield _missing(
                    "unknown-source",
                    "source",
                    q.origin.source,
                    pool,
                    q.origin.where.at("source"),
                    subj,
                )
        for e in c.evidence:
            if e.source not in pool:
                yield _missing(
                    "unknown-source", "source", e.source, pool, e.where.at("source"), subj
                )
    if not ctx.across:  # the rest is about experts and sources, not claims
        return
    for eid, x in sorted(ctx.kb.experts.items()):
        for r in x.roles:
            if r.source and r.source not in pool:
                yield _missing(
                    "unknown-source",
                    "source",
                    r.source,
                    pool,
                    r.where.at("source"),
                    f"expert:{eid}",
                )
    for sid, s in sorted(ctx.kb.sources.items()):
        for i, parent in enumerate(s.derived_from):
            if parent not in pool:
                yield _missing(
                    "unknown-source",
                    "source",
                    parent,
                    pool,
                    s.where.at("derived_from", i),
                    f"source:{sid}",
                )


@code("unknown-expert", F, runs=True)
def unknown_expert(ctx: Context) -> Iterator[Problem]:
    """A quote's `speaker` or a review's `reviewer` (or an earlier one's, in its `history`) names
    a person that does not exist in `experts/`.

    The message suggests the closest existing expert id. Add `experts/<id>.yaml` (`kb new expert
    ID`) or fix the id.
    """
    pool = ctx.kb.experts
    for cid, c in ctx.claims():
        for q in c.quotes:
            if q.speaker and q.speaker not in pool:
                yield _missing(
                    "unknown-expert",
                    "expert",
                    q.speaker,
                    pool,
                    q.where.at("speaker"),
                    f"claim:{cid}",
                )
        for r in (c.review, *c.review.history) if c.review else ():
            if r.reviewer and r.reviewer not in pool:
                yield _missing(
                    "unknown-expert",
                    "expert",
                    r.reviewer,
                    pool,
                    r.where.at("reviewer"),
                    f"claim:{cid}",
                )


@code("unknown-claim", F, runs=True)
def unknown_claim(ctx: Context) -> Iterator[Problem]:
    """A `related` item names a claim that does not exist.

    The message suggests the closest existing claim id.
    """
    pool = ctx.kb.claims
    for cid, c in ctx.claims():
        for r in c.related:
            if r.claim not in pool:
                yield _missing(
                    "unknown-claim", "claim", r.claim, pool, r.where.at("claim"), f"claim:{cid}"
                )


@code("unknown-citation", F, runs=True)
def unknown_citation(ctx: Context) -> Iterator[Problem]:
    """A review's `rationale` cites `[@id]` and no source has that id.

    On the site each `[@source-id]` becomes a link to the source, shown as its short citation
    (Anis 1983); an unknown one is shown as written. The message suggests the closest id.
    """
    pool = ctx.kb.sources
    for cid, c in ctx.claims():
        review = c.review
        if review is None or not review.rationale or "[@" not in review.rationale:
            continue
        for m in CITE_MARK.finditer(review.rationale):
            if m.group(1) not in pool:
                yield _missing(
                    "unknown-citation",
                    "source",
                    m.group(1),
                    pool,
                    review.where.at("rationale"),
                    f"claim:{cid}",
                )
