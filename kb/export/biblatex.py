"""`kb-biblatex.bib`: every source as a biblatex entry that biber's data model accepts.

The same escaping as kb.bib (kb.export.bibtex), with biblatex's own types and fields: `date`
(ISO 8601 / EDTF) rather than year and month, `journaltitle`, `location`, `institution` and
`type` for reports and theses, `eprint`/`eprinttype = pubmed` for a PMID, `organization` for
what publishes a @misc or @online. Each entry type gets the fields biber's default data model
makes mandatory for it (`biber --tool --validate-datamodel` is clean, tests/test_bibtex_tools.py);
an item without them is written as @online (when it has a URL or DOI) or @misc, with a `%`
comment saying why. A source with no known date gets `date = {XXXX}`, EDTF's "year
unspecified" (biblatex requires a date of nearly every type; kb never makes one up). A
source's `note` (a curator's remark) is never written.
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
    "entry-dictionary": "inreference", "entry-encyclopedia": "inreference",
    "paper-conference": "inproceedings", "report": "report", "thesis": "thesis",
    "manuscript": "unpublished", "webpage": "online", "post": "online",
    "post-weblog": "online", "dataset": "dataset", "software": "software",
}  # fmt: skip
# biber's default data model: the fields each type must have (`a|b` is either), besides a date
MANDATORY: dict[str, tuple[str, ...]] = {
    "article": ("author", "title", "journaltitle"),
    "book": ("author", "title"),
    "collection": ("editor", "title"),
    "incollection": ("author", "editor", "title", "booktitle"),
    "inbook": ("author", "title", "booktitle"),
    "inreference": ("author", "editor", "title", "booktitle"),
    "inproceedings": ("author", "title", "booktitle"),
    "report": ("author", "title", "type", "institution"),
    "thesis": ("author", "title", "type", "institution"),
    "unpublished": ("author", "title"),
    "online": ("title", "url|doi|eprint"),
    "dataset": ("title",),
    "software": ("title",),
    "misc": ("title",),
}
# where each type keeps what CSL calls the publisher
PUBLISHER_FIELD = {"report": "institution", "thesis": "institution", "online": "organization",
                   "misc": "organization", "dataset": "organization"}  # fmt: skip
UNDATED_TYPES = frozenset({"dataset", "software"})  # the types biber needs no date for
# CSL variable -> biblatex field, plain text (in output order)
TEXT_FIELDS = (
    ("title-short", "shorttitle"), ("container-title-short", "shortjournal"),
    ("collection-title", "series"), ("edition", "edition"), ("volume", "volume"),
    ("issue", "number"), ("number", "number"), ("chapter-number", "chapter"),
    ("publisher-place", "location"), ("event-title", "eventtitle"), ("version", "version"),
    ("ISBN", "isbn"), ("ISSN", "issn"),
)  # fmt: skip
_THESIS = (("master", "mathesis"), ("phd", "phdthesis"), ("doctor", "phdthesis"))
_ISBN = re.compile(r"^(?:97[89][- ]?)?(?:\d[- ]?){9}[\dXx]$")
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]$")


def _type(item: Mapping[str, Any]) -> str:
    kind = TYPES.get(str(item.get("type")), "misc")
    if kind == "book" and not item.get("author") and item.get("editor"):
        return "collection"
    if kind == "incollection" and not item.get("editor"):
        return "inbook"
    return kind


def _date(value: Any) -> str | None:
    parts = (value or {}).get("date-parts") if isinstance(value, Mapping) else None
    if not parts or not parts[0]:
        return None
    return "/".join("-".join(f"{int(p):02d}" for p in d) for d in parts if d)


def _fields(kind: str, item: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    creators = item.get("author") or next((item[k] for k in CREATORS if item.get(k)), None)
    if creators:
        out.append(("author", names(creators)))
    for role in ("editor", "translator"):
        if item.get(role):
            out.append((role, names(item[role])))
    out.append(("title", protect(str(item.get("title", "")))))
    if item.get("container-title"):
        field = {"article": "journaltitle", "online": "organization", "misc": "howpublished"}
        out.append((field.get(kind, "booktitle"), escape(str(item["container-title"]))))
    if kind == "article" and item.get("type") in ("article-newspaper", "article-magazine"):
        out.append(("entrysubtype", str(item["type"]).removeprefix("article-")))
    if item.get("publisher"):
        out.append((PUBLISHER_FIELD.get(kind, "publisher"), escape(str(item["publisher"]))))
    if kind in ("report", "thesis"):
        out.append(("type", _kind_of(kind, str(item.get("genre") or ""))))
    for csl_key, bib_key in TEXT_FIELDS:
        value = str(item.get(csl_key) or "")
        if not value or any(k == bib_key for k, _ in out):
            continue
        if bib_key == "location" and kind == "online":
            continue  # not a field of @online in biber's data model
        if (bib_key == "isbn" and not _ISBN.match(value)) or (
            bib_key == "issn" and not _ISSN.match(value)
        ):
            continue  # biber checks them; a malformed one would be a warning
        out.append((bib_key, escape(value)))
    if item.get("page"):
        out.append(("pages", escape(re.sub(r"(?<=\w)\s*[-‐–]\s*(?=\w)", "--", str(item["page"])))))
    if item.get("PMID"):
        out += [("eprint", escape(str(item["PMID"]))), ("eprinttype", "pubmed")]
    issued = _date(item.get("issued"))
    if issued:
        out.append(("date", issued))
    elif kind not in UNDATED_TYPES:
        out.append(("date", "XXXX"))  # EDTF: the year is not known
    accessed = _date(item.get("accessed"))
    if accessed and "/" not in accessed:
        out.append(("urldate", accessed))
    if item.get("language"):
        out.append(("langid", escape(str(item["language"]))))
    if item.get("DOI"):
        out.append(("doi", verbatim(str(item["DOI"]))))
    if item.get("URL"):
        out.append(("url", verbatim(str(item["URL"]))))
    return out


def _kind_of(kind: str, genre: str) -> str:
    """The `type` of a report or thesis: biblatex's keys where the genre names one."""
    low = genre.lower()
    if kind == "thesis":
        return next((key for word, key in _THESIS if word in low), escape(genre) or "phdthesis")
    return escape(genre) if genre else "techreport"


