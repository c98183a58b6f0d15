"""What the checks found about each claim, kept between processes in the base's cache folder.

A fresh process (`kb check`, `kb build`) runs every check on every claim, though most claims
did not change since the last run. A claim's own problems, and where its quotes were found in
their snapshots, depend only on its record, on kb.yaml, and on the sources, experts and claim
ids it names (kb.fast.checkmemory). So this module keeps, per claim, the digest of its file,
its problems and its quotes' places in `.kb-cache/checks.sqlite3`, under a key of everything
else ("the world": kb.yaml's settings and bytes, every source and expert file and snapshot,
the set of claim ids). When the world is the one stored, the checks run on the claims whose
file changed and take the others' findings from the store (through CheckMemory, as `kb serve`
does between builds); else they run on every claim and the store is made again. The checks
across records (loops, orphans, roles) run every time: they are quick.

What is stored can run no code when forged: SQLite rows of text, the findings as JSON, read
back field by field (a row that is not one this module writes is ignored, and that claim
checked again). A row is used only while its claim's file has the stamp it had when the row
was written (size, times, inode and device, as kb.fast.stored's readings): a store that came
with a copied or cloned base (its files have other inodes and change times) is never used, so
a forged store cannot hide a problem. The store names its schema, kb's version and the code's
hash; one made by another version, or that cannot be read, is ignored with a message and
replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.errors import Loc, Problem, Severity
from kb.fast.checkmemory import CheckMemory
from kb.fast.stored import store_version
from kb.graph import Graph
from kb.model import KnowledgeBase
from kb.reading.files import MARKERS, _stamp, _unchanged, cache_dir

SCHEMA = 2
FILE_NAME = "checks.sqlite3"
_SEVERITIES = {s.value: s for s in Severity}
Located = dict[tuple[str, int, bool], list[tuple[int, int]]]


def _version() -> str:
    return store_version(SCHEMA)


def record_digests(kb: KnowledgeBase) -> dict[str, str | None]:
    """Return {graph node: digest} for every record: its file and the hash of the file's
    bytes (a source's snapshot too); None when the record was not loaded from a file."""
    files = kb.digests
    out: dict[str, str | None] = {}
    for kind, records in (("claim:", kb.claims), ("expert:", kb.experts)):
        for ident, rec in records.items():
            d = files.get(rec.where.file)
            out[kind + ident] = None if d is None else rec.where.file + "\0" + d
    for sid, s in kb.sources.items():
        d = files.get(s.where.file)
        out["source:" + sid] = (
            None
            if d is None
            else f"{s.where.file}\0{d}\0{s.snapshot}\0{s.snapshot_sha256}\0"
            f"{s.snapshot_text is not None}"
        )
    return out


def world_key(kb: KnowledgeBase, digests: dict[str, str | None]) -> str:
    """A hash of all a claim's own findings depend on besides its own file: kb.yaml (its
    settings and its bytes), every source and expert (file, snapshot and its digest) and the
    set of claim ids. None of a record's digests is None (it was read from a file)."""
    h = hashlib.sha1()
    cfg = kb.config
    severity = sorted((k, str(v)) for k, v in cfg.severity.items())
    h.update(repr((cfg.title, cfg.base_url, cfg.style, cfg.styles, severity)).encode())
    for name in MARKERS:
        h.update(f"\0{name}\0{kb.digests.get(name, '')}".encode())
    for sid, src in sorted(kb.sources.items()):  # the snapshot's own bytes, whatever it declares
        text = src.snapshot_text
        snap = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest() if text else ""
        h.update(f"\0{sid}\0{snap}".encode())
    for node, digest in sorted(digests.items()):
        if not node.startswith("claim:"):
            h.update(f"\0{node}\0{digest}".encode())
        else:
            h.update(f"\0{node}".encode())
    return h.hexdigest()


def _problem_row(p: Problem) -> list[Any]:
    return [p.loc.path, p.loc.line, p.loc.col, p.code, p.message, p.severity.value, p.subject]


def _problem(row: Any) -> Problem:
    """The problem a row of _problem_row stands for; ValueError when it is not one."""
    path, line, col, code, message, severity, subject = row
    if not (
        type(path) is str
        and type(line) is int
        and type(col) is int
        and type(code) is str
        and type(message) is str
        and severity in _SEVERITIES
        and (subject is None or type(subject) is str)
    ):
        raise ValueError("not a stored problem")
    return Problem(Loc(path, line, col), code, message, _SEVERITIES[severity], subject)


def _places_rows(located: Located) -> dict[str, list[Any]]:
    """{claim id: [[quote index, origin?, [[start, end], ...]], ...]}."""
    out: dict[str, list[Any]] = {}
    for (cid, i, origin), spans in located.items():
        out.setdefault(cid, []).append([i, origin, [list(s) for s in spans]])
    return out


def _places(cid: str, rows: Any) -> Located:
    """The places a row of _places_row stands for; ValueError when it is not one."""
    out: Located = {}
    for i, origin, spans in rows:
        if type(i) is not int or type(origin) is not bool or type(spans) is not list:
            raise ValueError("not stored places")
        got = []
        for a, b in spans:
            if type(a) is not int or type(b) is not int:
                raise ValueError("not stored places")
            got.append((a, b))
        out[(cid, i, origin)] = got
    return out


@dataclass
class Recalled:
    """What the store gave: the world's key (None: not storable, a record not from a file),
    each claim's digest, the findings kept, and the claims to check (None: all)."""

    world: str | None
    claims: dict[str, str | None]
    memory: CheckMemory
    changed: list[str] | None


def _stamp_of(path: str) -> bytes | None:
    """The file's stamp now (size, times, inode, device: kb.reading.files)."""
    try:
        return _stamp(os.stat(path))
    except OSError:
        return None


class CheckStore:
    """The stored findings of one base's claims (see the module's docstring)."""

    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        folder = cache_dir(root)
        self.path = None if folder is None else folder / FILE_NAME
        self.say = say
        self.files: dict[str, str] = {}  # claim id -> its file (set by recall)

    def recall(self, kb: KnowledgeBase) -> Recalled:
        """Read what the store holds for `kb`: the findings of the claims whose file did not
        change, and which claims must be checked again (all, when the store is of no use)."""
        digests = record_digests(kb)
        claims = {n.partition(":")[2]: d for n, d in digests.items() if n.startswith("claim:")}
        world = world_key(kb, digests) if None not in digests.values() else None
        root = str(kb.root)  # joined as text: a Path per claim costs 40 ms at 10,000
        self.files = {cid: os.path.join(root, c.where.file) for cid, c in kb.claims.items()}
        memory, kept = CheckMemory(), self._read(world, claims) if world is not None else None
        changed: list[str] | None = None
        if kept is not None:
            memory.by_claim, memory.located = kept
            changed = sorted(cid for cid in claims if cid not in memory.by_claim)
        return Recalled(world, claims, memory, changed)

    def check(
        self, kb: KnowledgeBase, graph: Graph, recalled: Recalled | None = None
    ) -> list[Problem]:
        """Every problem the checks find in `kb` (as kb.checks.run_checks gives them), checking
        again only the claims whose file changed since the store was made, when it can; then
        store what was found."""
        got = recalled if recalled is not None else self.recall(kb)
        found = got.memory.check(kb, graph, got.changed, same_across=False)
        if got.world is not None:
            self._save(got.world, got.claims, got.memory, got.changed)
        return found

    def _read(
        self, world: str, claims: dict[str, str | None]
    ) -> tuple[dict[str, list[Problem]], Located] | None:
        """The stored findings of the claims whose file is the same, or None when the store is
        missing, of another version or of another world. (The checks of one claim report only
        about that claim: kb.fast.checkmemory files every finding under its claim.)"""
        if self.path is None or not self.path.is_file() or self.path.is_symlink():
            return None
        by_claim: dict[str, list[Problem]] = {}
        located: Located = {}
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
                meta = dict(db.execute("SELECT key, value FROM meta"))
                if meta.get("version") != _version():
                    self.say(
                        f"kb: {self.path} was made by another version of kb: not used "
                        "(it is made again)"
                    )
                    return None
                if meta.get("world") != world:
                    return None
                rows = db.execute("SELECT cid, digest, stamp, problems, places FROM claims")
                for cid, digest, stamp, problems, places in rows:
                    if digest is None or claims.get(cid) != digest:
                        continue
                    if type(stamp) is not bytes or not _unchanged(stamp, self.files[cid]):
                        continue  # not checked on this machine, or touched since
                    try:
                        by_claim[cid] = [_problem(r) for r in json.loads(problems)]
                        located.update(_places(cid, json.loads(places)))
                    except (ValueError, TypeError, RecursionError):  # not a row this module wrote
                        by_claim.pop(cid, None)
        except sqlite3.Error as exc:
            self.say(f"kb: {self.path} cannot be read ({exc}): not used (it is made again)")
            return None
        return by_claim, located

    def _save(
        self,
        world: str,
        claims: dict[str, str | None],
        memory: CheckMemory,
        changed: list[str] | None,
    ) -> None:
        """Store the findings: every claim's after a full run, the changed claims' else."""
        if self.path is None or changed == []:
            return
        todo = sorted(memory.by_claim) if changed is None else changed
        places = _places_rows(memory.located)
        rows = [
            (
                cid,
                claims.get(cid),
                _stamp_of(self.files[cid]),
                json.dumps([_problem_row(p) for p in memory.by_claim.get(cid, [])]),
                json.dumps(places.get(cid, [])),
            )
            for cid in todo
            if claims.get(cid) is not None and cid in self.files
        ]
        try:
            self.path.parent.mkdir(exist_ok=True)
            if self.path.is_symlink():
                return
            self._write(world, rows, fresh=changed is None)
        except (OSError, sqlite3.Error) as exc:
            self.say(f"kb: cannot write {self.path} ({exc}): the next run checks every claim")

    def _write(self, world: str, rows: list[tuple[Any, ...]], fresh: bool) -> None:
        assert self.path is not None
        if fresh:  # made anew: no row of another world or version is left behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS claims "
                "(cid TEXT PRIMARY KEY, digest TEXT, stamp BLOB, problems TEXT, places TEXT)"
            )
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [("version", _version()), ("world", world)],
            )
            db.executemany("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)", rows)
