"""The readings of a base's record files, kept between processes in its cache folder.

A fresh process (`kb build`, `kb check`) reads every record file and parses its YAML; most
files did not change since the last run. This module keeps, per file, the SHA-1 of its bytes,
its stamp (kb.reading.files: size, times, identity) and its reading (the parsed value and its
marks) in `.kb-cache/readings.sqlite3`, and gives the loader, as its `StartHelper`, the stored
reading of each file whose stamp is the same (the loader then neither reads nor parses it); the
other files are read as before, and their readings replace the stored ones when the load is
over (`Stored.save`). In a base of 2,000 record files or more, the forked parse helper
(kb.fast.parsehelper) makes part of both while the loader builds records: it parses changed
files and turns stored readings back into readings.

What is stored can run no code when forged: SQLite rows of text and bytes, the value as JSON.
Only readings of plain values (dicts with text keys, lists, text, numbers, booleans, null)
read completely and without problems are stored, so that JSON gives back the same value.
The store names its schema, kb's version and the code's hash (code_version, which the build's
page keys use too);
one made by another version, or that cannot be read, is ignored with a message and replaced.
A file changed too shortly before it was read has no trusted stamp and is not stored (see
kb.reading.files.read_file): it is read again next time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from kb import __version__
from kb.fast import parsehelper
from kb.reading.files import Reading, ReadingSource, Stamp, _unchanged, cache_dir, reading
from kb.reading.yamlio import Document
from kb.reading.yamlmarks import Marks

SCHEMA = 2  # 2: the shape, which the value gives, is no longer stored
FILE_NAME = "readings.sqlite3"
_MAX_DEPTH = 64  # deeper values are not stored (JSON's own limits are far above)


@cache
def code_version() -> str:
    """Hash the templates, static files and every module of the installed kb: what a page
    shows may depend on any of them, so a change in any changes every page key."""
    h = hashlib.sha1()
    root = Path(str(resources.files("kb")))
    for folder in ("templates", "static"):
        for item in sorted((root / folder).iterdir(), key=lambda p: p.name):
            if item.is_file():
                h.update(item.name.encode() + b"\0" + item.read_bytes())
    for item in sorted(root.rglob("*.py")):
        name = item.relative_to(root).as_posix()
        h.update(name.encode() + b"\0" + item.read_bytes())
    return h.hexdigest()


def store_version(schema: int) -> str:
    """What a store of `.kb-cache` names as its version: its schema, kb's version and the
    code's hash; a store that names another is not used."""
    return f"{schema}:{__version__}:{code_version()}"


def _version() -> str:
    return store_version(SCHEMA)


# The scalars JSON gives back as they are (besides finite floats)
_SCALARS = frozenset({str, int, bool, type(None)})


class _NotPlain(Exception):
    """A value JSON would not give back exactly."""


def _plain_shape(value: Any) -> tuple[str | int, ...] | None:
    """The shape kb.reading.yamlio gives a document whose value is `value` (see Marks), when
    JSON gives back exactly `value` (the same types, keys and order; no deeper than
    _MAX_DEPTH), else None."""
    out: list[str | int] = []
    try:
        _walk_shape(value, 0, out)
    except _NotPlain:
        return None
    return tuple(out)


_INF = float("inf")


def _walk_shape(v: Any, depth: int, out: list[str | int]) -> None:
    """Append the shape of `v` to `out` (see _plain_shape). A module function, not a closure:
    a closure that calls itself is a reference cycle, which a build that pauses the cyclic
    collector (kb.fast.collector) would keep, one per file."""
    if depth > _MAX_DEPTH:
        raise _NotPlain
    if type(v) is dict:
        out.append(_MAP)
        for k, x in v.items():
            if type(k) is not str:
                raise _NotPlain
            out.append(k)
            t = type(x)
            if t is dict or t is list:
                _walk_shape(x, depth + 1, out)
            elif t not in _SCALARS and not (t is float and -_INF < x < _INF):
                raise _NotPlain
        out.append(_END)
    else:
        out.append(_SEQ)
        for x in v:
            t = type(x)
            if t is dict or t is list:
                _walk_shape(x, depth + 1, out)
                continue
            if t not in _SCALARS and not (t is float and -_INF < x < _INF):
                raise _NotPlain
            out.append(_ITEM)
        out.append(_END)


def _encode(reading: Reading) -> tuple[str, bytes, str] | None:
    """(digest, stamp, the reading as JSON), or None when it is not to be stored.

    A document kb.reading.yamlio read completely (a shape, no issue) holds only what JSON
    gives back exactly: dicts with text keys in order, lists, text, ints, booleans, null and
    floats, no deeper than its MAX_DEPTH (under _MAX_DEPTH); of those JSON refuses only the
    floats that are not finite (`.nan`, `.inf`), and then nothing is stored. So the value is
    not walked again here (that took as long as the encoding); `_decode` walks what it reads."""
    digest, doc, stamp = reading
    marks = doc.marks
    if stamp is None or doc.issues or marks.shape is None or marks.extras:
        return None
    if type(doc.value) is not dict:
        return None
    typecode, ints, _extras, _shape = marks.parts()
    data = [doc.value, typecode, base64.b64encode(ints).decode("ascii"), doc.escapes]
    try:
        return digest, stamp, _DUMPS(data)
    except ValueError:  # a float that is not finite
        return None


