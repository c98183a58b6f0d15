"""Where in a snapshot a quote that is not found comes closest, and which words differ.

The search is linear in the snapshot: the snapshot's words are read once, and a window as long
as the quote slides over them, keeping how many of the quote's words it holds (each word counted
at most as often as the quote has it). The best window is then widened a little and compared
with the quote word by word (difflib, on the window only: its cost depends on the quote's length,
not the snapshot's), and trimmed to the words that match.
"""

from __future__ import annotations

import difflib
import functools
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


@dataclass(frozen=True, slots=True)
class _Words:
    """A snapshot's words: where each starts and ends, its key, and where each key occurs."""

    starts: list[int]
    ends: list[int]
    keys: list[str]
    at: dict[str, list[int]]  # key -> the numbers of the words with that key, in order


@functools.lru_cache(maxsize=8)
def _words(snapshot: str) -> _Words:
    """The words of a snapshot, read once for all the quotes looked for in it."""
    starts: list[int] = []
    ends: list[int] = []
    keys: list[str] = []
    at: dict[str, list[int]] = {}
    for n, m in enumerate(_TOKEN.finditer(snapshot)):
        key = _key(m.group())
        starts.append(m.start())
        ends.append(m.end())
        keys.append(key)
        at.setdefault(key, []).append(n)
    return _Words(starts, ends, keys, at)


PLACES_MAX = 20_000  # places of quote words a search visits, at most (see nearest)


def nearest(quote: str, snapshot: str) -> Nearest | None:
    """Return the passage of `snapshot` that holds most of the quote's words close together, or
    None when the snapshot shares no word with the quote."""
    want = [_key(w) for w in _TOKEN.findall(quote.replace("\u2026", " "))]
    if not want:
        return None
    need = Counter(want)
    words = _words(snapshot)
    if not words.keys:
        return None
    size = len(want)
    # The window of `size` words ending at word i holds min(have, need) of each quote word; it
    # changes only where a quote word enters or leaves, so only the places of the quote's words
    # are visited (in order), not every word of the snapshot. The first window with the most
    # wins, as when every word is visited.
    # The places tried are those of the quote's rarest words, PLACES_MAX in all at most (at
    # least one word's): a word found everywhere says little of where the quote was and would
    # make each search read the whole snapshot. Below that bound every quote word counts.
    places_of = words.at
    chosen: list[str] = []
    total = 0
    for key in sorted(need, key=lambda k: (len(places_of.get(k, ())), k)):
        found = len(places_of.get(key, ()))
        if not found:
            continue
        if chosen and total + found > PLACES_MAX:
            break
        chosen.append(key)
        total += found
    places = sorted(n for key in chosen for n in places_of[key])
    keys = words.keys
    have: Counter[str] = Counter()
    score = best = best_at = 0
    tail = 0  # the first place still inside the window
    for i in places:
        while places[tail] <= i - size:  # words leaving the window
            old = keys[places[tail]]
            if have[old] <= need[old]:
                score -= 1
            have[old] -= 1
            tail += 1
        w = keys[i]
        have[w] += 1
        if have[w] <= need[w]:
            score += 1
        if score > best:
            best, best_at = score, max(0, i - size + 1)
    if best == 0:
        return None
    lo = max(0, best_at - size // 2)
    hi = min(len(keys), best_at + size + size // 2)
    window = keys[lo:hi]
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
    start, end = words.starts[a], words.ends[b - 1]
    text = snapshot[start:end]
    return Nearest(
        start=start,
        end=end,
        line=snapshot.count("\n", 0, start) + 1,
        text=text,
        shared=sum(bl.size for bl in blocks),
        diff=tuple(word_diff(text, quote)),
    )
