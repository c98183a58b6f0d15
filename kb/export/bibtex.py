"""`kb.bib`: every source as a BibTeX entry, LaTeX's special characters escaped.

Text stays UTF-8 (biber, bibtexu and LaTeX's utf8 input read it); `\\ { } & % $ # _ ~ ^` are
escaped, words with capitals are braced so that styles which lower-case titles keep them, and
`url`/`doi` stay verbatim. Biblatex fields (`date`, `urldate`, `eventtitle`) ride along; classic
BibTeX ignores them. An entry without the fields its type requires in BibTeX's standard styles
is written as @misc, with a `%` comment naming what was missing. A source's `note` is kb's own
(a curator's remark) and is never written: BibTeX styles print `note` in the reference.
kb.export.biblatex writes the same sources for biber's data model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from kb.cite.csl import to_csl
from kb.errors import Problem
from kb.export.latex import CREATORS, escape, missing, names, protect, verbatim
from kb.memo import Memo, by_digest
from kb.model import KnowledgeBase, SourceId

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
    ("language", "language"), ("abstract", "abstract"),
)  # fmt: skip
# The fields BibTeX's standard styles (plain, unsrt, alpha, abbrv) require of each entry type;
# `a|b` is either. An entry missing one is written as @misc (which requires nothing) with a
# comment saying why: the styles then format it instead of warning and printing a gap.
REQUIRED: dict[str, tuple[str, ...]] = {
    "article": ("author", "title", "journal", "year"),
    "book": ("author|editor", "title", "publisher", "year"),
    "incollection": ("author", "title", "booktitle", "publisher", "year"),
    "inproceedings": ("author", "title", "booktitle", "year"),
    "techreport": ("author", "title", "institution", "year"),
    "phdthesis": ("author", "title", "school", "year"),
    "mastersthesis": ("author", "title", "school", "year"),
    "unpublished": ("author", "title", "note"),
}


def wanted_type(item: Mapping[str, Any]) -> str:
    """The BibTeX entry type a CSL item's type maps to (before required fields are checked)."""
    kind = TYPES.get(str(item.get("type")), "misc")
    if kind == "phdthesis" and "master" in str(item.get("genre", "")).lower():
        return "mastersthesis"
    return kind


def missing_fields(kind: str, written: Sequence[tuple[str, str]]) -> list[str]:
    """The fields `kind` requires that `written` lacks (`author|editor` for either)."""
    return missing(REQUIRED.get(kind, ()), written)


def entry(item: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], str | None]:
    """The entry type, fields and (when the item's own type could not be kept) why."""
    kind = wanted_type(item)
    out = _fields(kind, item)
    missing = missing_fields(kind, out)
    if not missing:
        return kind, out, None
    out = _fields("misc", item)
    if not any(k in ("author", "editor") for k, _ in out):  # the styles sort by `key` then
        out.insert(0, ("key", escape(_sort_key(item))))
    return "misc", out, f"type {kind} needs {', '.join(missing)}; written as misc"


def _sort_key(item: Mapping[str, Any]) -> str:
    for key in ("publisher", "container-title", "title"):
        if item.get(key):
            return str(item[key])
    return str(item["id"])


def entry_type(item: Mapping[str, Any]) -> str:
    """The BibTeX entry type written for a CSL item."""
    return entry(item)[0]


def fields(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the (field, BibTeX value) pairs written for a CSL item, in a fixed order."""
    return entry(item)[1]


def _fields(kind: str, item: Mapping[str, Any]) -> list[tuple[str, str]]:
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
        out.append(("doi", verbatim(str(item["DOI"]))))
    if item.get("URL"):
        out.append(("url", verbatim(str(item["URL"]))))
    return out


def render_entry(item: Mapping[str, Any]) -> str:
    """Return one `@type{key, field = {value}, ...}` entry (after a `%` comment if it could not
    keep its own type)."""
    kind, written, why = entry(item)
    lines = [f"% kb: {item['id']}: {why}"] if why else []
    lines.append(f"@{kind}{{{item['id']},")
    for key, value in written:
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
    nodes = ["source:" + sid for sid in sorted(kb.sources)]
    entries = by_digest(memo, nodes, lambda n: render_entry(to_csl(kb.sources[SourceId(n[7:])])))
    header = f"% {len(entries)} references exported by kb\n\n"
    return (header + "\n\n".join(entries) + "\n").encode("utf-8")
