"""`kb.csl.json`: every source as a CSL-JSON item, for Zotero, pandoc and CSL processors."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from kb.cite.csl import csl_items, to_csl
from kb.errors import Problem
from kb.export import jsontext
from kb.memo import Memo
from kb.model import KnowledgeBase


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return the sources as a CSL-JSON list sorted by id (CSL fields only, date-parts dates).

    The text of kb.cite.csl.dumps (indented, sorted keys), written by kb.export.jsontext; with a
    `memo`, each item's text is kept by its source's digest (an item shows its source alone).
    """
    if memo is None or not kb.sources:
        return (jsontext.dumps(csl_items(kb)) + "\n").encode("utf-8")
    old = memo.store
    new: dict[str, tuple[str, str]] = {}
    pieces: list[jsontext.Raw] = []
    for sid in sorted(kb.sources):
        digest = memo.digest("source:" + sid)
        got = old.get(sid)
        if got is None or digest is None or got[0] != digest:
            text = jsontext.encode_at(to_csl(kb.sources[sid]), 1)
            if text is None:  # unusual: json.dumps writes the whole list (or says why not)
                memo.store = {}
                return (jsontext.dumps(csl_items(kb)) + "\n").encode("utf-8")
            got = (digest or "", text)
        if digest is not None:
            new[sid] = got
        pieces.append(jsontext.Raw(got[1]))
    memo.store = new
    return (jsontext.dumps(pieces) + "\n").encode("utf-8")
