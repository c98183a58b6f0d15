"""Read bibliographies people already have into CSL-JSON items: CSL-JSON (Zotero, Better BibTeX,
citation-js, Manubot, DOI content negotiation), BibTeX and BibLaTeX (pandoc's own reader, from
the pandoc that pypandoc-binary ships) and RIS (rispy).

`read_file` returns the raw items; `clean` makes one item a valid kb source: CSL names for
legacy and Crossref ones, bare DOIs, CSL dates, and only CSL variables; each change is noted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import KBError
from kb.reading import csl as C
from kb.reading.schema import NAME_KEYS, csl_fields, csl_types

# RIS reference types (as rispy reads `TY`) and the CSL type of each.
RIS_TYPES = {
    "JOUR": "article-journal", "JFULL": "article-journal", "EJOUR": "article-journal",
    "ABST": "article-journal", "INPR": "article-journal", "MGZN": "article-magazine",
    "NEWS": "article-newspaper", "BOOK": "book", "EBOOK": "book", "EDBOOK": "book",
    "CHAP": "chapter", "ECHAP": "chapter", "CONF": "paper-conference",
    "CPAPER": "paper-conference", "RPRT": "report", "GOVDOC": "report", "THES": "thesis",
    "ELEC": "webpage", "WEB": "webpage", "BLOG": "post-weblog", "DATA": "dataset",
    "COMP": "software", "PAT": "patent", "STAT": "legislation", "BILL": "bill",
    "CASE": "legal_case", "HEAR": "hearing", "MAP": "map", "PCOMM": "personal_communication",
    "VIDEO": "motion_picture", "SOUND": "song", "MPCT": "motion_picture", "ICOMM": "post",
    "PAMP": "pamphlet", "STAND": "standard", "DICT": "entry-dictionary",
    "ENCYC": "entry-encyclopedia", "GEN": "document", "UNPB": "manuscript", "MANSCPT": "manuscript",
}  # fmt: skip

# RIS fields (rispy's names) that map one to one to a CSL text variable.
RIS_TEXT = {
    "title": "title", "primary_title": "title", "journal_name": "container-title",
    "secondary_title": "container-title", "alternate_title3": "container-title",
    "alternate_title2": "container-title-short", "alternate_title1": "container-title-short",
    "tertiary_title": "collection-title", "volume": "volume", "number": "issue",
    "edition": "edition", "publisher": "publisher", "place_published": "publisher-place",
    "abstract": "abstract", "notes_abstract": "abstract", "doi": "DOI", "issn": "ISSN",
    "language": "language", "short_title": "title-short", "section": "section",
    "accession_number": "PMID", "name_of_database": "source",
}  # fmt: skip


# Zotero's own CSL-JSON export names items by their URI: that is no key a draft cites. Other
# ids are (Manubot's `url:https://...` and `doi:10...`, Better BibTeX's `friends:leia:dvd`).
ZOTERO_URI = re.compile(r"https?://zotero\.org/(?:users|groups)/[^/]+/(?:[^/]+/)?items/")


@dataclass
class Entry:
    """One item read from a file, as CSL-JSON, with its citation key and what was changed."""

    item: dict[str, Any]
    key: str | None
    origin: str  # "refs.bib, entry 3"
    notes: list[str] = field(default_factory=list)


MAX_BIBLIOGRAPHY = 50 * 1024 * 1024  # a bibliography file read by `kb import`, at most


def read_file(path: Path) -> list[Entry]:
    """Read a CSL-JSON (.json), BibTeX or BibLaTeX (.bib, .bibtex, .biblatex) or RIS (.ris)
    file into CSL-JSON items. Raise KBError naming the file (and the place) when it cannot be
    read."""
    from kb.reading.safe import read_input

    try:
        text = read_input(path, MAX_BIBLIOGRAPHY).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KBError(
            f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    suffix = path.suffix.lower()
    readers: dict[str, Callable[[str, str], list[dict[str, Any]]]] = {
        ".json": _csl_json,
        ".bib": _bibtex,
        ".bibtex": _bibtex,
        ".biblatex": _bibtex,
        ".ris": _ris,
        ".txt": _ris,
    }
    reader = readers.get(suffix)
    if reader is None:
        stripped = text.lstrip()
        reader = _csl_json if stripped[:1] in "[{" else _bibtex if stripped[:1] == "@" else _ris
    items = reader(text, str(path))
    entries = []
    for i, item in enumerate(items, 1):
        key = item.get("citation-key") or item.get("id")
        usable = key not in (None, "") and not ZOTERO_URI.match(str(key))
        entries.append(Entry(item, str(key) if usable else None, f"{path}, entry {i}"))
    return entries


def _csl_json(text: str, name: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KBError(f"{name}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise KBError(f"{name}: nested too deeply to be read as CSL-JSON") from exc
    if isinstance(data, dict) and isinstance(data.get("items"), list):  # CSL-JSON in a wrapper
        data = data["items"]
    items = data if isinstance(data, list) else [data]
    bad = next((i for i, x in enumerate(items, 1) if not isinstance(x, dict)), None)
    if bad is not None:
        raise KBError(f"{name}: entry {bad} is not a CSL-JSON item (an object)")
    return items


def _bibtex(text: str, name: str) -> list[dict[str, Any]]:
    import pypandoc

    fmt = "biblatex" if name.endswith(".biblatex") else "bibtex"
    try:
        out = pypandoc.convert_text(text, "csljson", format=fmt)
    except RuntimeError as exc:
        raise KBError(f"{name}: pandoc could not read it as {fmt}: {exc}") from exc
    data = json.loads(out) if out.strip() else []
    if not data and text.strip():
        raise KBError(f"{name}: pandoc found no BibTeX entry in it")
    return list(data)


def _ris(text: str, name: str) -> list[dict[str, Any]]:
    import rispy

    try:
        records = rispy.loads(text)
    except Exception as exc:  # rispy raises IOError and others on malformed input
        raise KBError(f"{name}: not a RIS file rispy can read: {exc}") from exc
    if not records:
        raise KBError(f"{name}: no RIS record in it (each starts with 'TY  - ')")
    return [ris_to_csl(r) for r in records]


def _ris_names(values: list[str]) -> list[dict[str, str]]:
    out = []
    for v in values:
        family, comma, given = v.partition(",")
        if comma:
            out.append({"family": family.strip(), "given": given.strip()})
        else:
            out.append({"literal": v.strip()})
    return out


def _ris_date(record: dict[str, Any]) -> dict[str, Any] | None:
    text = str(record.get("date") or record.get("year") or record.get("publication_year") or "")
    nums = [int(n) for n in re.findall(r"\d+", text)]
    if not nums or not 1000 <= nums[0] <= 9999:
        return {"raw": text} if text.strip() else None
    return {"date-parts": [nums[:3]]}


# An ISBN once spaces and hyphens are gone: 13 digits, or 9 and a check digit or X (an ISSN has 8)
_ISBN_SHAPE = re.compile(r"\d{13}|\d{9}[\dXx]")


def ris_to_csl(record: dict[str, Any]) -> dict[str, Any]:
    """One RIS record (as rispy reads it) as a CSL-JSON item."""
    item: dict[str, Any] = {"type": RIS_TYPES.get(str(record.get("type_of_reference")), "document")}
    if record.get("id"):
        item["id"] = str(record["id"])
    for ris, key in RIS_TEXT.items():
        v = record.get(ris)
        if v and key not in item:
            item[key] = v if isinstance(v, str) else str(v[0]) if isinstance(v, list) else str(v)
    authors = [*(record.get("authors") or []), *(record.get("first_authors") or [])]
    if authors:
        item["author"] = _ris_names(authors)
    if record.get("secondary_authors") and item["type"] in ("chapter", "paper-conference"):
        item["editor"] = _ris_names(record["secondary_authors"])
    if date := _ris_date(record):
        item["issued"] = date
    pages = "-".join(str(record[k]) for k in ("start_page", "end_page") if record.get(k))
    if pages:
        item["page"] = pages
    if "ISSN" in item and _ISBN_SHAPE.fullmatch(re.sub(r"[\s-]", "", item["ISSN"])):
        item["ISBN"] = item.pop("ISSN")  # RIS's SN is a book's ISBN, a serial's ISSN
    urls = record.get("urls") or []
    if urls:
        item["URL"] = urls[0]
    if record.get("access_date"):
        nums = [int(n) for n in re.findall(r"\d+", str(record["access_date"]))][:3]
        if nums and nums[0] > 999:
            item["accessed"] = {"date-parts": [nums]}
    return item


# Variables whose several values Crossref lists, and CSL (as Zotero does) writes in one text.
JOINED = frozenset({"ISSN", "ISBN"})


def _text(value: Any, key: str, notes: list[str]) -> str | None:
    """A CSL text from what tools write: text, a number, or a list of texts (Crossref's ISSN of
    print and online, joined; of other lists the first, noted when there are more)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        if len(value) > 1 and key in JOINED:
            notes.append(f"{key!r}: the list {value!r} written as one text")
            return ", ".join(value)
        if len(value) > 1:
            notes.append(f"{key!r}: the first of {value!r} kept, the rest left out")
        return str(value[0])
    return None


