"""The site-wide outputs' pieces kept between processes, for `kb build` after an edit.

In `kb serve` each export and asset keeps what it made of each record (kb.memo) and makes
again only the pieces of the records that changed. A new `kb build` process has no such memory,
and made every export, the search index and the graph's data in full. This module keeps those
pieces in the base's cache folder, `.kb-cache/pieces.sqlite3`, and gives each output a memo made
from them, so that a rebuild in a new process makes only the changed records' pieces too.

What a piece depends on is in its key, as in `kb serve`, but made from content, not from
counters of one process: a record's piece is kept by its record's digest (its file's path and
bytes, a source's snapshot); what depends on kb.yaml, the sources and the experts by a hash of
them (`world`, kb.fast.checkstore.world_key); what depends on the graph's nodes and edges by a
hash of them, edge attributes included (`structure`, made only by the outputs that need it).
The store names kb's version and the code's hash: one made by another is not used.

What is stored can run no code when forged: SQLite rows of text and bytes, each read back
field by field into the shape its output keeps (a part that is not one this module writes is
not used, and made again). But the pieces are text that goes into the site (search-index.js is
a script), so a store must also have been written here: it keeps the stamps (size, times, inode,
device: kb.reading.files) that a few of the base's files had when it was written, and is used
only when one of them still has its stamp. A store that came with a copied or cloned base (its
files have other inodes and change times) is never used, and is made again.

The page keys' dependency orders are kept here too (`PageOrders`): which nodes each record page
shows, found by walks in the graph (kb.site.pages), under a hash of the graph's structure and of
the other links the walks follow (cited sources, earlier reviews).

Only a build that has a previous site to update keeps pieces (a first build makes every output
whole, as before), and only the outputs named in `PARTS`: the audit data keyed by problems stays
in `kb serve`'s memory only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from kb.fast.checkstore import record_digests, world_key
from kb.fast.pieceparts import PARTS, SPECS, Part, Whole, back, schema, write_part
from kb.fast.stored import store_version
from kb.model import KnowledgeBase
from kb.reading.files import _stamp, cache_dir
from kb.site.state import Site

SCHEMA = 1
FILE_NAME = "pieces.sqlite3"
ANCHORS = 32  # files whose stamps say that the store was written in this base


def _version() -> str:
    return store_version(SCHEMA)


def structure_key(graph: nx.MultiDiGraph[str]) -> int:
    """A hash of the graph's nodes (in order, with their types) and of its edges (ends, keys
    and every attribute), as an int: what `kb serve`'s structure counter counts changes of."""
    shared: dict[int, str] = {}  # edges with equal attributes share one dict (kb.graph)
    parts: list[str] = []
    types = graph.nodes
    for n, nbrs in graph.adjacency():
        parts.append(f"{n}\2{types[n].get('type')}")
        for b, keyed in nbrs.items():
            for k, d in keyed.items():
                s = shared.get(id(d))
                if s is None:
                    s = shared[id(d)] = repr(sorted(d.items()))
                parts.append(f"{b}\1{k}\1{s}")
    return int.from_bytes(hashlib.sha1("\0".join(parts).encode()).digest()[:8], "big")


