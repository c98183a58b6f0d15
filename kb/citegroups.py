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

from kb.csl import all_names, first_names
from kb.styles import Style

ENGINE = "kb-citeproc 2"  # part of every cache key: change it when the output format changes
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


def group_digest(style: Style, group: list[Item]) -> str:
    """Identify a group's formatted output: the style, pandoc, this code and the items' data."""
    from kb.pandoc import pandoc_version  # imported late: it runs pandoc once

    h = hashlib.sha256(f"{ENGINE}\n{pandoc_version()}\n{style.digest}\n".encode())
    h.update(json.dumps(group, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Batch:
    """Whole groups formatted in one pandoc call; `fast` means without disambiguation."""

    style: Style
    groups: tuple[tuple[str, tuple[Item, ...]], ...]  # (digest, items)
    fast: bool

    @property
    def size(self) -> int:
        """How many items the batch holds."""
        return sum(len(items) for _, items in self.groups)


def plan(
    style: Style, groups: list[tuple[str, list[Item]]], fast_batch: int, slow_batch: int
) -> list[Batch]:
    """Pack groups into batches: lone items together (fast), interacting groups kept whole."""
    lone = [g for g in groups if len(g[1]) == 1 or not style.disambiguates]
    rest = [g for g in groups if not (len(g[1]) == 1 or not style.disambiguates)]
    batches: list[Batch] = []
    for todo, limit, fast in ((lone, fast_batch, True), (rest, slow_batch, False)):
        current: list[tuple[str, tuple[Item, ...]]] = []
        count = 0
        for digest, items in todo:
            if current and count + len(items) > limit:
                batches.append(Batch(style, tuple(current), fast))
                current, count = [], 0
            current.append((digest, tuple(items)))
            count += len(items)
        if current:
            batches.append(Batch(style, tuple(current), fast))
    return batches
