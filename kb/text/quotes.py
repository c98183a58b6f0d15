"""Find quotes in archived text and compare them with their origin, word by word.

Matching ignores letter case and differences of white space, quote marks (curly or straight)
and dashes. An ellipsis (`…` or `...`) in a quote stands for omitted words.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
from dataclasses import dataclass

_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
        "\u00a0": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ", "\u2007": " ",
    }
)  # fmt: skip
_ELLIPSIS = re.compile(r"\s*(?:\u2026|\.\s?\.\s?\.)\s*")
_WORD = re.compile(r"\w+(?:'\w+)*")

# White space (what `\s`, str.split() and str.isspace() agree on) that _FOLD leaves as it is,
# except the plain space: fold() turns it into "\n" first, so that every run of white space it
# must shorten or replace holds a "\n" or two spaces, both found by str.find at C speed.
_OTHER_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2008\u2028\u2029\u205f\u3000"
)
_FOLD_MARK = {**_FOLD, **dict.fromkeys(map(ord, _OTHER_SPACE), "\n")}
_RUN = re.compile("[ \n]*")


@dataclass(frozen=True, slots=True)
class Folded:
    """A text folded for matching, with a map from folded offsets back to the original.

    Folding keeps every character but white space runs one for one, so the map only needs the
    places where a run of white space was shortened: `runs[k]` is the folded offset where the
    k-th shortened run ends, `shift[k]` how many original characters were dropped up to there.
    """

    text: str
    runs: tuple[int, ...] = ()
    shift: tuple[int, ...] = ()
    exact: tuple[int, ...] | None = None  # a full offset table, when lower() changed lengths

    def original(self, i: int) -> int:
        """Return the offset in the original text of folded character `i`."""
        if self.exact is not None:
            return self.exact[i]
        if not self.runs or i < self.runs[0]:
            return i
        k = bisect.bisect_right(self.runs, i)
        return i + (self.shift[k - 1] if k else 0)


def fold_char(ch: str) -> str:
    """Fold one character: lower case, straight quote marks, plain dashes and spaces."""
    return ch.translate(_FOLD).lower()


def _space_runs(low: str) -> list[tuple[int, int]]:
    r"""The (start, end) of every run of white space that is not one space between two words.

    `low` holds no white space but spaces and "\n" (see _FOLD_MARK). These are the runs the
    regular expression `\s{2,}|[^\S ]|^ | $` finds, in order: every run with a "\n" or two
    spaces, and a lone space at either end.
    """
    n = len(low)
    runs: list[tuple[int, int]] = []
    pos = 0
    if low.startswith(" "):
        pos = _RUN.match(low).end()  # type: ignore[union-attr]
        runs.append((0, pos))
    nl = low.find("\n", pos)
    sp = low.find("  ", pos)
    while nl != -1 or sp != -1:
        at = nl if sp == -1 or (nl != -1 and nl < sp) else sp
        # The run may begin with one space just before (two would have been found first).
        start = at - 1 if at > pos and low[at - 1] == " " else at
        pos = _RUN.match(low, at).end()  # type: ignore[union-attr]
        runs.append((start, pos))
        if nl != -1 and nl < pos:
            nl = low.find("\n", pos)
        if sp != -1 and sp < pos:
            sp = low.find("  ", pos)
    if low.endswith(" ") and (not runs or runs[-1][1] != n):
        runs.append((n - 1, n))
    return runs


@functools.lru_cache(maxsize=1024)
def fold(text: str) -> Folded:
    """Fold a text for matching: lower case, straight quotes, plain dashes, single spaces."""
    low = text.translate(_FOLD_MARK).lower()
    if len(low) != len(text):  # a rare letter whose lower case is longer (e.g. U+0130)
        return _fold_slow(text)
    out: list[str] = []
    runs: list[int] = []
    shift: list[int] = []
    pos = dropped = 0
    n = len(low)
    for a, b in _space_runs(low):  # only the runs that are not already one plain space
        out.append(low[pos:a])
        start = a - dropped  # where the run begins in the folded text
        if a == 0 or b == n:  # leading and trailing white space go entirely
            dropped += b - a
            runs.append(start)
        else:
            out.append(" ")
            dropped += b - a - 1
            runs.append(start + 1)
        shift.append(dropped)
        pos = b
    out.append(low[pos:])
    return Folded("".join(out), tuple(runs), tuple(shift))


def _fold_slow(text: str) -> Folded:
    out: list[str] = []
    offsets: list[int] = []
    space = True
    for i, ch in enumerate(text):
        c = fold_char(ch)
        if c.isspace():
            if space:
                continue
            c, space = " ", True
        else:
            space = False
        out.append(c)
        offsets.extend([i] * len(c))
    while out and out[-1] == " ":
        out.pop()
        offsets.pop()
    offsets.append(len(text))
    return Folded("".join(out), exact=tuple(offsets))


def fold_plain(text: str) -> str:
    """Fold a text without keeping offsets (quotes, prefixes and suffixes)."""
    # In ASCII text the only character _FOLD changes is the backtick; str.split() without
    # arguments splits at the same white space as `\s+` and drops it at both ends.
    t = text.replace("`", "'") if text.isascii() else text.translate(_FOLD)
    return " ".join(t.lower().split())


def segments(quote: str) -> list[str]:
    """Split a quote at its ellipses into the runs of words that must appear, in order."""
    text = fold_plain(quote.replace("\u2026", "..."))
    if ".." not in text and ". ." not in text:  # no ellipsis (text has single spaces)
        return [text] if text else []
    parts = _ELLIPSIS.split(text)
    return [p.strip() for p in parts if p.strip()]


def locate(
    quote: str, snapshot: str | Folded, prefix: str | None = None, suffix: str | None = None
) -> list[tuple[int, int]]:
    """Return every (start, end) span of the original `snapshot` where `quote` appears.

    With a prefix or suffix, only the places just after the prefix or just before the suffix
    count. An ellipsis in the quote matches any omitted words; the span covers them. A match
    neither starts nor ends inside a word: "he said" is not found in "she said".
    """
    snap = snapshot if isinstance(snapshot, Folded) else fold(snapshot)
    hay = snap.text
    parts = segments(quote)
    if not parts:
        return []
    pre = fold_plain(prefix).strip() if prefix else ""
    suf = fold_plain(suffix).strip() if suffix else ""
    spans: list[tuple[int, int]] = []
    # Where each later part was last found: starts only move right, so a place found for one
    # start still serves the next while it lies after that start's previous part. This keeps
    # "the … end" linear in a text with thousands of "the".
    found = [-1] * len(parts)
    start = _find(hay, parts[0], 0)
    while start != -1:
        end = start + len(parts[0])
        ok = True
        for k in range(1, len(parts)):
            if found[k] < end:
                found[k] = _find(hay, parts[k], end)
            if found[k] == -1:
                ok = False
                break
            end = found[k] + len(parts[k])
        if not ok:
            break  # later parts are missing after this start; they are after any later one too
        # The folded text has single spaces, so the prefix ends at most one space before.
        if (not pre or hay[max(0, start - len(pre) - 1) : start].rstrip().endswith(pre)) and (
            not suf or hay[end : end + len(suf) + 1].lstrip().startswith(suf)
        ):
            spans.append((snap.original(start), snap.original(end - 1) + 1))
        start = _find(hay, parts[0], start + 1)
    return spans


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _find(hay: str, part: str, pos: int) -> int:
    """Find `part` in `hay` from `pos`, not starting or ending inside a word (no "he" in "the")."""
    at = hay.find(part, pos)
    if at == -1:
        return -1
    first, last = _is_word(part[0]), _is_word(part[-1])
    while at != -1:
        end = at + len(part)
        if not (first and at > 0 and _is_word(hay[at - 1])) and not (
            last and end < len(hay) and _is_word(hay[end])
        ):
            return at
        at = hay.find(part, at + 1)
    return -1


def words(text: str) -> list[str]:
    """Split a text into words, ignoring case, punctuation, quote marks and dashes."""
    return _WORD.findall(fold_plain(text))


@dataclass(frozen=True, slots=True)
class Drift:
    """How a quote's words differ from its origin's."""

    dropped: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[tuple[str, str], ...]

    def __bool__(self) -> bool:
        return bool(self.dropped or self.added or self.changed)

    def describe(self) -> str:
        """Say in one line what was dropped, added or changed."""
        parts = [f"dropped {d!r}" for d in self.dropped]
        parts += [f"added {a!r}" for a in self.added]
        parts += [f"changed {a!r} to {b!r}" for a, b in self.changed]
        return "; ".join(parts)


def drift(origin: str, quote: str) -> Drift:
    """Compare a quote with its origin word by word (case and punctuation alone are not drift)."""
    if origin == quote:
        return Drift((), (), ())
    a, b = words(origin), words(quote)
    if a == b:
        return Drift((), (), ())
    dropped: list[str] = []
    added: list[str] = []
    changed: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "delete":
            dropped.append(" ".join(a[i1:i2]))
        elif op == "insert":
            added.append(" ".join(b[j1:j2]))
        elif op == "replace":
            changed.append((" ".join(a[i1:i2]), " ".join(b[j1:j2])))
    return Drift(tuple(dropped), tuple(added), tuple(changed))


def word_diff(origin: str, quote: str) -> list[tuple[str, str]]:
    """Return the quote against its origin as ("equal" | "delete" | "insert", text) runs.

    The texts keep their own spelling and punctuation; only the comparison ignores them.
    """
    a = [t for t in origin.split() if _WORD.search(fold_plain(t))]
    b = [t for t in quote.split() if _WORD.search(fold_plain(t))]
    ka = [" ".join(words(t)) for t in a]
    kb_ = [" ".join(words(t)) for t in b]
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb_, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(b[j1:j2])))
            continue
        if i2 > i1:
            out.append(("delete", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("insert", " ".join(b[j1:j2])))
    return out


def context(snapshot: str, span: tuple[int, int], limit: int = 400) -> tuple[str, str, str]:
    """Return (before, quoted, after): the sentence(s) around a span, cut to about `limit` chars."""
    start, end = span
    left = snapshot.rfind("\n\n", 0, start)
    left = max(left + 2 if left != -1 else 0, start - limit)
    for stop in (". ", "? ", "! "):
        k = snapshot.rfind(stop, left, start)
        if k != -1 and k + 2 <= start:
            left = max(left, k + 2)
    right = snapshot.find("\n\n", end)
    right = min(right if right != -1 else len(snapshot), end + limit)
    for stop in (". ", "? ", "! ", ".\n"):
        k = snapshot.find(stop, end, right)
        if k != -1:
            right = min(right, k + 1)
    return snapshot[left:start].lstrip(), snapshot[start:end], snapshot[end:right].rstrip()
