"""Reading one file of a knowledge base: its bytes (safely), their hash, stamp and parse.

A long-running caller keeps a ParseCache so that a file whose stat() did not change is not read
again, and one whose bytes did not change is not parsed again.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kb.errors import Loc, Problem
from kb.reading import problems as L
from kb.reading.extract import CONTROL_RE
from kb.reading.safe import UnsafeFile, read_regular
from kb.reading.yamlio import MAX_BYTES, Document, decode, read_yaml

_ISSUE = {
    "yaml-syntax": L.yaml_syntax,
    "yaml-alias": L.yaml_alias,
    "yaml-too-deep": L.yaml_too_deep,
    "duplicate-key": L.duplicate_key,
    "bad-encoding": L.bad_encoding,
}


# A file's size, times of change (content, then metadata) and identity, as stat() gives them,
# packed (40 bytes) so that a cache of a large base keeps them small.
Stamp = bytes
_STAMP = struct.Struct("<qqqQQ")
# file -> (SHA-1 of its bytes, their reading, the problems it gave (a tuple: most files give
# none, and the empty tuple is one object), its stamp when it was read, or None when it was
# changed too shortly before: see read_file)
ParseCache = dict[str, tuple[str, Document | None, tuple[Problem, ...], Stamp | None]]
# the SHA-1 of a file's bytes, their reading, and the file's stamp (see read_file)
Reading = tuple[str, Document, Stamp | None]


class ReadingSource(Protocol):
    """Readings made ahead of the loader, e.g. by a forked helper (kb.fast.parsehelper)."""

    def get(self, i: int) -> Reading | None:
        """The reading of file `i` of those given, or None: the loader reads it itself."""

    def stop(self) -> None:
        """Stop making readings; release what is held."""


# Starts a source of readings for [(rel, path)] (the files in load order), or returns None.
StartHelper = Callable[[list[tuple[str, str]]], ReadingSource | None]


def _unchanged(stamp: Stamp | None, path: str | Path) -> bool:
    """True when the file at `path` has the `stamp` a cache entry kept of it (see read_file)."""
    if stamp is None:
        return False
    try:
        return _stamp(os.stat(path)) == stamp
    except OSError:
        return False


def read_file(
    path: str | Path,
    rel: str,
    problems: list[Problem],
    cache: ParseCache | None = None,
    digests: dict[str, str] | None = None,
    parsed: Reading | None = None,
) -> Document | None:
    """Read and parse one YAML file; report and return None when it cannot be read at all.

    `parsed` is the hash of the file's bytes, their reading and the file's stamp (see below),
    already made by a helper process.

    With a `cache`, a file is not read again when stat() gives the same size, times and identity
    as when it was read (any write changes the ctime, which no one can set back), unless it had
    been changed less than _RACY_NS before it was read: a change made in the same tick of the
    file system's clock as that read could leave every time as it was. Such a file is read again
    (and its hash compared) until it has stood unchanged long enough. (The file system's clock
    is taken to be this machine's, give or take _RACY_NS: true of a local disk; a network file
    system whose server's clock is behind by more could hide such a change.)
    """
    if parsed is not None:
        digest, read, stamp = parsed
        if digests is not None:
            digests[rel] = digest
        found: list[Problem] = []
        ok = _report(read, rel, found)
        problems.extend(found)
        if cache is not None:
            cache[rel] = (digest, ok, tuple(found), stamp)
        return ok
    hit = cache.get(rel) if cache is not None else None
    if hit is not None and _unchanged(hit[3], path):
        if digests is not None:
            digests[rel] = hit[0]
        problems.extend(hit[2])
        return hit[1]
    now = time.time_ns()
    data, st = _read_stat(path, rel, problems)
    if data is None:
        return None
    digest = hashlib.sha1(data).hexdigest()
    if digests is not None:
        digests[rel] = digest
    stamp = _trusted(st, now)
    if hit is not None and hit[0] == digest:
        problems.extend(hit[2])
        assert cache is not None
        if stamp != hit[3]:
            cache[rel] = (*hit[:3], stamp)
        return hit[1]
    found = []
    doc = _parse(data, rel, found)
    problems.extend(found)
    if cache is not None:
        cache[rel] = (digest, doc, tuple(found), stamp)
    return doc


# How long before it is read a file must have been last changed for its stat() to be trusted
# later: longer than any file system's clock tick (FAT's is 2 s), and than clocks drift apart.
_RACY_NS = 3_000_000_000


def _stamp(st: os.stat_result) -> Stamp:
    return _STAMP.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _trusted(st: os.stat_result | None, now: int) -> Stamp | None:
    """The stamp of a file read at `now` (time.time_ns()), or None if it had been changed too
    shortly before for a later stat() to tell whether it changed again."""
    if st is None or max(st.st_mtime_ns, st.st_ctime_ns) + _RACY_NS >= now:
        return None
    return _stamp(st)


def _parse(data: bytes, rel: str, problems: list[Problem]) -> Document | None:
    text, issue = decode(data)
    if text is None:
        assert issue is not None
        problems.append(L.bad_encoding(Loc(rel, issue.line, issue.col), issue.message))
        return None
    return _report(read_yaml(text), rel, problems)


def _report(doc: Document, rel: str, problems: list[Problem]) -> Document | None:
    for i in doc.issues:
        problems.append(_ISSUE[i.code](Loc(rel, i.line, i.col), i.message))
    return doc if doc.ok else None


def reading(rel: str, path: str) -> Reading | None:
    """This process's reading of a file read ahead, as the helper would send it."""
    found: list[Problem] = []
    now = time.time_ns()
    data, st = _read_stat(path, rel, found)
    if data is None or found:
        return None  # read again in order, and the problem reported then
    text, _ = decode(data)
    if text is None:
        return None
    return hashlib.sha1(data).hexdigest(), read_yaml(text), _trusted(st, now)


def _read_stat(
    path: str | Path, rel: str, problems: list[Problem]
) -> tuple[bytes | None, os.stat_result | None]:
    """The bytes of a file (None if it cannot be read: reported), and its stat() before reading."""
    try:
        return read_regular(path, MAX_BYTES)
    except UnsafeFile as exc:
        if exc.size is None:
            name = os.path.basename(path)
            problems.append(
                L.unsafe_path(Loc(rel), name, "not a regular file (a pipe or a device)")
            )
        else:
            problems.append(L.file_too_large(Loc(rel), exc.size, MAX_BYTES))
    except OSError as exc:
        problems.append(L.unreadable(Loc(rel), "the file", exc.strerror or str(exc)))
    return None, None


def _inside(path: str | Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def read_snapshot(
    path: str, rel: str, problems: list[Problem], cache: ParseCache | None
) -> tuple[str, str] | None:
    """A snapshot's text (line ends as \\n) and the SHA-256 of its bytes; None (reported) if it
    cannot be read or is not UTF-8. A long-running caller's cache keeps them as it keeps a
    record file's reading (see read_file): the text as the value of a Document (None if it is
    not UTF-8), the SHA-256 as its digest, the problem, and the file's stamp."""
    hit = cache.get(rel) if cache is not None else None
    if hit is not None and _unchanged(hit[3], path):
        problems.extend(hit[2])
        return None if hit[1] is None else (hit[1].value, hit[0])
    now = time.time_ns()
    data, st = _read_stat(path, rel, problems)
    if data is None:
        return None
    digest = hashlib.sha256(data).hexdigest()
    text, bad = _snapshot_text(data, rel)
    if cache is not None:
        doc = None if text is None else Document(text)
        cache[rel] = (digest, doc, () if bad is None else (bad,), _trusted(st, now))
    if text is None:
        assert bad is not None
        problems.append(bad)
        return None
    return text, digest


def _snapshot_text(data: bytes, rel: str) -> tuple[str | None, Problem | None]:
    """A snapshot's text with line ends as \n, or the bad-encoding problem that stops it being
    one: bytes that are not UTF-8, or a control character (`kb snapshot` leaves those out)."""
    text, issue = decode(data)
    if text is None:
        assert issue is not None
        return None, L.bad_encoding(Loc(rel, issue.line, issue.col), issue.message)
    text = text.replace("\r\n", "\n")
    control = CONTROL_RE.search(text)
    if control is None:
        return text, None
    at = control.start()
    line, col = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
    return None, L.bad_encoding(
        Loc(rel, line, col),
        f"the snapshot holds the control character U+{ord(control.group()):04X}: a snapshot "
        "is text (`kb snapshot` leaves such characters out when it makes one)",
    )


def cache_dir(root: Path) -> Path | None:
    """Return the cache folder of the base at `root`, or None (no cache) when it is a link.

    A knowledge base is data from anyone: a `.kb-cache` that links elsewhere must not make kb
    write there. Without it citations are only slower.
    """
    path = Path(root) / ".kb-cache"
    if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(root.resolve())):
        return None
    return path


MARKERS = ("kb.yaml", "kb.yml")
RECORD_FOLDERS = ("claims", "experts", "sources")


def is_base(folder: Path) -> bool:
    """True when `folder` is a knowledge base: it holds kb.yaml, or one of the record folders."""
    try:
        if any((folder / m).is_file() for m in MARKERS):
            return True
        return any((folder / d).is_dir() for d in RECORD_FOLDERS)
    except OSError:  # a folder we may not look into is not a base
        return False


def find_base(start: Path) -> Path | None:
    """Return the knowledge base that holds `start`: `start` itself or the nearest folder above
    it that is a base (as git finds its repository), or None when there is none."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if is_base(folder):
            return folder
    return None
