"""The nearest passage to a quote not found (kb.text.nearest): the same passage as a scan of
every window of the snapshot, found by visiting only the places of the quote's words; and a
bounded number of searches per claim and snapshot in `kb check`."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.text.nearest import _TOKEN, PLACES_MAX, _key, nearest

MakeKB = Callable[[dict[str, Any]], Path]  # the make_kb fixture (conftest.py)
RunKB = Callable[..., Any]  # the run_kb fixture

WORDS = ["the", "a", "trial", "dose", "said", "doctor", "ketamine", "week", "Week", "it’s"]


def _reference(quote: str, snapshot: str) -> tuple[int, int] | None:
    """(start, end) of the passage a scan of every window of the snapshot picks (the code of
    kb.text.nearest before it visited only the quote words' places)."""
    want = [_key(w) for w in _TOKEN.findall(quote.replace("\u2026", " "))]
    if not want:
        return None
    need = Counter(want)
    toks = [(m.start(), m.end(), _key(m.group())) for m in _TOKEN.finditer(snapshot)]
    if not toks:
        return None
    size = len(want)
    have: Counter[str] = Counter()
    score = best = best_at = 0
    for i, (_s, _e, w) in enumerate(toks):
        if w in need:
            have[w] += 1
            if have[w] <= need[w]:
                score += 1
        if i >= size:
            old = toks[i - size][2]
            if old in need:
                if have[old] <= need[old]:
                    score -= 1
                have[old] -= 1
        if score > best:
            best, best_at = score, max(0, i - size + 1)
    if best == 0:
        return None
    lo, hi = max(0, best_at - size // 2), min(len(toks), best_at + size + size // 2)
    window = [t[2] for t in toks[lo:hi]]
    matcher = difflib.SequenceMatcher(None, window, want, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    first, last = blocks[0], blocks[-1]
    a = max(lo, lo + first.a - first.b)
    b = min(hi, lo + last.a + last.size + (size - last.b - last.size))
    return toks[a][0], toks[b - 1][1]


@settings(max_examples=400, deadline=None)
@given(
    snap=st.lists(st.sampled_from([*WORDS, "\n", "\n\n", ","]), max_size=300),
    quote=st.lists(st.sampled_from([*WORDS, "zebra", "…"]), max_size=14),
)
def test_the_same_passage_as_a_scan_of_every_window(snap: list[str], quote: list[str]) -> None:
    text, q = " ".join(snap), " ".join(quote)
    got = nearest(q, text)
    assert (None if got is None else (got.start, got.end)) == _reference(q, text)


def test_a_search_visits_the_places_of_the_rarest_words_only() -> None:
    """In a snapshot where the quote's common words occur far more than PLACES_MAX times, the
    passage is still found by its rare words."""
    filler = "the said doctor " * (PLACES_MAX // 2)
    text = filler + "the rare narwhal said doctor " + filler
    got = nearest("the rare narwhal said", text)
    assert got is not None and "rare narwhal" in got.text


def test_a_claim_searches_25_nearest_passages_per_snapshot(make_kb: MakeKB, run_kb: RunKB) -> None:
    """A claim with 40 quotes not found: the first 25 show the nearest passage, the others say
    why not; another claim's quotes change nothing of this claim's messages."""
    snap = "We are seeing more cases than last year.\n"
    quotes = "".join(f'  - text: "zebra{i} cases"\n    source: s\n' for i in range(40))
    files = {
        "sources/s.yaml": "type: webpage\ntitle: S\n",
        "sources/s.txt": snap,
        "claims/c.yaml": f"statement: C\nquotes:\n{quotes}",
    }
    alone = make_kb(files)
    both = make_kb({**files, "claims/b.yaml": f"statement: B\nquotes:\n{quotes}"})

    def messages(root: Path) -> list[str]:
        r = run_kb("-C", root, "check")
        return [line for line in r.out.splitlines() if line.startswith("claims/c.yaml")]

    lines = [m for m in messages(alone) if "quote-not-found" in m]
    assert len(lines) == 40
    assert sum("nearest passage (sources/s.txt line 1)" in m for m in lines) == 25
    assert sum("shown for the first 25" in m for m in lines) == 15
    assert messages(both) == messages(alone)
