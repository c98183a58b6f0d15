"""Quote checks: are the words really in the archived source, and where did they first appear?"""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks.context import Context
from kb.codes import code, problem
from kb.errors import Loc, Problem, Severity
from kb.model import Claim, Source, SourceId
from kb.reading.extract import looks_like_markup
from kb.text.nearest import nearest
from kb.text.quotes import drift, places_text

F = "quotes"


def quote_spans(
    ctx: Context, claim: Claim, index: int, origin: bool = False
) -> list[tuple[int, int]]:
    """Return (found once, kept in kb.located for the renderer) where quote `index` of `claim`,
    or its origin's text, is in the snapshot."""
    key = (claim.id, index, origin)
    got = ctx.kb.located.get(key)
    if got is None:
        q = claim.quotes[index]
        if origin:
            o = q.origin
            got = ctx.spans(o.source, o.text) if o and o.source and o.text else []
        else:
            got = ctx.spans(q.source, q.text, q.prefix, q.suffix)
        ctx.kb.located[key] = got
    return got


# The nearest passage is looked for for this many quotes of one claim not found in one
# snapshot: a claim file can hold thousands of quotes. (Per claim, so that a claim's problems
# depend on its own record only, as kb.fast.checkmemory requires.)
NEAREST_PER_SNAPSHOT = 25


def _not_found(
    ctx: Context, src: Source, what: str, words: str, claim: Claim, loc: object
) -> Problem:
    excerpt = src.snapshot_scope == "excerpt"
    msg = f"{what} is not in the snapshot of {src.id} (sources/{src.snapshot})"
    if excerpt:
        msg += "; that snapshot is only an excerpt, so the words may be elsewhere in the source"
    key = (claim.id, src.id)
    searched = ctx.nearest_searched[key] = ctx.nearest_searched.get(key, 0) + 1
    if searched > NEAREST_PER_SNAPSHOT:
        msg += (
            f"; the nearest passage is shown for the first {NEAREST_PER_SNAPSHOT} of a claim's "
            "quotes not found in one snapshot"
        )
        near = None
    else:
        near = nearest(words, src.snapshot_text or "")
        msg += (
            f"; {near.describe(f'sources/{src.snapshot}')}" if near else "; no word of it is there"
        )
    p = problem("quote-not-found", loc, msg, f"claim:{claim.id}")  # type: ignore[arg-type]
    if excerpt:
        p = Problem(p.loc, p.code, p.message, Severity.WARNING, p.subject)
    return p


@code("quote-not-found", F, runs=True)
def quote_not_found(ctx: Context) -> Iterator[Problem]:
    """A quote's words are not in its source's snapshot, or an origin's words are not in its own.

    Matching compares both sides in Unicode NFC and ignores letter case and differences of white
    space, curly and straight quote marks and dashes, soft hyphens and zero-width characters, and
    a hyphen inside a word or at a line break (`regu-` at a line's end and `lated` on the next is
    `regulated`). An ellipsis (`…` or `...`) in a quote stands for omitted words: at most 1,000
    characters (about 150 words) within one paragraph (no blank line), and the punctuation next
    to it need not be in the snapshot (`the FDA. ... there` matches `the FDA; still, there`). A
    match neither starts nor ends inside a word, nor before a combining mark; a quote without a
    word (`,`) matches nowhere. An error where the snapshot is the full text; a warning where it
    is an excerpt (`snapshot_scope: excerpt`), which cannot prove the words absent.
    The message shows the nearest passage of the snapshot (its line, its words) and a word
    diff: `[-words-]` in the snapshot and not in the quote, `{+words+}` in the quote and not in
    the snapshot; for the first 25 of a claim's quotes not found in one snapshot (a search
    visits the places of the quote's rarest words, 20,000 at most).
    """
    for c, i, q in ctx.quotes():
        src = ctx.kb.sources.get(q.source)
        if src and src.snapshot_text is not None and not quote_spans(ctx, c, i):
            yield _not_found(ctx, src, "the quote", q.text, c, q.where.at("text"))
        o = q.origin
        if o is None or not o.text or not o.source:
            continue
        osrc = ctx.kb.sources.get(o.source)
        if osrc and osrc.snapshot_text is not None and not quote_spans(ctx, c, i, origin=True):
            yield _not_found(ctx, osrc, "the origin's text", o.text, c, o.where.at("text"))


@code("quote-ambiguous", F, Severity.WARNING, runs=True)
def quote_ambiguous(ctx: Context) -> Iterator[Problem]:
    """A quote's words appear in several places of its snapshot and no prefix or suffix picks one.

    Add `prefix:` (words just before) or `suffix:` (words just after) so that the highlight and
    the context shown are the right ones. Only a quote's first 1,000 places are kept: one found
    more often is said to appear "1,000 or more" times.
    """
    for c, i, q in ctx.quotes():
        spans = quote_spans(ctx, c, i)
        if len(spans) > 1:
            yield problem(
                "quote-ambiguous",
                q.where.at("text"),
                f"the quote appears {places_text(len(spans))} times in "
                f"sources/{ctx.kb.sources[q.source].snapshot};"
                " add a prefix or suffix to pick one",
                f"claim:{c.id}",
            )


