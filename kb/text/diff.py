"""A word diff whose time grows as n log n in the words, not n² (difflib's worst case).

`word_diff(a, b)` returns difflib-style opcodes. It is a patience diff: the common prefix and
suffix are set aside, words that occur exactly once on each side are paired by a longest
increasing subsequence (n log n), and the stretches between those anchors are compared the same
way, one after the other. Where no single word is unique on both sides (a text that repeats a
small vocabulary), runs of 2, 4 and 8 words that are serve as anchors. A stretch with no anchor
left is compared by difflib when it is small (at most SMALL word pairs), else given as
replaced: the cost is bounded by the words, never by their product. Inputs over MAX_WORDS
words are refused (DiffTooLarge): a caller reports instead of waiting.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
from collections.abc import Hashable, Sequence

Opcode = tuple[
    str, int, int, int, int
]  # ("equal" | "replace" | "delete" | "insert", i1, i2, j1, j2)

SMALL = 40_000  # a stretch without anchors goes to difflib when len(a) * len(b) is at most this
MAX_WORDS = 1_000_000  # both sides together; more is refused


class DiffTooLarge(ValueError):
    """The texts are too long to compare (over MAX_WORDS words together)."""


def word_diff(a_words: Sequence[Hashable], b_words: Sequence[Hashable]) -> list[Opcode]:
    """Return the opcodes that turn `a_words` into `b_words` (as difflib's get_opcodes)."""
    if len(a_words) + len(b_words) > MAX_WORDS:
        raise DiffTooLarge(f"{len(a_words) + len(b_words)} words to compare, more than {MAX_WORDS}")
    matches: list[tuple[int, int, int]] = []  # (i, j, length) equal runs, in order
    todo = [(0, len(a_words), 0, len(b_words))]
    while todo:
        a0, a1, b0, b1 = todo.pop()
        while a0 < a1 and b0 < b1 and a_words[a0] == b_words[b0]:  # common prefix
            matches.append((a0, b0, 1))
            a0, b0 = a0 + 1, b0 + 1
        tail = []
        while a0 < a1 and b0 < b1 and a_words[a1 - 1] == b_words[b1 - 1]:  # common suffix
            a1, b1 = a1 - 1, b1 - 1
            tail.append((a1, b1, 1))
        matches += tail
        if a0 == a1 or b0 == b1:
            continue
        anchors = _anchors(a_words, b_words, a0, a1, b0, b1)
        if anchors:
            # stretches between anchors, each to be compared; the anchors themselves match
            edges = [(a0 - 1, b0 - 1), *anchors, (a1, b1)]
            for (i, j), (k, m) in itertools.pairwise(edges):
                if (i, j) != (a0 - 1, b0 - 1):
                    matches.append((i, j, 1))
                if k > i + 1 or m > j + 1:
                    todo.append((i + 1, k, j + 1, m))
        elif (a1 - a0) * (b1 - b0) <= SMALL:
            sm = difflib.SequenceMatcher(None, a_words[a0:a1], b_words[b0:b1], autojunk=False)
            matches += [(a0 + i, b0 + j, n) for i, j, n in sm.get_matching_blocks() if n]
    return _opcodes(sorted(matches), len(a_words), len(b_words))


def _anchors(
    a: Sequence[Hashable], b: Sequence[Hashable], a0: int, a1: int, b0: int, b1: int
) -> list[tuple[int, int]]:
    """Pairs (i, j) where a[i] == b[j], in increasing order on both sides: the longest chain of
    words unique in a[a0:a1] and in b[b0:b1] (patience sorting). Where no word is unique on
    both sides (a text that repeats a small vocabulary), runs of 2, 4 then 8 words are tried."""
    for k in (1, 2, 4, 8):
        if a1 - a0 < k or b1 - b0 < k:
            break
        chain = _longest_chain(_unique_pairs(a, b, a0, a1, b0, b1, k))
        if chain:
            return chain
    return []


def _unique_pairs(
    a: Sequence[Hashable], b: Sequence[Hashable], a0: int, a1: int, b0: int, b1: int, k: int
) -> list[tuple[int, int]]:
    """(i, j) for each run of `k` words that occurs once in a[a0:a1] and once in b[b0:b1]."""

    def run(seq: Sequence[Hashable], i: int) -> Hashable:
        return seq[i] if k == 1 else tuple(seq[i : i + k])

    count_a: dict[Hashable, int] = {}
    where_a: dict[Hashable, int] = {}
    for i in range(a0, a1 - k + 1):
        w = run(a, i)
        count_a[w] = count_a.get(w, 0) + 1
        where_a[w] = i
    count_b: dict[Hashable, int] = {}
    where_b: dict[Hashable, int] = {}
    for j in range(b0, b1 - k + 1):
        w = run(b, j)
        if count_a.get(w) == 1:
            count_b[w] = count_b.get(w, 0) + 1
            where_b[w] = j
    return sorted((where_a[w], where_b[w]) for w, n in count_b.items() if n == 1)


def _longest_chain(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of `pairs` (sorted by i) whose j increase too (n log n)."""
    tops: list[int] = []  # the j ending the best chain of each length
    top_at: list[int] = []  # index in pairs of that end
    back: list[int] = []
    for k, (_, j) in enumerate(pairs):
        n = bisect.bisect_left(tops, j)
        if n == len(tops):
            tops.append(j)
            top_at.append(k)
        else:
            tops[n], top_at[n] = j, k
        back.append(top_at[n - 1] if n else -1)
    chain = []
    k = top_at[-1] if top_at else -1
    while k != -1:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


def _opcodes(matches: list[tuple[int, int, int]], la: int, lb: int) -> list[Opcode]:
    """Opcodes from the equal runs (sorted, not overlapping), merging adjacent runs."""
    ops: list[Opcode] = []
    i = j = 0
    for mi, mj, n in [*matches, (la, lb, 0)]:
        if i < mi and j < mj:
            ops.append(("replace", i, mi, j, mj))
        elif i < mi:
            ops.append(("delete", i, mi, j, j))
        elif j < mj:
            ops.append(("insert", i, i, j, mj))
        if n:
            if ops and ops[-1][0] == "equal" and ops[-1][2] == mi and ops[-1][4] == mj:
                _, i1, _, j1, _ = ops[-1]
                ops[-1] = ("equal", i1, mi + n, j1, mj + n)
            else:
                ops.append(("equal", mi, mi + n, mj, mj + n))
        i, j = mi + n, mj + n
    return ops
