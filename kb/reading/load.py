"""Load a knowledge base directory into typed records, collecting every problem in one pass."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import select
import signal
import stat
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kb.codes import CODES, apply_severity
from kb.errors import Loc, Problem, Severity, printable
from kb.model import (
    DIRECTNESS,
    EVIDENCE_LEVELS,
    KINDS,
    RELATIONS,
    SNAPSHOT_SCOPES,
    STANCES,
    STYLE_FILES,
    VERDICTS,
    Claim,
    ClaimId,
    Config,
    Evidence,
    Expert,
    ExpertId,
    KnowledgeBase,
    Located,
    Origin,
    Quote,
    Related,
    Review,
    Role,
    Source,
    SourceId,
)
from kb.reading import problems as L
from kb.reading import schema as S
from kb.reading.fields import RecordReader
from kb.reading.yamlio import MAX_BYTES, Document, Issue, Marks, decode, read_yaml

RECORD_SUFFIXES = (".yaml", ".yml")
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


def load_kb(root: Path, cache: ParseCache | None = None) -> tuple[KnowledgeBase, list[Problem]]:
    """Read kb.yaml, claims/, experts/ and sources/ under `root`; never raises on bad content.

    `cache` (kept by a long-running caller such as `kb serve`) maps a file to the hash of its
    bytes and what reading them gave, so that only changed files are parsed again; a file whose
    stat() is the same as when it was read is not even read again (see read_file).

    Callers pause the cyclic garbage collector meanwhile (kb.fast.collector.gc_paused, as
    kb.pipeline and kb.build do): loading makes many objects that live on and form no cycles,
    and each full collection would scan them all again.
    """
    return _load_kb(Path(root), cache)


def _load_kb(root: Path, cache: ParseCache | None) -> tuple[KnowledgeBase, list[Problem]]:
    problems: list[Problem] = []
    config = _load_config(root, problems)
    kb = KnowledgeBase(root=root, config=config)
    snapshot_files: dict[str, str] = {}
    listed: list[tuple[str, list[Problem], list[tuple[str, str, str]]]] = []
    for kind in KINDS:
        strays: list[Problem] = []
        listed.append((kind, strays, _record_files(root, kind, strays, snapshot_files)))
    paths = [(rel, path) for _, _, files in listed for _, rel, path in files]
    helper = _Helper.start(paths) if not cache and _may_fork(len(paths)) else None
    try:
        _load_records(kb, listed, problems, cache, helper)
    finally:
        if helper is not None:
            helper.stop()
    _attach_snapshots(kb, root, snapshot_files, problems, cache)
    return kb, apply_severity(problems, config.severity)


def _load_records(
    kb: KnowledgeBase,
    listed: list[tuple[str, list[Problem], list[tuple[str, str, str]]]],
    problems: list[Problem],
    cache: ParseCache | None,
    helper: _Helper | None,
) -> None:
    i = -1  # the index of the file among all kinds' (as the helper was given them)
    for kind, strays, files in listed:
        problems.extend(strays)
        for ident, rel, path in files:
            i += 1
            parsed = helper.get(i) if helper is not None else None
            doc = read_file(path, rel, problems, cache, kb.digests, parsed)
            if doc is None:
                continue
            records = getattr(kb, kind)
            built = doc.built
            if built is not None and built[0] == kind and built[1] == ident:
                if built[2] is not None:  # the same bytes, read before: the same record
                    records[ident] = built[2]
                problems.extend(built[3])
                continue
            where = Located(rel, doc.marks)
            subject = f"{kind[:-1]}:{ident}"
            start = len(problems)
            reader = RecordReader(where, problems, subject, doc.escapes)
            _BUILDERS[kind](kb, ident, doc.value, reader)
            if cache is not None:  # kept for the next build of a long-running caller
                doc.built = (kind, ident, records.get(ident), tuple(problems[start:]))
                # the file's kind and id follow from its name: the cached document is not built
                # again, and its value need not be kept (its marks keep what places need)
                if doc.marks.shape is not None:
                    doc.value = None


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


# A base with this many record files is parsed in two processes where fork() is safe to use.
PARALLEL_MIN_FILES = 2000
_CHUNK = 100  # files per chunk at least; a base has at most _CHUNKS_MAX chunks
_CHUNKS_MAX = 1000  # their numbers (4 bytes each) fit in any pipe's buffer
_HELPER_WAIT = 30.0  # seconds the parent waits for the helper's next chunk before it gives up

# the SHA-1 of a file's bytes, their reading, and the file's stamp (see read_file)
Reading = tuple[str, Document, Stamp | None]


def _may_fork(files: int) -> bool:
    """True when a helper process may parse part of `files` record files."""
    return files >= PARALLEL_MIN_FILES and fork_is_safe()


def fork_is_safe() -> bool:
    """True where this process may fork a helper: a POSIX system other than macOS (whose
    system libraries may not be used after fork), with no other thread running."""
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    return threading.active_count() == 1  # fork() copies no other thread: their locks may hang


class _Helper:
    """A forked process that parses chunks of the record files while this one builds records.

    The files are cut into chunks of consecutive files; both processes take the next chunk from
    a pipe that holds their numbers (a read of 4 bytes takes one, atomically). The helper
    parses each chunk it takes and writes its readings (marshal) into an unnamed file, then
    says where in a second pipe. This process builds the records in file order: a chunk it
    took, it reads itself as it builds; a chunk of the helper's, it builds from the readings
    sent; while one of those is not there yet, it takes and parses the next chunk ahead. So
    both stay busy, and this process (which also builds every record) takes fewer chunks.

    If the helper fails in any way (killed, an error, too slow, unreadable data), this process
    reads the files of the chunks it did not get itself: the result is the same.
    """

    def __init__(
        self, pid: int, notes: int, data: int, queue: int, paths: list[tuple[str, str]], size: int
    ) -> None:
        self.pid, self.notes, self.data, self.queue = pid, notes, data, queue
        self.paths, self.size = paths, size
        self.chunks = -(-len(paths) // size)
        self.claimed = 0  # every chunk below this one was taken, by one process or the other
        self.mine: set[int] = set()  # chunks this process took
        self.sent: dict[int, tuple[int, int]] = {}  # the helper's: where its readings are
        self.ahead: dict[int, list[Reading | None]] = {}  # read ahead by this process
        self.ended = False  # the helper sends no more (finished, failed, or given up on)
        self.note = b""  # the start of a note not read in full yet
        self.chunk = -1  # the chunk of the file asked for last, and its readings:
        self.readings: list[Reading | None] | None = None  # None: this process reads them

    @classmethod
    def start(cls, paths: list[tuple[str, str]]) -> _Helper | None:
        size = max(_CHUNK, -(-len(paths) // _CHUNKS_MAX))
        chunks = -(-len(paths) // size)
        fds: list[int] = []
        try:
            queue, put = os.pipe()
            fds += [queue, put]
            notes, say = os.pipe()
            fds += [notes, say]
            data = _unnamed_file()
            fds.append(data)
            _send(put, b"".join(c.to_bytes(4, "little") for c in range(chunks)))
            os.close(put)  # the queue ends (a read gives b"") once every chunk is taken
            fds.remove(put)
            pid = os.fork()
        except OSError:
            for fd in fds:
                os.close(fd)
            return None
        if pid == 0:  # pragma: no cover - the helper process (measured by the parent's tests)
            code = 1
            try:
                os.close(notes)
                _help(paths, size, queue, say, data)
                code = 0
            finally:
                os._exit(code)
        os.close(say)
        return cls(pid, notes, data, queue, paths, size)

    def get(self, i: int) -> Reading | None:
        """The reading of file `i` (of `paths`), or None if the parent must read it itself.

        Asked for in file order: the readings of a chunk are dropped when the next one is asked.
        """
        c = i // self.size
        if c != self.chunk:
            self.chunk = c
            self.readings = None  # let the previous chunk go first
            self.readings = self._take(c)
        return None if self.readings is None else self.readings[i - c * self.size]

    def _take(self, c: int) -> list[Reading | None] | None:
        """The readings of chunk `c`, or None when this process reads it (it took it, or the
        helper did not send it)."""
        while True:
            if c in self.ahead:
                return self.ahead.pop(c)
            if c < self.claimed:
                if c in self.mine:
                    return None
                if c in self.sent:
                    return self._unpack(c)
                if self.ended:
                    return None  # taken by the helper, which stopped before sending it
                self._listen(0)
                if c in self.sent or self.ended:
                    continue
                k = self._claim()  # do something useful while the helper works on `c`
                if k is not None:
                    self.ahead[k] = [_reading(*self.paths[j]) for j in self._files(k)]
                elif not self._listen(_HELPER_WAIT):
                    self._give_up()
                continue
            k = self._claim()
            if k is None:
                self.claimed = self.chunks  # every chunk is taken: `c` by the helper
            elif k != c:  # chunks c..k-1 are the helper's; read k ahead meanwhile
                self.ahead[k] = [_reading(*self.paths[j]) for j in self._files(k)]
            else:
                return None

    def _files(self, c: int) -> range:
        return range(c * self.size, min(len(self.paths), (c + 1) * self.size))

    def _claim(self) -> int | None:
        """Take the next chunk from the queue; None when none is left."""
        if self.queue < 0:
            return None
        got = os.read(self.queue, 4)
        if len(got) < 4:
            return None
        c = int.from_bytes(got, "little")
        self.mine.add(c)
        self.claimed = c + 1
        return c

    def _listen(self, timeout: float) -> bool:
        """Read what the helper said, waiting up to `timeout` s; False if it said nothing."""
        if self.ended or not select.select([self.notes], [], [], timeout)[0]:
            return False
        got = os.read(self.notes, 1 << 16)
        if not got:
            self.ended = True  # the helper finished or died
            return True
        got = self.note + got
        whole = len(got) - len(got) % _NOTE.size
        for c, offset, length in _NOTE.iter_unpack(got[:whole]):
            self.sent[c] = (offset, length)
            self.claimed = max(self.claimed, c + 1)
        self.note = got[whole:]
        return True

    def _unpack(self, c: int) -> list[Reading | None] | None:
        offset, length = self.sent.pop(c)
        try:
            blob = _read_at(self.data, offset, length)
            readings = marshal.loads(blob)
            del blob
            files = self._files(c)
            if len(readings) != len(files):
                raise ValueError("a chunk of the wrong length")
            out: list[Reading | None] = []
            for item in readings:
                if item is None:
                    out.append(None)
                    continue
                digest, value, marks, issues, escapes, stamp = item
                marks = Marks.from_parts(value, *marks)
                issues = [Issue(*i) for i in issues]
                out.append((digest, Document(value, marks, issues, escapes), stamp))
            return out
        except Exception:  # a truncated or garbled answer: this process reads the files itself
            self._give_up()
            return None

    def _give_up(self) -> None:
        """Stop the helper: this process reads every chunk it did not get."""
        self.ended = True
        self.stop()

    def stop(self) -> None:
        """Close the pipes; end and wait for the helper if it is still there."""
        self.ended = True
        for name in ("notes", "data", "queue"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        if self.pid:
            pid, self.pid = self.pid, 0
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


_NOTE = struct.Struct("<QQQ")  # from the helper: chunk, and where its readings are in the file


def _unnamed_file() -> int:
    """A file with no name, for the helper's readings (in memory where the system allows)."""
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return os.memfd_create("kb-load", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile() as f:
        return os.dup(f.fileno())


def _read_at(fd: int, offset: int, length: int) -> bytes:
    chunks: list[bytes] = []
    while length > 0:
        chunk = os.pread(fd, length, offset)
        if not chunk:
            raise ValueError("the helper's file is shorter than it said")
        chunks.append(chunk)
        offset += len(chunk)
        length -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _help(
    paths: list[tuple[str, str]], size: int, queue: int, say: int, data: int
) -> None:  # pragma: no cover - the helper process (measured by the parent's tests)
    """The helper's work: parse the chunks it takes from `queue`, write their readings to
    `data`, and say in `say` where each one is."""
    offset = 0
    while len(got := os.read(queue, 4)) == 4:
        c = int.from_bytes(got, "little")
        blob = marshal.dumps(
            [_read_for_helper(path, rel) for rel, path in paths[c * size : (c + 1) * size]]
        )
        view = memoryview(blob)
        while view:
            view = view[os.pwrite(data, view, offset + len(blob) - len(view)) :]
        _send(say, _NOTE.pack(c, offset, len(blob)))
        offset += len(blob)


def _reading(rel: str, path: str) -> Reading | None:
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


def _read_for_helper(path: str, rel: str) -> tuple[Any, ...] | None:  # pragma: no cover
    """The helper's reading of a file, in types marshal can send (see _reading)."""
    reading = _reading(rel, path)
    if reading is None:
        return None
    digest, doc, stamp = reading
    issues = tuple((i.code, i.message, i.line, i.col) for i in doc.issues)
    return digest, doc.value, doc.marks.parts(), issues, doc.escapes, stamp


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_bytes(path: str | Path, rel: str, problems: list[Problem]) -> bytes | None:
    return _read_stat(path, rel, problems)[0]


def _read_stat(
    path: str | Path, rel: str, problems: list[Problem]
) -> tuple[bytes | None, os.stat_result | None]:
    """The bytes of a file (None if it cannot be read: reported), and its stat() before reading."""
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; the open file is then
        # checked (not the name, which could be swapped between a check and the open).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                name = os.path.basename(path)
                problems.append(
                    L.unsafe_path(Loc(rel), name, "not a regular file (a pipe or a device)")
                )
                return None, None
            if st.st_size > MAX_BYTES:
                problems.append(L.file_too_large(Loc(rel), st.st_size, MAX_BYTES))
                return None, None
            data = _read_fd(fd, st.st_size + 1)  # not a 5 MB buffer per file: that is slow
            if len(data) > st.st_size:  # it grew since fstat: read on, up to the limit
                data += _read_fd(fd, MAX_BYTES + 1 - len(data))
        finally:
            os.close(fd)
    except OSError as exc:
        problems.append(L.yaml_syntax(Loc(rel), f"cannot read the file: {exc.strerror}"))
        return None, None
    if len(data) > MAX_BYTES:  # grew while we looked
        problems.append(L.file_too_large(Loc(rel), len(data), MAX_BYTES))
        return None, None
    return data, st


def _read_fd(fd: int, size: int) -> bytes:
    """Read `size` bytes from `fd`, or up to the end if there are fewer (no file object)."""
    chunks: list[bytes] = []
    while size > 0 and (chunk := os.read(fd, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _inside(path: str | Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def _record_files(
    root: Path, kind: str, problems: list[Problem], snapshots: dict[str, str]
) -> list[tuple[str, str, str]]:
    """List (id, relative path, path) of the record files of one kind, reporting strays."""
    folder = root / kind
    if not folder.is_dir():
        return []
    if folder.is_symlink() and not _inside(folder, root):
        problems.append(
            L.unsafe_path(Loc(kind), kind, "a link that leads outside the knowledge base")
        )
        return []
    found: dict[str, tuple[str, str]] = {}
    out: list[tuple[str, str, str]] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        rel = f"{kind}/{printable(name)}"  # a name that is not UTF-8 is shown escaped
        path = entry.path  # a str: a Path per file is slow to make
        if name.startswith("."):
            continue  # hidden files: editor and VCS droppings
        if entry.is_symlink() and not _inside(path, root):
            problems.append(
                L.unsafe_path(Loc(rel), name, "a link that leads outside the knowledge base")
            )
            continue
        if entry.is_dir():
            problems.append(
                L.stray_file(Loc(rel), printable(name) + "/", "folders inside are not read")
            )
            continue
        stem, dot, suffix = name.rpartition(".")
        if not dot or f".{suffix}" not in RECORD_SUFFIXES:
            if kind == "sources":
                snapshots[name] = path
            else:
                problems.append(L.stray_file(Loc(rel), printable(name), "not a .yaml record"))
            continue
        if not L.ID_RE.match(stem):
            problems.append(L.bad_id(Loc(rel), stem))
            continue
        if stem in found:
            problems.append(L.duplicate_id(Loc(rel), stem, found[stem][0]))
            continue
        found[stem] = (rel, path)
        out.append((stem, rel, path))
    return out


def _check_id(value: dict[str, Any], ident: str, r: RecordReader) -> None:
    given = value.get("id")
    if given is not None and given != ident:
        r.report(L.id_mismatch(r.loc(("id",)), given, ident))


def _build_claim(kb: KnowledgeBase, ident: str, value: Any, r: RecordReader) -> None:
    m = r.mapping(value, (), "a claim", S.CLAIM_KEYS, ("statement",))
    if m is None:
        return
    _check_id(m, ident, r)
    quotes = tuple(q for p, item in r.items(m, "quotes", ()) if (q := _quote(item, p, r)))
    evidence = tuple(e for p, item in r.items(m, "evidence", ()) if (e := _evidence(item, p, r)))
    related = tuple(x for p, item in r.items(m, "related", ()) if (x := _related(item, p, r)))
    review = _review(m["review"], ("review",), r) if m.get("review") is not None else None
    cid = ClaimId(ident)
    kb.claims[cid] = Claim(
        id=cid,
        where=r.where,
        statement=r.text(m, "statement", ()) or "",
        topics=r.text_list(m, "topics", ()),
        quotes=quotes,
        evidence=evidence,
        related=related,
        review=review,
    )


def _quote(value: Any, p: tuple[Any, ...], r: RecordReader) -> Quote | None:
    m = r.mapping(value, p, "a quote", S.QUOTE_KEYS, ("text", "source"))
    if m is None:
        return None
    text, source = r.text(m, "text", p), r.text(m, "source", p)
    if not text or not source:
        return None
    origin: Origin | None = None
    o = m.get("origin")
    if o == "unknown":
        origin = Origin(r.where.sub(*p, "origin"), unknown=True)
    elif o is not None:
        om = r.mapping(
            o, (*p, "origin"), "an origin (or the word unknown)", S.ORIGIN_KEYS, ("source", "text")
        )
        if om is not None:
            osrc = r.text(om, "source", (*p, "origin"))
            otext = r.text(om, "text", (*p, "origin"))
            origin = Origin(
                r.where.sub(*p, "origin"),
                source=SourceId(osrc) if osrc else None,
                text=text if otext == text else otext,  # often the same words: kept once
            )
    speaker = r.text(m, "speaker", p)
    return Quote(
        where=r.where.sub(*p),
        text=text,
        source=SourceId(source),
        speaker=ExpertId(speaker) if speaker else None,
        attribution=r.text(m, "attribution", p),
        prefix=r.text(m, "prefix", p),
        suffix=r.text(m, "suffix", p),
        locator=r.text(m, "locator", p, numbers=True),
        origin=origin,
    )


def _evidence(value: Any, p: tuple[Any, ...], r: RecordReader) -> Evidence | None:
    m = r.mapping(value, p, "an evidence item", S.EVIDENCE_KEYS, ("source", "stance"))
    if m is None:
        return None
    source = r.text(m, "source", p)
    stance = r.enum(m, "stance", p, STANCES, None)
    if not source or not stance:
        return None
    return Evidence(
        where=r.where.sub(*p),
        source=SourceId(source),
        stance=stance,
        directness=r.enum(m, "directness", p, DIRECTNESS, "direct") or "direct",
        locator=r.text(m, "locator", p, numbers=True),
        note=r.text(m, "note", p),
    )


def _related(value: Any, p: tuple[Any, ...], r: RecordReader) -> Related | None:
    m = r.mapping(value, p, "a related item", S.RELATED_KEYS, ("claim", "relation"))
    if m is None:
        return None
    claim = r.text(m, "claim", p)
    relation = r.enum(m, "relation", p, RELATIONS, None)
    if not claim or not relation:
        return None
    return Related(where=r.where.sub(*p), claim=ClaimId(claim), relation=relation)


def _review(value: Any, p: tuple[Any, ...], r: RecordReader) -> Review | None:
    m = r.mapping(value, p, "a review", S.REVIEW_KEYS, ("verdict",))
    if m is None:
        return None
    verdict = r.enum(m, "verdict", p, VERDICTS, None)
    if verdict is None:
        return None
    reviewer = r.text(m, "reviewer", p)
    return Review(
        where=r.where.sub(*p),
        verdict=verdict,
        reviewer=ExpertId(reviewer) if reviewer else None,
        date=r.date(m, "date", p),
        rationale=r.text(m, "rationale", p),
        fingerprint=r.text(m, "fingerprint", p, numbers=True),
    )


def _build_expert(kb: KnowledgeBase, ident: str, value: Any, r: RecordReader) -> None:
    m = r.mapping(value, (), "an expert", S.EXPERT_KEYS, ("name",))
    if m is None:
        return
    _check_id(m, ident, r)
    roles: list[Role] = []
    for p, item in r.items(m, "roles", ()):
        rm = r.mapping(item, p, "a role", S.ROLE_KEYS, ("title",))
        if rm is not None and (title := r.text(rm, "title", p)):
            src = r.text(rm, "source", p)
            roles.append(
                Role(
                    r.where.sub(*p),
                    title,
                    r.text(rm, "organization", p),
                    SourceId(src) if src else None,
                )
            )
    identifiers: dict[str, str] = {}
    if m.get("identifiers") is not None:
        im = m["identifiers"]
        if not isinstance(im, dict):
            r.report(L.bad_type(r.loc(("identifiers",)), "identifiers", "a mapping", im))
        else:
            for k in im:
                if (v := r.text(im, k, ("identifiers",), numbers=True)) is not None:
                    identifiers[k] = v
    eid = ExpertId(ident)
    kb.experts[eid] = Expert(
        id=eid,
        where=r.where,
        name=r.text(m, "name", ()) or "",
        credentials=r.text(m, "credentials", ()),
        roles=tuple(roles),
        identifiers=identifiers,
    )


def _build_source(kb: KnowledgeBase, ident: str, value: Any, r: RecordReader) -> None:
    m = r.mapping(value, (), "a source", S.source_keys(), ("type", "title"))
    if m is None:
        return
    _check_id(m, ident, r)
    csl: dict[str, Any] = {}
    kinds = S.csl_fields()
    for key, v in m.items():
        kind = kinds.get(key)
        if kind is None or v is None:
            continue
        if kind == "names":
            names = _names(v, key, r)
            if names:
                csl[key] = names
        elif kind == "date":
            if (d := r.date(m, key, ())) is not None:
                csl[key] = d
        elif kind in ("text", "number"):
            t = r.text(m, key, (), numbers=True)
            if t is None:
                continue
            if key == "URL" and not L.check_url(t):
                r.report(L.bad_url(r.loc((key,)), t))
                continue
            if key == "DOI" and not L.DOI_RE.match(t):
                r.report(L.bad_doi(r.loc((key,)), t))
                continue
            csl[key] = t
        else:
            csl[key] = v
    ctype = r.enum(m, "type", (), S.csl_types(), "document") or "document"
    title = r.text(m, "title", (), numbers=True) or ""  # a book may be called 1984
    csl["title"] = title
    snapshot = r.text(m, "snapshot", ())
    sid = SourceId(ident)
    kb.sources[sid] = Source(
        id=sid,
        where=r.where,
        type=ctype,
        title=title,
        csl=csl,
        evidence_level=r.enum(m, "evidence_level", (), EVIDENCE_LEVELS, None),
        snapshot=snapshot,
        snapshot_sha256=r.text(m, "snapshot_sha256", ()),
        snapshot_scope=r.enum(m, "snapshot_scope", (), SNAPSHOT_SCOPES, "full") or "full",
        retracted=r.boolean(m, "retracted", ()),
        derived_from=tuple(SourceId(x) for x in r.text_list(m, "derived_from", ())),
    )


def _names(value: Any, key: str, r: RecordReader) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p, item in r.items({key: value}, key, ()):
        if isinstance(item, str):
            r.report(
                L.bad_type(r.loc(p), key, "a list of {family, given} or {literal} names", item)
            )
            continue
        nm = r.mapping(item, p, "a name", S.NAME_KEYS)
        if nm is None:
            continue
        if not nm.get("family") and not nm.get("literal"):
            r.report(L.missing_key(r.loc(p), "family", "a name (or give 'literal')"))
            continue
        name = {k: v for k in nm if (v := r.text(nm, k, p, numbers=True)) is not None}
        out.append(name)
    return out


def _attach_snapshots(
    kb: KnowledgeBase,
    root: Path,
    files: dict[str, str],
    problems: list[Problem],
    cache: ParseCache | None = None,
) -> None:
    """Read each source's snapshot; report unsafe names, bad text and changed hashes."""
    used: set[str] = set()
    for sid, src in sorted(kb.sources.items()):
        name = src.snapshot or (f"{sid}.txt" if f"{sid}.txt" in files else None)
        if name is None:
            continue
        if name not in files:
            loc = src.where.at("snapshot")
            if "/" in name or "\\" in name or name.startswith("."):
                problems.append(L.unsafe_path(loc, name, "a snapshot is a file name in sources/"))
            else:
                problems.append(L.bad_value(loc, "snapshot", name, "no such file in sources/"))
            continue
        used.add(name)
        read = _read_snapshot(files[name], f"sources/{printable(name)}", problems, cache)
        if read is not None:
            kb.sources[sid] = _replace_snapshot(src, name, *read, problems)
    for name in sorted(set(files) - used):
        problems.append(
            L.stray_file(
                Loc(f"sources/{printable(name)}"),
                printable(name),
                "no source names it as its snapshot",
            )
        )


def _read_snapshot(
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
    text, issue = decode(data)
    if text is None:
        assert issue is not None
        bad = L.bad_encoding(Loc(rel, issue.line, issue.col), issue.message)
        problems.append(bad)
        if cache is not None:
            cache[rel] = (digest, None, (bad,), _trusted(st, now))
        return None
    text = text.replace("\r\n", "\n")
    if cache is not None:
        cache[rel] = (digest, Document(text), (), _trusted(st, now))
    return text, digest


def _replace_snapshot(
    src: Source, name: str, text: str, digest: str, problems: list[Problem]
) -> Source:
    from dataclasses import replace

    new = replace(src, snapshot=name, snapshot_text=text, snapshot_sha256=digest)
    if src.snapshot_sha256 and src.snapshot_sha256.strip().lower() != digest:
        problems.append(
            L.snapshot_changed(replace(new, snapshot_sha256=src.snapshot_sha256), digest)
        )
    return new


def _load_config(root: Path, problems: list[Problem]) -> Config:
    path = root / "kb.yaml"
    if path.is_symlink() and not _inside(path, root):
        problems.append(
            L.unsafe_path(Loc("kb.yaml"), "kb.yaml", "a link that leads outside the knowledge base")
        )
        return Config()
    if not path.is_file():
        return Config()
    doc = read_file(path, "kb.yaml", problems)
    if doc is None:
        return Config()
    where = Located("kb.yaml", doc.marks)
    r = RecordReader(where, problems, None, doc.escapes)
    if doc.value is None:
        return Config(where=where)
    m = r.mapping(doc.value, (), "kb.yaml", S.CONFIG_KEYS)
    if m is None:
        return Config(where=where)
    severity: dict[str, Severity] = {}
    sev = m.get("severity")
    if isinstance(sev, dict):
        for code_name in sev:
            p = ("severity", code_name)
            if code_name not in CODES:
                problems.append(L.bad_value(where.key_at(*p), "severity", code_name, CODES))
                continue
            if sev[code_name] is False:  # YAML 1.1 reads a bare `off` as false
                severity[code_name] = Severity.OFF
                continue
            level = r.enum(sev, code_name, ("severity",), [s.value for s in Severity], None)
            if level:
                severity[code_name] = Severity(level)
    elif sev is not None:
        r.report(L.bad_type(r.loc(("severity",)), "severity", "a mapping of code to level", sev))
    base_url = r.text(m, "base_url", ())
    if base_url and not L.check_url(base_url):
        problems.append(L.bad_url(r.loc(("base_url",)), base_url))
        base_url = None
    style = r.enum(m, "style", (), STYLE_FILES, "apa") or "apa"
    styles: list[str] = []
    for i, name in enumerate(r.text_list(m, "styles", ())):
        if name in STYLE_FILES:
            styles.append(name)
        else:
            problems.append(L.bad_value(where.at("styles", i), "styles", name, STYLE_FILES))
    if styles and style not in styles:
        styles.insert(0, style)
    return Config(
        title=r.text(m, "title", ()) or Config().title,
        base_url=base_url,
        style=style,
        styles=tuple(styles),
        severity=severity,
        where=where,
    )


_BUILDERS: dict[str, Callable[[KnowledgeBase, str, Any, RecordReader], None]] = {
    "claims": _build_claim,
    "experts": _build_expert,
    "sources": _build_source,
}
