"""How each output's kept pieces (kb.fast.pieces) are written as rows of SQLite and read back.

A part is a map of entries, a row each (`Entries`), or one object in one row (`Whole`); each
says how its output's pieces become (key, value, extra) and come back, checking every field:
a row this module did not write raises ValueError (or TypeError, KeyError, IndexError) and its
part is made again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from kb.site.sitedata import WordIndex


def _text(v: Any) -> str:
    if type(v) is not str:
        raise ValueError("not a stored piece")
    return v


def _bytes(v: Any) -> bytes:
    if type(v) is not bytes:
        raise ValueError("not a stored piece")
    return v


class Entries:
    """A part that is a map {name: entry}, a row per entry: `out(entry) -> (key, value, extra)`
    and `back(key, value, extra) -> entry`, which raises ValueError on a row it did not write."""

    def __init__(
        self,
        out: Callable[[Any], tuple[str, Any, str | None]],
        back: Callable[[str, Any, str | None], Any],
    ) -> None:
        self.out, self.back = out, back


class Whole:
    """A part kept whole, in one row. It is written again when the output keeps another
    object, or when `sig` (what the object holds, as read) differs: an output that brings the
    object it was given up to date in place."""

    def __init__(
        self,
        out: Callable[[Any], tuple[str, Any, str | None]],
        back: Callable[[str, Any, str | None], Any],
        sig: Callable[[Any], Any] | None = None,
    ) -> None:
        self.out, self.back, self.sig = out, back, sig


# {node: (digest, text)}: kb.memo.by_digest's pieces, kb.csl.json's items
_TEXTS = Entries(lambda e: (e[0], e[1], None), lambda k, v, _: (k, _text(v)))
# claimreview.jsonld: {"world": world, "lines": {claim id: (digest, line)}}
_LINES = Entries(lambda e: (e[0], e[1], None), lambda k, v, _: (k, _bytes(v)))
_WORLD = Whole(lambda w: (str(w), None, None), lambda k, _v, _e: int(k))


def _csv_row(key: str, value: Any, _: str | None) -> Any:
    errors, warnings, digest = key.split(" ", 2)
    return ((digest, int(errors), int(warnings)), _text(value))


# claims.csv: {claim id: ((digest, errors, warnings), row)}
_CSV = Entries(lambda e: (f"{e[0][1]} {e[0][2]} {e[0][0]}", e[1], None), _csv_row)


# the search index: {node: (digest, entry's JSON, its words)}, and the word index
_SEARCH = Entries(lambda e: (e[0], e[1], e[2]), lambda k, v, x: (k, _text(v), _text(x)))


def _words_back(_key: str, value: Any, _extra: str | None) -> Any:
    texts, encoded = json.loads(_text(value))
    if type(texts) is not list or type(encoded) is not dict:
        raise ValueError("not a stored piece")
    for t in texts:
        _text(t)
    for w, ids in encoded.items():
        _text(w)
        _text(ids)
    return WordIndex.restored(texts, encoded)


# kb.site.sitedata.WordIndex.of brings the index it is given up to date in place
_WORDS = Whole(
    lambda index: ("", json.dumps([index.texts, index.encoded], ensure_ascii=False), None),
    _words_back,
    sig=lambda index: list(index.texts),
)


def _graph_back(key: str, value: Any, _extra: str | None) -> Any:
    nodes, pieces = json.loads(_text(value))
    if type(nodes) is not list or type(pieces) is not dict:
        raise ValueError("not a stored piece")
    return (int(key), [_text(n) for n in nodes], {_text(k): _text(v) for k, v in pieces.items()})


# graph-data.js: (structure, the nodes in order, the JSON of what depends on the structure)
_GRAPH = Whole(
    lambda kept: (str(kept[0]), json.dumps([kept[1], kept[2]], ensure_ascii=False), None),
    _graph_back,
)


def _orders_back(key: str, value: Any, _extra: str | None) -> Any:
    orders = json.loads(_text(value))
    if type(orders) is not dict:
        raise ValueError("not a stored piece")
    for places in orders.values():
        if type(places) is not list or not set(map(type, places)) <= {int}:
            raise ValueError("not a stored piece")
    return (key, orders)


# kb.fast.memory's page keys: (key, {page path: its dependencies' places})
_ORDERS = Whole(
    lambda kept: (kept[0], json.dumps(kept[1], separators=(",", ":")), None), _orders_back
)

Part = Entries | Whole

# Each output's memo store: one part (the whole store), or {name: part} for a store of parts.
PARTS: dict[str, Part | dict[str, Part]] = {
    "export:exports/kb.bib": _TEXTS,
    "export:exports/kb-biblatex.bib": _TEXTS,
    "export:exports/kb.csl.json": _TEXTS,
    "export:exports/claims.csv": _CSV,
    "export:exports/claimreview.jsonld": {"world": _WORLD, "lines": _LINES},
    "assets": {"search": _SEARCH, "words": _WORDS, "graph": _GRAPH},
}
# every part by its name in the store: the output's name, or output/part
SPECS: dict[str, Part] = {"page-orders": _ORDERS}
for _output, _spec in PARTS.items():
    if isinstance(_spec, dict):
        SPECS.update({f"{_output}/{name}": part for name, part in _spec.items()})
    else:
        SPECS[_output] = _spec


def back(spec: Part, rows: list[Any]) -> Any:
    """The object a part's rows stand for; ValueError (or another) when they are not rows
    this module wrote."""
    if isinstance(spec, Whole):
        ((node, k, v, x),) = rows
        if node != "":
            raise ValueError("not a stored piece")
        return spec.back(_text(k), v, x)
    return {_text(n): spec.back(_text(k), v, x) for n, k, v, x in rows}


def schema(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS pieces (part TEXT, node TEXT, key TEXT, value BLOB, "
        "extra TEXT, PRIMARY KEY (part, node))"
    )


def write_part(db: sqlite3.Connection, part: str, spec: Part, now: Any, was: Any) -> None:
    """Write one part: `now`, what its output keeps; `was`, (what was read, its sig) or None."""
    read, sig = was if was is not None else (None, None)
    if isinstance(spec, Whole):
        if now is None:
            db.execute("DELETE FROM pieces WHERE part = ?", (part,))
        elif now is not read or (spec.sig is not None and spec.sig(now) != sig):
            db.execute("DELETE FROM pieces WHERE part = ?", (part,))
            db.execute("INSERT INTO pieces VALUES (?, '', ?, ?, ?)", (part, *spec.out(now)))
        return
    if not isinstance(now, dict):
        db.execute("DELETE FROM pieces WHERE part = ?", (part,))
        return
    old: dict[str, Any] = read if isinstance(read, dict) else {}
    if not old:
        db.execute("DELETE FROM pieces WHERE part = ?", (part,))
    gone = old.keys() - now.keys()
    db.executemany("DELETE FROM pieces WHERE part = ? AND node = ?", [(part, n) for n in gone])
    db.executemany(
        "INSERT OR REPLACE INTO pieces VALUES (?, ?, ?, ?, ?)",
        [(part, n, *spec.out(e)) for n, e in now.items() if old.get(n) is not e],
    )
