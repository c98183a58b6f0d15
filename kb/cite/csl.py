"""Turn sources into CSL-JSON items, the input of every citation processor and reference manager."""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kb.model import KnowledgeBase, Source, SourceId
from kb.reading.schema import LEGACY_FIELDS, SOURCE_KB_KEYS, csl_fields

# Keys of a source that belong to the knowledge base, not to CSL.
KB_FIELDS = frozenset(SOURCE_KB_KEYS)
DATE_FIELDS = frozenset(k for k, kind in csl_fields().items() if kind == "date")
NAME_FIELDS = frozenset(k for k, kind in csl_fields().items() if kind == "names")
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\Z")
# `language` values that name English other than by a BCP 47 tag: CSL processors title-case
# only items whose language is English (`en`, `en-US`...) or unset, so `eng` or `English`
# would leave an English title in sentence case.
ENGLISH = frozenset({"eng", "english", "en_us", "en_gb", "anglais", "englisch", "inglés"})
# Numeric ranges written with a hyphen: `3-4` in an issue is printed with the style's range
# delimiter (an en dash, or AMA's hyphen), as pages are.
_RANGE = re.compile(r"^(\w+)\s*[-‐‒–]\s*(\w+)$")


def csl_date(value: Any) -> dict[str, Any]:
    """Turn an ISO date (`2010-08-20`, `2010-08`, `2010`, or `2010/2012`) into CSL date-parts."""
    if isinstance(value, dict):  # already CSL
        return dict(value)
    if isinstance(value, _dt.date):
        return {"date-parts": [[value.year, value.month, value.day]]}
    text = str(value).strip()
    parts: list[list[int]] = []
    for piece in text.split("/"):
        m = _DATE.match(piece.strip())
        if not m:
            return {"literal": text}
        parts.append([int(g) for g in m.groups() if g])
    return {"date-parts": parts}


def _scalar(value: Any) -> Any:
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def to_csl(source: Source) -> dict[str, Any]:
    """Return the CSL-JSON item of a source: id, type and its CSL fields, with date-parts dates."""
    item: dict[str, Any] = {"id": str(source.id), "type": source.type}
    for key, value in source.csl.items():
        if key in KB_FIELDS or key in ("id", "type") or value is None or value == "":
            continue
        if key in LEGACY_FIELDS:
            if source.csl.get(LEGACY_FIELDS[key]) not in (None, ""):
                continue  # the CSL name wins over the legacy one
            key = LEGACY_FIELDS[key]
        if key == "language" and isinstance(value, str):
            value = language_tag(value)
        if key in DATE_FIELDS:
            item[key] = csl_date(value)
        elif key in NAME_FIELDS and isinstance(value, list):
            item[key] = [{k: _scalar(v) for k, v in dict(n).items()} for n in value]
        else:
            item[key] = _scalar(value)
    retrieved = source.csl.get("snapshot_retrieved")
    if retrieved and "accessed" not in item and item.get("URL"):
        # the day `kb snapshot` archived the page is the day it was read: APA then prints
        # `Retrieved Month Day, Year, from URL`, not an undated `Retrieved URL`
        item["accessed"] = csl_date(retrieved)
    return item


def language_tag(value: str) -> str:
    """A `language` value as CSL processors read it: English under any common name is `en`."""
    text = value.strip()
    return "en" if text.casefold() in ENGLISH else text


def range_dash(value: Any, dash: str) -> Any:
    """A numeric range such as `3-4` with `dash` between its ends; anything else as it is."""
    if not isinstance(value, str):
        return value
    m = _RANGE.match(value.strip())
    return f"{m.group(1)}{dash}{m.group(2)}" if m else value


def csl_items(kb: KnowledgeBase, ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Return the CSL-JSON items of a knowledge base's sources (or of `ids`), sorted by id."""
    wanted = sorted(kb.sources) if ids is None else sorted(set(ids))
    return [to_csl(kb.sources[SourceId(s)]) for s in wanted if s in kb.sources]


def dumps(items: list[dict[str, Any]] | Mapping[str, Any]) -> str:
    """Serialise CSL-JSON deterministically: sorted keys, UTF-8, two-space indent."""
    return json.dumps(items, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def first_names(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the first name of every name variable of a CSL item (in sorted variable order)."""
    out: list[Mapping[str, Any]] = []
    for key in sorted(NAME_FIELDS):
        names = item.get(key)
        if isinstance(names, list) and names and isinstance(names[0], Mapping):
            out.append(names[0])
    return out


def all_names(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return every name of every name variable of a CSL item."""
    out: list[Mapping[str, Any]] = []
    for key in sorted(NAME_FIELDS):
        names = item.get(key)
        if isinstance(names, list):
            out.extend(n for n in names if isinstance(n, Mapping))
    return out
