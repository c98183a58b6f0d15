"""`kb.csl.json`: every source as a CSL-JSON item, for Zotero, pandoc and CSL processors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from kb.cite.csl import to_csl
from kb.errors import Problem
from kb.export import jsontext
from kb.memo import Memo
from kb.model import KnowledgeBase, Source


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return the sources as a CSL-JSON list sorted by id (CSL fields only, date-parts dates).

    An item's `id` is its source's `citation-key` when it has one (the key drafts cite it by,
    kept by `kb import`) that no other source has as key or id; else the source id.

    The text of kb.cite.csl.dumps (indented, sorted keys), written by kb.export.jsontext; with a
    `memo`, each item's text is kept by its source's digest (an item shows its source alone).
    """
    keys = _citation_keys(kb)
    if memo is None or not kb.sources:
        return (jsontext.dumps(_items(kb, keys)) + "\n").encode("utf-8")
    old = memo.store
    new: dict[str, tuple[str, str]] = {}
    pieces: list[jsontext.Raw] = []
    for sid in sorted(kb.sources):
        digest = memo.digest("source:" + sid)
        if digest is not None:
            digest += "|" + keys.get(sid, "")  # the key also depends on the other sources
        got = old.get(sid)
        if got is None or digest is None or got[0] != digest:
            text = jsontext.encode_at(_item(kb.sources[sid], keys), 1)
            if text is None:  # unusual: json.dumps writes the whole list (or says why not)
                memo.store = {}
                return (jsontext.dumps(_items(kb, keys)) + "\n").encode("utf-8")
            got = (digest or "", text)
        if digest is not None:
            new[sid] = got
        pieces.append(jsontext.Raw(got[1]))
    memo.store = new
    return (jsontext.dumps(pieces) + "\n").encode("utf-8")


def _citation_keys(kb: KnowledgeBase) -> dict[str, str]:
    """The citation key each source is exported under: its `citation-key`, unless another
    source has the same key, or has it as its id."""
    wanted = {
        sid: key
        for sid, src in kb.sources.items()
        if isinstance(key := src.csl.get("citation-key"), str) and key.strip()
    }
    counts = Counter(wanted.values())
    return {
        sid: key
        for sid, key in wanted.items()
        if counts[key] == 1 and (key == sid or key not in kb.sources)
    }


def _item(src: Source, keys: dict[str, str]) -> dict[str, Any]:
    item = to_csl(src)
    key = keys.get(src.id)
    if key:
        item["id"] = key
    return item


def _items(kb: KnowledgeBase, keys: dict[str, str]) -> list[dict[str, Any]]:
    return [_item(kb.sources[sid], keys) for sid in sorted(kb.sources)]
