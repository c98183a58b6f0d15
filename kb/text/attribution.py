"""Propose an attribution rating for a claim's quotes from their origins and drift.

The rating says whether the quoted words are really the speaker's, apart from whether the claim
is true. The checks propose one; the reviewer confirms it in the review's `attribution:` (or
rates it worse, knowing what the checks cannot: that an origin does not name the speaker, or
names someone else).
"""

from __future__ import annotations

from kb.model import ATTRIBUTIONS, Claim, Quote
from kb.text.quotes import drift

# Lower is better; first-hand and confirmed are equally good.
RANK = {"confirmed": 0, "first-hand": 0, "altered": 1, "unconfirmed": 2, "misattributed": 3}
assert set(RANK) == set(ATTRIBUTIONS)


def propose_quote(q: Quote) -> str | None:
    """The rating the origin and drift of one quote support, or None (no speaker, or untraced)."""
    if not q.speaker or q.origin is None:
        return None
    o = q.origin
    if o.first_hand:  # `origin: first-hand`: the source heard the speaker itself
        return "first-hand"
    if o.unknown or not o.source or not o.text:
        return "unconfirmed"
    if drift(o.text, q.text):
        return "altered"
    return "first-hand" if o.source == q.source else "confirmed"


def propose(claim: Claim) -> str | None:
    """The rating the checks propose for a claim: its worst quote's, or None when no quote has a
    speaker (or none was traced: `quote-untraced` says so)."""
    found = [r for q in claim.quotes if (r := propose_quote(q))]
    return max(found, key=lambda r: RANK[r]) if found else None


def overrated(rating: str, proposed: str) -> bool:
    """True when a reviewer's rating is better than what the origins and drift support."""
    return RANK[rating] < RANK[proposed]