def entry(item: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]], str | None]:
    """The biblatex type, fields and (when the item's own type could not be kept) why."""
    kind = _type(item)
    out = _fields(kind, item)
    lacking = missing(MANDATORY.get(kind, ()), out)
    if not lacking:
        return kind, out, None
    fallback = "online" if item.get("URL") or item.get("DOI") else "misc"
    return fallback, _fields(fallback, item), f"type {kind} needs {', '.join(lacking)}"


def render_entry(item: Mapping[str, Any]) -> str:
    """One biblatex entry, after a `%` comment when it could not keep its own type."""
    kind, written, why = entry(item)
    lines = [f"% kb: {item['id']}: {why}; written as {kind}"] if why else []
    if any(k == "date" and v == "XXXX" for k, v in written):
        lines.append(f"% kb: {item['id']}: no date is known (XXXX: EDTF's unspecified year)")
    lines.append(f"@{kind}{{{item['id']},")
    lines += [f"  {key} = {{{value}}}," for key, value in written]
    lines.append("}")
    return "\n".join(lines)


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return every source as biblatex, sorted by id; with a `memo`, each entry is kept by its
    source's digest."""
    nodes = ["source:" + sid for sid in sorted(kb.sources)]
    entries = by_digest(memo, nodes, lambda n: render_entry(to_csl(kb.sources[SourceId(n[7:])])))
    header = f"% {len(entries)} references exported by kb for biblatex (biber)\n\n"
    return (header + "\n\n".join(entries) + "\n").encode("utf-8")