@code("quote-drift", F, Severity.WARNING, runs=True)
def quote_drift(ctx: Context) -> Iterator[Problem]:
    """A quote's words differ from those of its origin (its earliest known appearance).

    Says which words were dropped, added or changed. Differences of letter case and punctuation
    alone are not drift; an ellipsis that stands for dropped words is (the words it hides are
    named). The words are compared in time n log n (a patience diff); texts of over a million
    words together are not compared, and the warning says so.
    """
    for c, _i, q in ctx.quotes():
        o = q.origin
        if o and o.text and not o.unknown:
            d = drift(o.text, q.text)
            if d:
                yield problem(
                    "quote-drift",
                    q.where.at("text"),
                    f"the quote differs from its origin in {o.source}: {d.describe()}",
                    f"claim:{c.id}",
                )


@code("quote-untraced", F, Severity.WARNING, runs=True)
def quote_untraced(ctx: Context) -> Iterator[Problem]:
    """A quote attributed to a speaker has no `origin` key: nobody traced where it first appeared.

    `origin: unknown` records that it was traced and not found, which is an answer, not a gap;
    `origin: first-hand` that the source itself heard the speaker (its own interview), so the
    source is the origin. A quote in the source's own voice (no `speaker`) is its own origin and
    needs none.
    """
    for c, _i, q in ctx.quotes():
        if q.speaker and q.origin is None:
            yield problem(
                "quote-untraced",
                q.where.at("speaker"),
                f"the words attributed to {q.speaker} have no origin: add `origin:` with the "
                "earliest source that has them, or `origin: unknown`",
                f"claim:{c.id}",
            )


@code("origin-unknown", F, Severity.WARNING, runs=True)
def origin_unknown(ctx: Context) -> Iterator[Problem]:
    """A quote attributed to a speaker was traced and its origin not found (`origin: unknown`).

    The words cannot be confirmed as the speaker's; a reviewer should see this before anyone
    repeats them as the speaker's words. (An extension of SPEC's codes.)
    """
    for c, _i, q in ctx.quotes():
        if q.speaker and q.origin and q.origin.unknown:
            yield problem(
                "origin-unknown",
                q.origin.where.at(),
                f"no earlier source was found for the words attributed to {q.speaker}: "
                "they cannot be confirmed as theirs",
                f"claim:{c.id}",
            )


@code("snapshot-markup", F, Severity.WARNING, runs=True)
def snapshot_markup(ctx: Context) -> Iterator[Problem]:
    """A snapshot looks like HTML: it holds tags (`<p>`, `<div>`) or entities (`&amp;`,
    `&rsquo;`), so quotes that are in the page may not be found in it.

    A page saved from a browser is markup, not the text a reader sees. Fix: make the snapshot
    with `kb snapshot SOURCE page.html --replace`, which keeps the main text with its
    entities decoded, one heading or paragraph a line.
    """
    if not ctx.across:
        return
    for sid, src in sorted(ctx.kb.sources.items()):
        text = src.snapshot_text
        if text is None or ("<" not in text and "&" not in text):  # the usual case, at C speed
            continue
        found = looks_like_markup(text)
        if found >= 3:
            yield problem(
                "snapshot-markup",
                Loc(f"sources/{src.snapshot}"),
                f"the snapshot of {sid} looks like HTML ({found} tags or entities): make it "
                f"from the page with `kb snapshot {sid} PAGE.html --replace`",
                f"source:{sid}",
            )


@code("snapshot-missing", F, Severity.WARNING, runs=True)
def snapshot_missing(ctx: Context) -> Iterator[Problem]:
    """A quote (or origin) names a source that has no archived text, so its words cannot be checked.

    Save the source's text as `sources/<id>.txt` (or name the file with `snapshot:`).
    """
    for c, _i, q in ctx.quotes():
        src = ctx.kb.sources.get(q.source) if q.source else None
        if src is not None and src.snapshot_text is None:
            yield _no_snapshot(q.source, q.where.at("source"), c)
        o = q.origin
        if o is not None and o.source:
            src = ctx.kb.sources.get(o.source)
            if src is not None and src.snapshot_text is None:
                yield _no_snapshot(o.source, o.where.at("source"), c)


def _no_snapshot(sid: SourceId, loc: Loc, claim: Claim) -> Problem:
    return problem(
        "snapshot-missing",
        loc,
        f"source {sid} has no snapshot (sources/{sid}.txt): the words cannot be checked",
        f"claim:{claim.id}",
    )
