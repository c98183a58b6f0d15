"""Find quotes in archived text and compare them with their origin, word by word.

Matching ignores letter case and differences of white space, quote marks (curly or straight)
and dashes. Both sides are compared in Unicode NFC; soft hyphens and zero-width characters are
ignored, and a hyphen inside a word (also one at a line break, `regu-\nlated`) is dropped, so a
word hyphenated by the layout matches the word. A match starts and ends at a word boundary that
is also a grapheme boundary: never before a combining mark. An ellipsis (`…` or `...`) in a
quote stands for at most ELLIPSIS_MAX_CHARS omitted characters of the same paragraph; punctuation
next to an ellipsis (`FDA. ... there`) is not required. A quote needs at least one word.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from kb.text import diff as _diff

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
_ELLIPSIS = re.compile(r"\s*(?:\u2026|\.(?:\s?\.){2,})\s*")
_EDGE = " .,;:!?"  # punctuation an ellipsis may stand next to, not required in the snapshot
ELLIPSIS_MAX_CHARS = 1000  # an ellipsis stands for at most this many characters (about 150
# words of folded text), within one paragraph
# Ignored on both sides: soft hyphen, zero-width space, non-joiner, joiner, word joiner, BOM.
_IGNORED = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
# What folding shortens or drops, after white space became " ", "\n" (a line break) or "\t"
# (any other space; see _FOLD_MARK): a hyphen inside a word, with a line break after it or not;
# a run of white space and ignored characters that is not one plain space.
_EDIT = re.compile(
    f"(?P<hyphen>(?<=\\w)[{_IGNORED}]*"
    f"(?:[-\u00ad](?:[ \t\n{_IGNORED}]*\n[ \t\n{_IGNORED}]*)?|\u2013)[{_IGNORED}]*(?=\\w))"
    f"|[ \t\n{_IGNORED}]*(?:\n|\t|  |[{_IGNORED}])[ \t\n{_IGNORED}]*"
    "|^ | $"
)
# Where an edit may begin, found at C speed (a regular expression that starts with a character
# set is searched by scanning for the set): a hyphen, dash, line break, other space or ignored
# character, or a space followed by another. A match of _EDIT starts there or one space before.
_EDIT_AT = re.compile(f"[-\u2013\t\n{_IGNORED} ](?:(?<=[^ ])|(?= ))")
_WORD = re.compile(r"\w+(?:'\w+)*")

# White space (what `\s`, str.split() and str.isspace() agree on) that _FOLD leaves as it is,
# except the plain space: fold() turns a line break (what str.splitlines() splits at) into "\n"
# and any other space into "\t" first, so that every run of white space it must shorten or
# replace holds one of them or two spaces; only a line break lets a hyphen join two words.
_LINE_BREAKS = "\n\x0b\x0c\r\x1c\x1d\x1e\x85\u2028\u2029"
_OTHER_SPACE = "\t\x1f\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u205f\u3000"
# Dashes fold to "-" as hyphens do, but by way of U+2013 (put back after the edits), so that
# only a hyphen at a line break joins the words around it (an em dash there does not).
_DASHES = "\u2012\u2013\u2014\u2015\u2212"
_FOLD_MARK = {
    **_FOLD,
    **dict.fromkeys(map(ord, _DASHES), "\u2013"),
    **dict.fromkeys(map(ord, _LINE_BREAKS), "\n"),
    **dict.fromkeys(map(ord, _OTHER_SPACE), "\t"),
}


@dataclass(frozen=True, slots=True)
class Folded:
    """A text folded for matching, with a map from folded offsets back to the original.

    Folding keeps most characters one for one, so the map only needs the places where a run
    was shortened or dropped: `runs[k]` is the folded offset where the k-th edit ends, `shift[k]`
    how many characters were dropped up to there. `paras` are the folded offsets of the spaces
    that stand for a paragraph break (a blank line).
    """

    text: str
    runs: tuple[int, ...] = ()
    shift: tuple[int, ...] = ()
    exact: tuple[int, ...] | None = None  # full offset tables, when NFC or lower() changed lengths
    ends: tuple[int, ...] | None = None
    paras: tuple[int, ...] = ()

    def _pre(self, i: int) -> int:
        if not self.runs or i < self.runs[0]:
            return i
        k = bisect.bisect_right(self.runs, i)
        return i + (self.shift[k - 1] if k else 0)

    def original(self, i: int) -> int:
        """Return the offset in the original text of folded character `i`."""
        p = self._pre(i)
        return self.exact[p] if self.exact is not None else p

    def original_end(self, i: int) -> int:
        """Return the offset in the original text just after folded character `i`."""
        p = self._pre(i)
        return self.ends[p] if self.ends is not None else p + 1


def fold_char(ch: str) -> str:
    """Fold one character: lower case, straight quote marks, plain dashes and spaces."""
    return ch.translate(_FOLD).lower()


def _is_para(raw: str) -> bool:
    """True when a run of white space holds a paragraph break (a blank line)."""
    return raw.count("\n") >= 2 or "\u2029" in raw or ("\n" not in raw and raw.count("\r") >= 2)


@functools.lru_cache(maxsize=1024)
def fold(text: str) -> Folded:
    """Fold a text for matching: NFC, lower case, straight quotes, plain dashes, single spaces,
    no soft hyphens or zero-width characters, no hyphen inside a word."""
    low = text.translate(_FOLD_MARK).lower()
    exact = ends = None
    raw = text
    if len(low) != len(text) or not unicodedata.is_normalized("NFC", text):
        low, raw, exact, ends = _prefold(text)  # rare: offsets kept one by one
    out: list[str] = []
    runs: list[int] = []
    shift: list[int] = []
    paras: list[int] = []
    pos = dropped = 0
    n = len(low)
    for m in _edits(low):
        a, b = m.span()
        out.append(low[pos:a])
        start = a - dropped  # where the edit begins in the folded text
        # a hyphen inside a word goes, with a line break after it; white space at either end,
        # and a run of ignored characters only, go too; any other run becomes one space
        hyphen = m.lastgroup == "hyphen"
        run = low[a:b]
        if not hyphen and a != 0 and b != n and (" " in run or "\n" in run or "\t" in run):
            out.append(" ")
            if _is_para(raw[a:b]):
                paras.append(start)
            dropped += b - a - 1
            runs.append(start + 1)
        else:
            dropped += b - a
            runs.append(start)
        shift.append(dropped)
        pos = b
    out.append(low[pos:])
    folded = "".join(out).replace("\u2013", "-")
    return Folded(folded, tuple(runs), tuple(shift), exact, ends, tuple(paras))


_WORD_CHAR = re.compile(r"\w")


def _edits(low: str) -> Iterator[re.Match[str]]:
    """The matches of _EDIT in `low`, as `_EDIT.finditer(low)` gives them, in a fraction of the
    time: _EDIT is tried only where _EDIT_AT finds a place an edit may begin (and at a space
    that begins or ends the text), not at every character."""
    n = len(low)
    pos = 0
    if low.startswith(" "):
        first = _EDIT.match(low, 0)
        if first is not None:
            yield first
            pos = first.end()
    while pos < n:
        at = _EDIT_AT.search(low, pos)
        if at is None:
            break
        p = at.start()
        # a match starts at the place found, or one space before it (" \n")
        m = (_EDIT.match(low, p - 1) if p - 1 >= pos and low[p - 1] == " " else None) or (
            _EDIT.match(low, p)
        )
        if m is None:
            pos = p + 1
            continue
        yield m
        pos = m.end()
    if pos < n and low.endswith(" "):  # a lone space at the end (" $")
        last = _EDIT.match(low, n - 1)
        if last is not None:
            yield last


def _prefold(text: str) -> tuple[str, str, tuple[int, ...], tuple[int, ...]]:
    """Fold character by character, each base character with the combining marks after it put
    in NFC: the folded text, the same with white space as it was, and where each folded
    character starts and ends in `text`."""
    low: list[str] = []
    raw: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and (unicodedata.combining(text[j]) or _composes(text[i:j], text[j])):
            j += 1
        for ch in unicodedata.normalize("NFC", text[i:j]):
            folded = ch.translate(_FOLD_MARK).lower()
            low.append(folded)
            raw.append(ch * len(folded))
            starts += [i] * len(folded)
            ends += [j] * len(folded)
        i = j
    return "".join(low), "".join(raw), tuple(starts), tuple(ends)


def _composes(head: str, ch: str) -> bool:
    """True when `ch` composes with `head` in NFC although it is not a combining mark (a Hangul
    vowel or final jamo, a Tamil or Malayalam vowel part)."""
    return len(unicodedata.normalize("NFC", head + ch)) <= len(unicodedata.normalize("NFC", head))


def fold_plain(text: str) -> str:
    """Fold a text without keeping offsets (for words and diffs)."""
    # In ASCII text the only character _FOLD changes is the backtick; str.split() without
    # arguments splits at the same white space as `\s+` and drops it at both ends.
    t = text.replace("`", "'") if text.isascii() else text.translate(_FOLD)
    return " ".join(t.lower().split())


def fold_quote(text: str) -> str:
    """Fold a quote, a prefix or a suffix as `fold` folds a snapshot (without offsets)."""
    return fold(text).text


def segments(quote: str) -> list[str]:
    """Split a quote at its ellipses into the runs of words that must appear, in order.

    Punctuation next to an ellipsis is left out (`the FDA. ... there` is `the fda`, `there`);
    a quote without a word has no segments (it matches nowhere).
    """
    text = fold_quote(quote.replace("\u2026", "..."))
    if ".." in text or ". ." in text:
        pieces = _ELLIPSIS.split(text)
        last = len(pieces) - 1
        parts = []
        for k, piece in enumerate(pieces):
            piece = piece.lstrip(_EDGE) if k > 0 else piece
            piece = piece.rstrip(_EDGE) if k < last else piece
            if piece.strip():
                parts.append(piece.strip())
    else:
        parts = [text] if text else []
    return parts if any(_WORD_CHAR.search(p) for p in parts) else []


# A quote found in this many places is reported as found in "so many or more": its places
# beyond are not kept (a quote of one common word in a long snapshot has tens of thousands, and
# a base of such quotes would fill memory).
MAX_PLACES = 1000


def places_text(count: int) -> str:
    """How many places a quote was found in, for a message (MAX_PLACES means "or more")."""
    return f"{count:,} or more" if count >= MAX_PLACES else f"{count:,}"


def locate(
    quote: str,
    snapshot: str | Folded,
    prefix: str | None = None,
    suffix: str | None = None,
    limit: int | None = MAX_PLACES,
) -> list[tuple[int, int]]:
    """Return every (start, end) span of the original `snapshot` where `quote` appears (the
    first `limit` of them; None: all).

    With a prefix or suffix, only the places just after the prefix or just before the suffix
    count. An ellipsis in the quote matches at most ELLIPSIS_MAX_CHARS omitted characters within one
    paragraph; the span covers them. A match neither starts nor ends inside a word or a
    grapheme: "he said" is not found in "she said", "papa" not in "papá" written with a
    combining accent.
    """
    snap = snapshot if isinstance(snapshot, Folded) else fold(snapshot)
    hay = snap.text
    parts = segments(quote)
    if not parts:
        return []
    pre = fold_quote(prefix).strip() if prefix else ""
    suf = fold_quote(suffix).strip() if suffix else ""
    spans: list[tuple[int, int]] = []
    # Where each later part was last found: starts only move right, so a place found for one
    # start still serves the next while it lies after that start's previous part. This keeps
    # "the … end" linear in a text with thousands of "the".
    found = [-1] * len(parts)
    start = _find(hay, parts[0], 0)
    while start != -1:
        end = _rest(hay, snap.paras, parts, found, start)
        if end == -1:
            break  # later parts are missing after this start; they are after any later one too
        # The folded text has single spaces, so the prefix ends at most one space before.
        if (
            end > 0
            and (not pre or hay[max(0, start - len(pre) - 1) : start].rstrip().endswith(pre))
            and (not suf or hay[end : end + len(suf) + 1].lstrip().startswith(suf))
        ):
            spans.append((snap.original(start), snap.original_end(end - 1)))
            if limit is not None and len(spans) >= limit:
                break
        start = _find(hay, parts[0], start + 1)
    return spans


def _rest(hay: str, paras: tuple[int, ...], parts: list[str], found: list[int], start: int) -> int:
    """Place the parts after the first one (found at `start`): return where the last ends, 0
    when an omission is too long or crosses a paragraph (a later start may do), -1 when a part
    is missing (no later start can do)."""
    end = start + len(parts[0])
    for k in range(1, len(parts)):
        if found[k] < end:
            found[k] = _find(hay, parts[k], end)
        if found[k] == -1:
            return -1
        gap = found[k]
        if gap - end > ELLIPSIS_MAX_CHARS:
            return 0
        p = bisect.bisect_left(paras, end)
        if p < len(paras) and paras[p] < gap:
            return 0
        end = gap + len(parts[k])
    return end


def _is_word(ch: str) -> bool:
    """A character that continues a word or a grapheme: a letter, digit, `_` or a mark."""
    return ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M"


def _find(hay: str, part: str, pos: int) -> int:
    """Find `part` in `hay` from `pos`, not starting or ending inside a word (no "he" in "the")
    or a grapheme (no "papa" in "papá" when the accent is a combining mark)."""
    at = hay.find(part, pos)
    if at == -1:
        return -1
    first, last = _is_word(part[0]), _is_word(part[-1])
    while at != -1:
        end = at + len(part)
        if not (first and at > 0 and _is_word(hay[at - 1])) and not (
            end < len(hay) and _mark_or(last, hay[end])
        ):
            return at
        at = hay.find(part, at + 1)
    return -1


def _mark_or(word_end: bool, ch: str) -> bool:
    """True when a match may not end before `ch`: a mark never, a word character after a word."""
    return _is_word(ch) if word_end else unicodedata.category(ch)[0] == "M"


def words(text: str) -> list[str]:
    """Split a text into words, ignoring case, punctuation, quote marks and dashes."""
    return _WORD.findall(fold_plain(text))


@dataclass(frozen=True, slots=True)
class Drift:
    """How a quote's words differ from its origin's."""

    dropped: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[tuple[str, str], ...]
    note: str = ""  # why the words were not compared (too many)

    def __bool__(self) -> bool:
        return bool(self.dropped or self.added or self.changed or self.note)

    def describe(self) -> str:
        """Say in one line what was dropped, added or changed."""
        parts = [f"dropped {d!r}" for d in self.dropped]
        parts += [f"added {a!r}" for a in self.added]
        parts += [f"changed {a!r} to {b!r}" for a, b in self.changed]
        return "; ".join(parts) or self.note


def drift(origin: str, quote: str) -> Drift:
    """Compare a quote with its origin word by word (case and punctuation alone are not drift).

    The time grows as n log n in the words (kb.text.diff); texts over diff.MAX_WORDS words are
    not compared, and the drift says so."""
    if origin == quote:
        return Drift((), (), ())
    a, b = words(origin), words(quote)
    if a == b:
        return Drift((), (), ())
    try:
        ops = _diff.word_diff(a, b)
    except _diff.DiffTooLarge as exc:
        return Drift((), (), (), f"not compared: {exc}")
    dropped: list[str] = []
    added: list[str] = []
    changed: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in ops:
        if op == "delete":
            dropped.append(" ".join(a[i1:i2]))
        elif op == "insert":
            added.append(" ".join(b[j1:j2]))
        elif op == "replace":
            changed.append((" ".join(a[i1:i2]), " ".join(b[j1:j2])))
    return Drift(tuple(dropped), tuple(added), tuple(changed))


def word_diff(origin: str, quote: str) -> list[tuple[str, str]]:
    """Return the quote against its origin as ("equal" | "delete" | "insert", text) runs.

    The texts keep their own spelling and punctuation; only the comparison ignores them. The
    words are compared by kb.text.diff.word_diff (n log n); texts too long to compare come out
    as the origin deleted and the quote inserted.
    """
    a = [t for t in origin.split() if _WORD.search(fold_plain(t))]
    b = [t for t in quote.split() if _WORD.search(fold_plain(t))]
    ka = [" ".join(words(t)) for t in a]
    kb_ = [" ".join(words(t)) for t in b]
    try:
        ops = _diff.word_diff(ka, kb_)
    except _diff.DiffTooLarge:
        ops = [("replace", 0, len(a), 0, len(b))]
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in ops:
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