class _Store(dict[str, Any]):
    """A memo's store of parts, each read from the database when an output first asks for it;
    notes the parts an output sets."""

    def __init__(self, load: Callable[[str], Any]) -> None:
        super().__init__()
        self._load = load
        self.tried: set[str] = set()
        self.dirty: set[str] = set()

    def _fill(self, key: str) -> None:
        if key not in self.tried:
            self.tried.add(key)
            if not dict.__contains__(self, key):
                got = self._load(key)
                if got is not None:
                    dict.__setitem__(self, key, got)

    def get(self, key: str, default: Any = None) -> Any:
        self._fill(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: str) -> Any:
        self._fill(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._fill(key)
        return dict.__contains__(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.tried.add(key)
        self.dirty.add(key)
        dict.__setitem__(self, key, value)


class _Reader:
    """Reads the parts of one output from the store, and notes what it read (what a memo's
    `keep` compares with). Apart from the memo, so that the memo's store, which reads through
    it, makes no reference cycle with the memo: a build pauses the cyclic collector."""

    def __init__(self, pieces: Pieces, output: str) -> None:
        self.pieces, self.output = pieces, output
        self.loaded: dict[str, Any] = {}  # part -> (what was read, its sig): what changed

    def part(self, name: str) -> Any:
        """What the store holds of a part of this output's store (None: not a part kept)."""
        part = f"{self.output}/{name}"
        return self.read(part) if part in SPECS else None

    def read(self, part: str) -> Any:
        got = self.pieces.read(part)
        if got is not None:
            spec = SPECS[part]
            sig = spec.sig(got) if isinstance(spec, Whole) and spec.sig is not None else None
            self.loaded[part] = (got, sig)
        return got


class PieceMemo:
    """A kb.memo.Memo for one output in a new process: its pieces from the store, keyed by
    content (see the module's docstring)."""

    def __init__(self, pieces: Pieces, output: str) -> None:
        self.pieces, self.output = pieces, output
        self.digests: Mapping[str, str | None] = pieces.digests
        self.world = pieces.world
        self.reader = _Reader(pieces, output)
        spec = PARTS[output]
        if isinstance(spec, dict):
            self.store: dict[str, Any] = _Store(self.reader.part)
        else:
            self.store = self.reader.read(output) or {}

    @property
    def structure(self) -> int:
        """The hash of the graph's structure (made once per build, on first use)."""
        return self.pieces.structure

    def digest(self, node: str) -> str | None:
        """The digest of a record this build (None: not known, make its piece again)."""
        return self.digests.get(node)

    def keep(self) -> None:
        """Store the pieces this output made (those it kept from the store are not written
        again)."""
        spec = PARTS[self.output]
        store = self.store
        if not isinstance(spec, dict):
            self.pieces.write({self.output: (spec, store, self.reader.loaded.get(self.output))})
            return
        # a store of parts: the parts set since the last keep (all, when the output replaced
        # the store by a plain dict)
        todo: dict[str, tuple[Part, Any, Any]] = {}
        names = store.dirty if isinstance(store, _Store) else set(spec)
        for name in sorted(names):
            part = spec.get(name)
            if part is None:
                continue
            key = f"{self.output}/{name}"
            todo[key] = (part, dict.get(store, name), self.reader.loaded.get(key))
        if isinstance(store, _Store):
            store.dirty.clear()
        self.pieces.write(todo)


class PageOrders:
    """Each record page's dependencies (the graph's nodes it shows), as their places in the
    sorted nodes, in order: what the page keys hash the digests of (kb.fast.memory). Kept under
    a key of the graph's structure and of the links the pages' walks follow besides it (cited
    sources, earlier reviews): with the same key, every page shows the same nodes."""

    PART = "page-orders"

    def __init__(self, pieces: Pieces, key: str, nodes: int) -> None:
        self.pieces, self.key, self.nodes = pieces, key, nodes
        self.kept: dict[str, list[int]] | None = None

    def get(self) -> dict[str, list[int]] | None:
        """{page path: its dependencies' places}, or None when none are kept under this key."""
        got = self.pieces.read(self.PART)
        if got is None or got[0] != self.key:
            return None
        orders: dict[str, list[int]] = got[1]
        top = self.nodes
        for places in orders.values():  # places of nodes, as many as the graph has
            if places and not (min(places) >= 0 and max(places) < top):
                self.pieces.say(f"kb: {self.pieces.path}: the page orders are damaged: made again")
                return None
        self.kept = orders
        return orders

    def put(self, orders: dict[str, list[int]]) -> None:
        """Keep this build's orders (unless they are those read)."""
        if orders != self.kept:
            self.pieces.write({self.PART: (SPECS[self.PART], (self.key, orders), None)})


class Pieces:
    """The store of one base's output pieces, as a build in a new process uses it."""

    def __init__(
        self, root: Path, kb: KnowledgeBase, graph: nx.MultiDiGraph[str], say: Callable[[str], None]
    ) -> None:
        folder = cache_dir(root)
        self.path = None if folder is None else folder / FILE_NAME
        self.say = say
        self.graph = graph
        self.digests = record_digests(kb)
        self.usable = self.path is not None and None not in self.digests.values()
        self.world = int(world_key(kb, self.digests)[:16], 16) if self.usable else 0
        root_text = str(kb.root)
        files = sorted(kb.digests)  # every file the loader read, relative to the base
        step = max(1, len(files) // ANCHORS)
        self.anchors = {rel: os.path.join(root_text, rel) for rel in files[::step][:ANCHORS]}
        self.trusted = False
        if self.usable:
            self.trusted = self._open()
        self._structure: int | None = None

    @property
    def structure(self) -> int:
        """structure_key of the graph, made on first use (before the workers fork, when the
        page keys need it: they inherit it)."""
        if self._structure is None:
            self._structure = structure_key(self.graph)
        return self._structure

    def orders(self, site: Site) -> PageOrders | None:
        """The record pages' dependencies as the last build kept them (kb.fast.memory's page
        keys), while the graph and what else the walks follow are the same; None when the
        store is not kept."""
        if not self.usable:
            return None
        h = hashlib.sha1(str(self.structure).encode())
        for links in (site.cites, site.earlier_reviewers, site.reviewed_earlier):
            h.update(repr(sorted((k, sorted(v)) for k, v in links.items())).encode() + b"\0")
        return PageOrders(self, h.hexdigest(), len(site.graph))

    def _open(self) -> bool:
        """True when the store can be read (written here by this version); else it is
        removed, to be made anew."""
        path = self.path
        assert path is not None
        if path.is_symlink() or (path.exists() and not path.is_file()):
            self.usable = False  # never written through nor replaced
            self.say(f"kb: {path} is not a file: output pieces are not kept")
            return False
        if path.parent.exists() and not path.parent.is_dir():
            self.usable = False  # said once here, not by each process that makes an output
            self.say(f"kb: {path.parent} is not a folder: output pieces are not kept")
            return False
        if not path.exists():
            return False
        why = None
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("version") != _version():
                why = "was made by another version of kb"
            elif not self._anchored(meta.get("anchors")):
                why = ""  # written in another place (a copied base): quietly made anew
        except (sqlite3.Error, ValueError, TypeError, RecursionError) as exc:
            why = f"cannot be read ({exc})"
        if why is None:
            return True
        if why:
            self.say(f"kb: {path} {why}: not used (it is made again)")
        with contextlib.suppress(OSError):
            os.unlink(path)
        return False

    def _anchored(self, text: Any) -> bool:
        """True when one of the files the store names (among this base's) has the stamp it
        had when the store was written."""
        if type(text) is not str:
            return False
        stamps = json.loads(text)
        if type(stamps) is not dict:
            return False
        for rel, stamp in stamps.items():
            path = self.anchors.get(rel)
            if path is None or type(stamp) is not str:
                continue
            with contextlib.suppress(OSError):
                if _stamp(os.stat(path)).hex() == stamp:
                    return True
        return False

    def keeps(self, output: str) -> bool:
        """True when the store keeps pieces of this output (see PARTS)."""
        return self.usable and output in PARTS

    def keeps_asset(self, name: str) -> bool:
        """True when the store keeps the pieces of this part of the assets (by its name in
        kb.site.render.asset_parts): the graph data and the search index, whose parts are
        "assets" in PARTS; the audit data's rows are kept by problem objects, of one process."""
        return self.usable and name in ("graph", "search")

    def memo(self, output: str) -> PieceMemo:
        """The memo of one output (one of PARTS), with the pieces the store holds."""
        return PieceMemo(self, output)

    @contextlib.contextmanager
    def _db(self, writing: bool) -> Iterator[sqlite3.Connection]:
        assert self.path is not None
        if writing:
            db = sqlite3.connect(self.path, timeout=60)
        else:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60)
        try:
            with db:
                yield db
        finally:
            db.close()

    def read(self, part: str) -> Any:
        """What the store holds of one part (in the shape its output keeps), or None."""
        if not self.trusted:
            return None
        spec = SPECS[part]
        try:
            with self._db(writing=False) as db:
                rows = db.execute(
                    "SELECT node, key, value, extra FROM pieces WHERE part = ?", (part,)
                ).fetchall()
        except sqlite3.Error as exc:
            self.say(f"kb: {self.path} cannot be read ({exc}): the outputs are made whole")
            return None
        if not rows:
            return None
        try:
            return back(spec, rows)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            self.say(f"kb: {self.path}: the pieces of {part} are damaged: made again")
            return None

    def write(self, parts: dict[str, tuple[Part, Any, Any]]) -> None:
        """Store parts: {part: (its spec, what the output keeps now, (what was read, its sig)
        or None)}; of a part of entries only the entries that are not those read are written."""
        if not self.usable or not parts:
            return
        try:
            if self.path is not None:
                self.path.parent.mkdir(exist_ok=True)
            if self.path is None or self.path.is_symlink():
                return
            with self._db(writing=True) as db:
                schema(db)
                for part, (spec, now, was) in parts.items():
                    write_part(db, part, spec, now, was)
        except (OSError, sqlite3.Error) as exc:
            self.usable = False
            self.say(f"kb: cannot write {self.path} ({exc}): the outputs are made whole")

    def seal(self) -> None:
        """Note that the store was written here, by this version: the stamps of its anchors
        now (called once the outputs are made)."""
        if not self.usable or self.path is None or not self.path.is_file():
            return
        stamps = {}
        for rel, path in self.anchors.items():
            with contextlib.suppress(OSError):
                stamps[rel] = _stamp(os.stat(path)).hex()
        try:
            with self._db(writing=True) as db:
                schema(db)
                db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("version", _version()), ("anchors", json.dumps(stamps))],
                )
        except sqlite3.Error as exc:
            self.say(f"kb: cannot write {self.path} ({exc}): the outputs are made whole")
