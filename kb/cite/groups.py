"""Split CSL items into groups that cannot affect each other's citations, and pack batches.

Pandoc compares the printed names and dates of citations to find ambiguous ones (which get year
suffixes, more names or initials), and gives initials to first authors who share a family name
with another first author. So two items can only interact when their citations could print the
same name or title: a group is a connected set of items sharing the first family name (or
literal name) of any name list, or a title. Formatting whole groups in separate pandoc runs gives
the same output as one run over everything; `tests/test_cite.py` checks that.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kb.cite.csl import all_names, first_names
from kb.cite.styles import Style

ENGINE = "kb-citeproc 3"  # part of every cache key: change it when the output format changes
FAST_BATCH = 200  # items per batch when nothing needs disambiguation
SLOW_BATCH = 80  # items per batch otherwise (whole groups; a larger group stays whole)
Item = Mapping[str, Any]

_NOT_WORD = re.compile(r"[\W_]+")


@lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    """Fold case, accents, spaces and punctuation away: `Müller-Thurgau` ~ `mullerthurgau`."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKD", text)).casefold()


def item_keys(item: Item, all_name_keys: bool = False) -> set[str]:
    """Return what an item's citation could share with another's: names and titles, normalised."""
    keys: set[str] = set()
    names = all_names(item) if all_name_keys else first_names(item)
    for name in names:
        literal, family = str(name.get("literal") or ""), str(name.get("family") or "")
        particle = str(name.get("non-dropping-particle") or "")
        for text in (literal, family, particle + family, family.split()[-1] if family else ""):
            if _norm(text):
                keys.add("n:" + _norm(text))
    titles = ["title", "title-short"]
    if not names:  # a citation without names may print a container's title instead
        titles += ["container-title", "container-title-short", "volume-title", "reviewed-title"]
    for field in titles:
        title = str(item.get(field) or "")
        for text in (title, re.split(r"[:?!]", title)[0]):
            if _norm(text):
                keys.add("t:" + _norm(text))
    return keys


def group_items(items: Iterable[Item], all_name_keys: bool = False) -> list[list[Item]]:
    """Split items into groups that cannot affect each other's citations (sorted by id)."""
    ordered = sorted(items, key=lambda it: str(it["id"]))
    parent = list(range(len(ordered)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, item in enumerate(ordered):
        for key in item_keys(item, all_name_keys):
            j = owner.setdefault(key, i)
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[Item]] = {}
    for i, item in enumerate(ordered):
        groups.setdefault(find(i), []).append(item)
    return [groups[k] for k in sorted(groups)]


def year_key(item: Item) -> str:
    """The year a citation prints for an item (`nd` without one): ambiguity needs the same."""
    issued = item.get("issued")
    if isinstance(issued, Mapping):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            return str(parts[0][0])
        m = re.search(r"\d{4}", str(issued.get("literal") or issued.get("raw") or ""))
        if m:
            return m.group(0)
    return "nd"


@dataclass(frozen=True, slots=True)
class Unit:
    """Items formatted together (a group, or one year's part of a large group), with ghosts.

    Ghosts are copies of the group's other items, dated to a year no item here has: they
    give citeproc every name of the group, so that first authors sharing a family name get
    the same initials as in one run over everything, and they cannot be confused with the
    real items. Their output is thrown away.
    """

    digest: str
    items: tuple[Item, ...]
    ghosts: tuple[Item, ...] = ()

    @property
    def size(self) -> int:
        """How many items pandoc formats for this unit."""
        return len(self.items) + len(self.ghosts)


def split_group(style: Style, group: list[Item], limit: int) -> list[tuple[list[Item], list[Item]]]:
    """Split a group larger than `limit` into parts of whole years, each with its ghosts.

    Only for author-date styles: their citations print the year, so items of different years
    are never ambiguous; what else links them (initials for namesakes) the ghosts carry.
    """
    if len(group) <= limit or not (style.disambiguates and style.author_date):
        return [(group, [])]
    years: dict[str, list[Item]] = {}
    for item in group:
        years.setdefault(year_key(item), []).append(item)
    parts: list[list[Item]] = []
    for key in sorted(years):
        if parts and len(parts[-1]) + len(years[key]) <= limit:
            parts[-1].extend(years[key])
        else:
            parts.append(list(years[key]))
    if len(parts) == 1:
        return [(group, [])]
    names = all_names if style.all_names else first_names
    out: list[tuple[list[Item], list[Item]]] = []
    for part in parts:
        inside = {id(it) for it in part}
        seen = {json.dumps(n, sort_keys=True) for it in part for n in names(it)}
        taken = {year_key(it) for it in part}
        year = next(y for y in range(9999, 0, -1) if str(y) not in taken)
        ghosts: list[Item] = []
        for item in group:
            new = {json.dumps(n, sort_keys=True) for n in names(item)} - seen
            if id(item) not in inside and new:
                seen |= new
                ghosts.append({**item, "id": f"_ghost_{part[0]['id']}_{len(ghosts)}",
                               "issued": {"date-parts": [[year]]}})  # fmt: skip
        out.append((sorted(part, key=lambda it: str(it["id"])), ghosts))
    return out


def unit_digest(style: Style, items: list[Item], ghosts: list[Item]) -> str:
    """Identify a unit's formatted output: the style, pandoc, this code and the items' data."""
    from kb.cite.pandoc import pandoc_version  # imported late: it runs pandoc once

    h = hashlib.sha256(f"{ENGINE}\n{pandoc_version()}\n{style.digest}\n".encode())
    h.update(json.dumps([items, ghosts], sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Batch:
    """Whole units formatted in one citeproc run; `fast` means without disambiguation."""

    style: Style
    units: tuple[Unit, ...]
    fast: bool

    @property
    def size(self) -> int:
        """How many items (ghosts included) the batch holds."""
        return sum(u.size for u in self.units)


def plan(style: Style, units: list[Unit], fast_batch: int, slow_batch: int) -> list[Batch]:
    """Pack units into batches: lone items together (fast), interacting ones kept whole."""
    lone = [u for u in units if u.size == 1 or not style.disambiguates]
    rest = [u for u in units if not (u.size == 1 or not style.disambiguates)]
    batches: list[Batch] = []
    for todo, limit, fast in ((lone, fast_batch, True), (rest, slow_batch, False)):
        current: list[Unit] = []
        count = 0
        for unit in todo:
            if current and count + unit.size > limit:
                batches.append(Batch(style, tuple(current), fast))
                current, count = [], 0
            current.append(unit)
            count += unit.size
        if current:
            batches.append(Batch(style, tuple(current), fast))
    return batches
