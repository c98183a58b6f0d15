"""LaTeX text for .bib files (kb.bib and kb-biblatex.bib): escaping, titles and names.

Braces in text are written as commands (a lone one would unbalance a value, which BibTeX and
biber refuse), control characters and Unicode's noncharacters are dropped (biber refuses a whole
file over one), and a name part that BibTeX would split (a comma, or `and` in any case) is
braced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# CSL name variables that stand for the author when there is no `author`
CREATORS = ("director", "composer", "interviewer", "host", "performer", "organizer")
_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}  # fmt: skip
_SPECIAL_RE = re.compile(r"[\\{}&%$#_~^]")
# What no .bib file may hold: control characters and Unicode's noncharacters (U+FDD0..U+FDEF
# and the last two code points of every plane), which make biber refuse the whole file.
_UNWRITABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
    + "]"
)
# BibTeX splits a name list at ` and ` (in any case) and a name at its commas, outside braces.
_SPLITS_NAMES = re.compile(r",|(?:^|\s)and(?:\s|$)", re.IGNORECASE)


def escape(text: str) -> str:
    """Escape LaTeX's special characters in a field value; braces are written as commands
    (`\\textbraceleft{}`), so that every value's braces balance, as BibTeX and biber need."""
    text = " ".join(_UNWRITABLE.sub("", text).split())
    return _SPECIAL_RE.sub(_special, text) if _SPECIAL_RE.search(text) else text


def _special(m: re.Match[str]) -> str:
    return _SPECIAL[m.group(0)]


def protect(title: str) -> str:
    """Escape a title and brace every word with a capital (except a capitalised first word)."""
    title = " ".join(_UNWRITABLE.sub("", title).split())
    out = []
    # The escapes hold no white space: the escaped title splits into the escaped words.
    for i, (word, esc) in enumerate(zip(title.split(), escape(title).split(), strict=True)):
        if word.isascii() and word.lower() == word:  # no capital (lower() changes only A-Z)
            out.append(esc)
            continue
        caps = sum(map(str.isupper, word))
        first_only = i == 0 and caps == 1 and word[:1].isupper()
        out.append(f"{{{esc}}}" if caps and not first_only else esc)
    return " ".join(out)


def _part(text: str) -> str:
    """One part of a name, escaped; braced when BibTeX would split it (a comma or `and`)."""
    esc = escape(text)
    return "{" + esc + "}" if _SPLITS_NAMES.search(esc) else esc


def _name(n: Mapping[str, Any]) -> str:
    if n.get("literal"):
        return "{" + escape(str(n["literal"])) + "}"
    von = " ".join(str(n[k]) for k in ("non-dropping-particle", "dropping-particle") if n.get(k))
    family = _part(str(n.get("family", "")))
    last = _part(von) + " " + family if von else family
    parts = [last]
    if n.get("suffix"):
        parts.append(_part(str(n["suffix"])))
    if n.get("given"):
        parts.append(_part(str(n["given"])))
    if len(parts) == 2 and n.get("suffix"):  # `Last, Jr, First` needs the given part
        parts.append("")
    return ", ".join(parts) if len(parts) > 1 else last


def names(value: Any) -> str:
    """Join CSL names as BibTeX does: `Family, Given and {Literal Org}`."""
    return " and ".join(_name(n) for n in value if isinstance(n, Mapping))


def verbatim(text: str) -> str:
    return text.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def missing(required: Iterable[str], written: Sequence[tuple[str, str]]) -> list[str]:
    """The `required` fields that `written` lacks or leaves empty (`author|editor`: either)."""
    have = {k for k, v in written if v}
    return [need for need in required if not set(need.split("|")) & have]
