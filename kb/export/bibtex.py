"""`kb.bib`: every source as a BibTeX entry, LaTeX's special characters escaped.

Text stays UTF-8 (biber, bibtexu and LaTeX's utf8 input read it); `\\ { } & % $ # _ ~ ^` are
escaped, words with capitals are braced so that styles which lower-case titles keep them, and
`url`/`doi` stay verbatim. Biblatex fields (`date`, `urldate`, `eventtitle`) ride along; classic
BibTeX ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from kb.cite.csl import to_csl
from kb.errors import Problem
from kb.memo import Memo
from kb.model import KnowledgeBase

TYPES = {
    "article": "article", "article-journal": "article", "article-magazine": "article",
    "article-newspaper": "article", "review": "article", "review-book": "article",
    "book": "book", "classic": "book", "chapter": "incollection",
    "entry-dictionary": "incollection", "entry-encyclopedia": "incollection",
    "paper-conference": "inproceedings", "report": "techreport", "thesis": "phdthesis",
    "manuscript": "unpublished",
}  # fmt: skip
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# CSL variable -> BibTeX field, for plain text fields (in output order).
TEXT_FIELDS = (
    ("title-short", "shorttitle"), ("collection-title", "series"), ("edition", "edition"),
    ("volume", "volume"), ("issue", "number"), ("number", "number"), ("chapter-number", "chapter"),
    ("publisher-place", "address"), ("event-title", "eventtitle"), ("version", "version"),
    ("ISBN", "isbn"), ("ISSN", "issn"), ("PMID", "pmid"), ("PMCID", "pmcid"),
    ("language", "language"), ("abstract", "abstract"), ("note", "note"),
)  # fmt: skip
CREATORS = ("director", "composer", "interviewer", "host", "performer", "organizer")
_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip
_SPECIAL_RE = re.compile(r"[\\{}&%$#_~^]")


def escape(text: str) -> str:
    """Escape LaTeX's special characters in a field value."""
    text = " ".join(text.split())
    return _SPECIAL_RE.sub(_special, text) if _SPECIAL_RE.search(text) else text


def _special(m: re.Match[str]) -> str:
    return _SPECIAL[m.group(0)]


def protect(title: str) -> str:
    """Escape a title and brace every word with a capital (except a capitalised first word)."""
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


def _name(n: Mapping[str, Any]) -> str:
    if n.get("literal"):
        return "{" + escape(str(n["literal"])) + "}"
    von = " ".join(str(n[k]) for k in ("non-dropping-particle", "dropping-particle") if n.get(k))
    family = escape(str(n.get("family", "")))
    if " and " in family or "," in family:
        family = "{" + family + "}"
    last = escape(von) + " " + family if von else family
    parts = [last]
    if n.get("suffix"):
        parts.append(escape(str(n["suffix"])))
    if n.get("given"):
        parts.append(escape(str(n["given"])))
    return ", ".join(parts) if len(parts) > 1 else last


def names(value: Any) -> str:
    """Join CSL names as BibTeX does: `Family, Given and {Literal Org}`."""
    return " and ".join(_name(n) for n in value if isinstance(n, Mapping))


def _verbatim(text: str) -> str:
    return text.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D").replace(" ", "%20")


def entry_type(item: Mapping[str, Any]) -> str:
    """The BibTeX entry type for a CSL item."""
    kind = TYPES.get(str(item.get("type")), "misc")
    if kind == "phdthesis" and "master" in str(item.get("genre", "")).lower():
        return "mastersthesis"
    return kind


def fields(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the (field, BibTeX value) pairs of a CSL item, in a fixed order."""
    kind = entry_type(item)
    out: list[tuple[str, str]] = []
    creators = item.get("author") or next((item[k] for k in CREATORS if item.get(k)), None)
    if creators:
        out.append(("author", names(creators)))
    if item.get("editor"):
        out.append(("editor", names(item["editor"])))
    out.append(("title", protect(str(item.get("title", "")))))
    container = item.get("container-title")
    if container:
        key = {"article": "journal", "incollection": "booktitle", "inproceedings": "booktitle"}
        out.append((key.get(kind, "howpublished"), escape(str(container))))
    publisher = item.get("publisher")
    if publisher:
        key = {"techreport": "institution", "phdthesis": "school", "mastersthesis": "school"}
        out.append((key.get(kind, "publisher"), escape(str(publisher))))
    if item.get("genre") and kind in ("techreport", "phdthesis", "mastersthesis", "misc"):
        out.append(("type", escape(str(item["genre"]))))
    for csl_key, bib_key in TEXT_FIELDS:
        if item.get(csl_key) and all(k != bib_key for k, _ in out):
            out.append((bib_key, escape(str(item[csl_key]))))
    if item.get("page"):
        out.append(("pages", escape(re.sub(r"(?<=\w)\s*[-‐–]\s*(?=\w)", "--", str(item["page"])))))
    parts = (item.get("issued") or {}).get("date-parts") or [[]]
    if parts and parts[0]:
        first = [int(p) for p in parts[0]]
        out.append(("year", str(first[0])))
        if len(first) > 1 and 1 <= first[1] <= 12:
            out.append(("month", MONTHS[first[1] - 1]))
        out.append(("date", "/".join("-".join(f"{p:02d}" for p in d) for d in parts)))
    accessed = (item.get("accessed") or {}).get("date-parts") or [[]]
    if accessed and accessed[0]:
        out.append(("urldate", "-".join(f"{int(p):02d}" for p in accessed[0])))
    if item.get("DOI"):
        out.append(("doi", _verbatim(str(item["DOI"]))))
    if item.get("URL"):
        out.append(("url", _verbatim(str(item["URL"]))))
    return out


def render_entry(item: Mapping[str, Any]) -> str:
    """Return one `@type{key, field = {value}, ...}` entry."""
    lines = [f"@{entry_type(item)}{{{item['id']},"]
    for key, value in fields(item):
        lines.append(f"  {key} = {value}," if key == "month" else f"  {key} = {{{value}}},")
    lines.append("}")
    return "\n".join(lines)


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return every source as BibTeX, sorted by id; with a `memo`, each entry is kept by its
    source's digest (an entry shows its source alone)."""
    if memo is None:
        entries = [render_entry(to_csl(kb.sources[sid])) for sid in sorted(kb.sources)]
    else:
        old: dict[str, Any] = memo.store
        new: dict[str, Any] = {}
        entries = []
        for sid in sorted(kb.sources):
            digest = memo.digest("source:" + sid)
            got = old.get(sid)
            if got is None or digest is None or got[0] != digest:
                got = (digest, render_entry(to_csl(kb.sources[sid])))
            if digest is not None:
                new[sid] = got
            entries.append(got[1])
        memo.store = new
    header = f"% {len(entries)} references exported by kb\n\n"
    return (header + "\n\n".join(entries) + "\n").encode("utf-8")