# one encoder for every reading: json.dumps with options makes a new one each time
_DUMPS = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _decode(digest: str, stamp: Stamp, text: str) -> Reading:
    """The reading stored as `text`; ValueError when it is not one that _encode makes (a
    damaged or forged row: the file is read again)."""
    value, typecode, ints, escapes = json.loads(text)
    if type(value) is not dict or typecode not in _TYPECODES or type(escapes) is not bool:
        raise ValueError("not a stored reading")
    expected = _plain_shape(value)  # the shape _encode checked; the number of marks, below
    if expected is None:
        raise ValueError("not a stored reading")
    marks = Marks.from_parts(value, typecode, base64.b64decode(ints, validate=True), (), expected)
    if len(marks.ints) != _marks_of(expected):
        raise ValueError("not a stored reading")
    return digest, Document(value, marks, [], escapes), stamp


_TYPECODES = ("B", "H", "i")  # as kb.reading.yamlio packs the marks
# The tokens of a shape (kb.reading.yamlmarks): a mapping or list opens, one ends, an item
_MAP, _SEQ, _END, _ITEM = 0, 1, 2, 3


@lru_cache(maxsize=1024)  # records of one kind mostly share a few shapes
def _marks_of(shape: tuple[str | int, ...]) -> int:
    """How many ints the marks of a document of this shape hold: a line and a column for each
    mapping and list, key, and scalar value or item."""
    n = 0
    for i, tok in enumerate(shape):
        if type(tok) is str:
            n += 2 if i + 1 < len(shape) and shape[i + 1] in (_MAP, _SEQ) else 4
        elif tok != _END:
            n += 2
    return n


class Stored:
    """The stored readings of one base, and the StartHelper that serves them to the loader."""

    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        folder = cache_dir(root)
        self.path = None if folder is None else folder / FILE_NAME
        self.say = say
        self.rows: dict[str, tuple[str, Stamp, str]] = {}  # rel -> (digest, stamp, JSON)
        self.fresh: dict[str, tuple[str, Stamp, str] | None] = {}  # read this time: to store
        # the record files of this load; None until the loader starts reading (it does not
        # when a long-running caller's parse cache has them: then nothing is read or stored)
        self.seen: list[str] | None = None

    def _read(self) -> None:
        if self.path is None or not self.path.is_file() or self.path.is_symlink():
            return
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
                meta = dict(db.execute("SELECT key, value FROM meta"))
                if meta.get("version") != _version():
                    self.say(
                        f"kb: {self.path} was made by another version of kb: not used "
                        "(it is made again)"
                    )
                    return
                rows = db.execute("SELECT rel, digest, stamp, reading FROM readings")
                self.rows = {rel: (d, s, r) for rel, d, s, r in rows}
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self.rows = {}
            self.say(f"kb: {self.path} cannot be read ({exc}): not used (it is made again)")

    def start(self, paths: list[tuple[str, str]]) -> ReadingSource | None:
        """The loader's StartHelper: stored readings of unchanged files, the others read. In a
        base large enough, a forked helper (kb.fast.parsehelper) makes part of both kinds while
        the loader builds records: it parses the changed files, and turns stored readings back
        into readings (the JSON and the marks), which it sends quicker than they are made."""
        self._read()
        self.seen = [rel for rel, _ in paths]
        hits: dict[int, tuple[str, Stamp, str]] = {}
        for i, (rel, path) in enumerate(paths):
            row = self.rows.get(rel)
            if row is not None and _unchanged(row[1], path):
                hits[i] = row

        def known(i: int) -> Any:
            row = hits.get(i)
            if row is None:
                return parsehelper.NOT_KNOWN
            return _recall(row)

        helper = parsehelper.start(paths, known)
        return _Source(self, paths, hits, helper)

    def save(self) -> None:
        """Store the readings made this time, and forget files that are gone."""
        if self.path is None or self.seen is None:
            return
        if not self.fresh and set(self.seen) == self.rows.keys():
            return
        try:
            self.path.parent.mkdir(exist_ok=True)
            if self.path.is_symlink():
                return
            self._write()
        except (OSError, sqlite3.Error) as exc:
            self.say(f"kb: cannot write {self.path} ({exc}): the next run reads every file")

    def _write(self) -> None:
        assert self.path is not None
        if not self.rows:  # nothing usable was there: start anew
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS readings "
                "(rel TEXT PRIMARY KEY, digest TEXT, stamp BLOB, reading TEXT)"
            )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (_version(),))
            gone = self.rows.keys() - set(self.seen or ())
            gone |= {rel for rel, row in self.fresh.items() if row is None}
            db.executemany("DELETE FROM readings WHERE rel = ?", [(r,) for r in sorted(gone)])
            db.executemany(
                "INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?)",
                [(rel, *row) for rel, row in sorted(self.fresh.items()) if row is not None],
            )


def _recall(row: tuple[str, Stamp, str]) -> Reading | None:
    """The reading a row of an unchanged file holds; None when the row is damaged or forged
    (the file is read again)."""
    try:
        return _decode(*row)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return None


class _Source:
    """A ReadingSource: the stored readings, else the parse helper's or this process's."""

    def __init__(
        self,
        stored: Stored,
        paths: list[tuple[str, str]],
        hits: dict[int, tuple[str, Stamp, str]],
        helper: ReadingSource | None,
    ) -> None:
        self.stored, self.paths, self.hits = stored, paths, hits
        self.helper = helper

    def get(self, i: int) -> Reading | None:
        row = self.hits.get(i)
        got = self.helper.get(i) if self.helper is not None else None
        if got is None and row is not None:
            got = _recall(row)
        if got is not None and row is not None:
            return got  # stored, and read back
        rel, path = self.paths[i]
        if got is None:
            got = reading(rel, path)
        self.stored.fresh[rel] = None if got is None else _encode(got)
        return got

    def stop(self) -> None:
        if self.helper is not None:
            self.helper.stop()