def _names(values: Any, key: str, notes: list[str]) -> list[dict[str, Any]] | None:
    if not isinstance(values, list):
        notes.append(f"{key!r} is not a list of names: left out")
        return None
    out = []
    for n in values:
        if not isinstance(n, dict):
            continue
        extra = sorted(k for k in n if k not in NAME_KEYS)
        if extra:
            notes.append(f"{key!r}: {', '.join(extra)} of a name left out (not CSL)")
        name = {k: v for k, v in n.items() if k in NAME_KEYS and v not in (None, "")}
        if any(name.get(k) for k in ("family", "given", "literal")):
            out.append(name)
    return out or None


def clean(entry: Entry) -> dict[str, Any]:
    """The entry's item made a kb source: CSL variables only (each change noted), the type,
    DOI, dates and names in CSL's forms, the citation key as `citation-key`."""
    notes = entry.notes
    item = {C.LEGACY_KEYS.get(k, k): v for k, v in entry.item.items()}
    kinds = csl_fields()
    out: dict[str, Any] = {}
    ctype, note = C.read_type(str(item.get("type") or "document"))
    if note:
        notes.append(note)
    if ctype not in csl_types():
        notes.append(f"type {ctype!r} is not a CSL type: written as 'document'")
        ctype = "document"
    out["type"] = ctype
    for key, v in item.items():
        kind = kinds.get(key)
        if key in ("id", "type"):
            continue
        if kind is None:  # said even when empty (Zotero's `seeAlso: []`): the entry is not CSL
            notes.append(f"{key!r} left out: not a CSL variable")
        elif v in (None, "", []):
            continue
        elif kind == "names":
            if names := _names(v, key, notes):
                out[key] = names
        elif kind == "date":
            date, why = C.read_date(v)
            if why is not None:
                notes.append(f"{key!r} left out: {why}")
            else:
                out[key] = date
        elif kind in ("text", "number"):
            t = _text(v, key, notes)
            if t is None:
                notes.append(f"{key!r} left out: not text")
            elif key == "DOI":
                doi, dnote = C.normal_doi(t)
                if doi is None:
                    notes.append(f"DOI {t!r} left out: not a DOI")
                    continue
                if dnote:
                    notes.append(dnote)
                out[key] = doi
            else:
                out[key] = t.strip() if key in ("title", "container-title") else t
        else:
            out[key] = v
    if entry.key and "citation-key" not in out:
        out["citation-key"] = entry.key
    return out


def kb_id(key: str | None, item: dict[str, Any]) -> str:
    """A valid kb id (lower-case letters, digits and '-', at most 80) from a citation key, or
    from the first author's family name and the year when there is no key or the key is a
    link or a DOI (Manubot's `url:https://...`, `doi:10.1/x`: a poor file name). Letters of
    any script are transliterated (anyascii: Астахова gives astakhova)."""
    from anyascii import anyascii

    if not key or "/" in key:
        first: dict[str, Any] = next(iter(item.get("author") or item.get("editor") or []), {})
        who = first.get("family") or first.get("literal") or first.get("given") or ""
        year = ""
        issued = item.get("issued")
        if isinstance(issued, str):
            year = issued[:4]
        elif isinstance(issued, dict) and issued.get("date-parts"):
            year = str(issued["date-parts"][0][0])
        title_word = next(iter(re.findall(r"\w{4,}", str(item.get("title") or ""))), "")
        key = "-".join(x for x in (who, year) if x) or title_word or key or "source"
    slug = re.sub(r"[^a-z0-9]+", "-", anyascii(key).lower()).strip("-")[:80].strip("-")
    return slug or "source"
