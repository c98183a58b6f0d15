"""Where in a snapshot a quote that is not found comes closest, and which words differ.

The search is linear in the snapshot: the snapshot's words are read once, and a window as long
as the quote slides over them, keeping how many of the quote's words it holds (each word counted
at most as often as the quote has it). The best window is then widened a little and compared
with the quote word by word (difflib, on the window only: its cost depends on the quote's length,
not the snapshot's), and trimmed to the words that match.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass

from kb.text.quotes import fold_plain, word_diff

_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*")


@dataclass(frozen=True, slots=True)
class Nearest:
    """The passage of a snapshot nearest to a quote: its place, its text and the word diff."""

    start: int  # offsets in the snapshot
    end: int
    line: int  # 1-based line of `start`
    text: str
    shared: int  # how many of the quote's words it holds, in order
    diff: tuple[tuple[str, str], ...]  # word_diff(passage, quote): equal | delete | insert

    def diff_text(self) -> str:
        """The diff on one line: `[-passage words-]` left out of the quote, `{+quote words+}`
        not in the passage."""
        out = []
        for op, text in self.diff:
            out.append(
                text if op == "equal" else f"[-{text}-]" if op == "delete" else f"{{+{text}+}}"
            )
        return " ".join(out)

    def describe(self, snapshot_name: str, limit: int = 300) -> str:
        """One line for a problem message: where the passage is, what it says, how it differs."""
        text = " ".join(self.text.split())
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        where = f"nearest passage ({snapshot_name} line {self.line}): \u201c{text}\u201d; "
        if all(op == "equal" for op, _ in self.diff):
            return where + (
                "the same words, but not the same punctuation or quotation marks between them: "
                "copy them as the snapshot has them, or mark what is left out with \u2026"
            )
        return where + (
            f"word diff, snapshot [-…-] against quote {{+…+}}: {_cut(self.diff_text(), limit)}"
        )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(word: str) -> str:
    return fold_plain(word).replace("\u2019", "'")


def nearest(quote: str, snapshot: str) -> Nearest | None:
    """Return the passage of `snapshot` that holds most of the quote's words close together, or
    None when the snapshot shares no word with the quote."""
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
        if i >= size:  # the word leaving the window
            old = toks[i - size][2]
            if old in need:
                if have[old] <= need[old]:
                    score -= 1
                have[old] -= 1
        if score > best:
            best, best_at = score, max(0, i - size + 1)
    if best == 0:
        return None
    lo = max(0, best_at - size // 2)
    hi = min(len(toks), best_at + size + size // 2)
    window = [t[2] for t in toks[lo:hi]]
    blocks = [
        b
        for b in difflib.SequenceMatcher(None, window, want, autojunk=False).get_matching_blocks()
        if b.size
    ]
    if not blocks:
        return None
    first, last = blocks[0], blocks[-1]
    # The passage runs from the first to the last matched word, widened to cover the quote's
    # unmatched words at either end (so a changed first or last word shows in the diff).
    a = max(lo, lo + first.a - first.b)
    b = min(hi, lo + last.a + last.size + (size - last.b - last.size))
    start, end = toks[a][0], toks[b - 1][1]
    text = snapshot[start:end]
    return Nearest(
        start=start,
        end=end,
        line=snapshot.count("\n", 0, start) + 1,
        text=text,
        shared=sum(bl.size for bl in blocks),
        diff=tuple(word_diff(text, quote)),
    )
