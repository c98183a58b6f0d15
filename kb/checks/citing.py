"""Citing checks: what the citation styles and exports will print from a source's data."""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks.context import Context
from kb.codes import code, problem
from kb.errors import Problem, Severity

F = "citing"


@code("retrieved-undated", F, Severity.WARNING, runs=True)
def retrieved_undated(ctx: Context) -> Iterator[Problem]:
    """A source with a URL but no DOI, no `issued` date and no `accessed` date (nor a
    `snapshot_retrieved` from `kb snapshot`, which stands for it), in a base whose styles
    include APA: APA 7 then prints `Retrieved https://...` with no date (its `Retrieved Month
    Day, Year, from` needs the date the page was read). Add `accessed: YYYY-MM-DD`, the day
    you read or archived the page (or `issued` if the page is dated)."""
    if not ctx.across:
        return
    styles = ctx.kb.config.styles
    if styles and "apa" not in styles and ctx.kb.config.style != "apa":
        return
    for sid, s in sorted(ctx.kb.sources.items()):
        csl = s.csl
        dated = ("DOI", "issued", "status", "accessed", "snapshot_retrieved")
        if csl.get("URL") and not any(csl.get(k) for k in dated):
            yield problem(
                "retrieved-undated",
                s.where.at("URL"),
                "APA will print `Retrieved` and the URL with no date: add `accessed: "
                "YYYY-MM-DD` (the day the page was read)",
                f"source:{sid}",
            )
