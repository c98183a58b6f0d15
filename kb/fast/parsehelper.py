"""A forked process that parses part of a large base's record files while the loader builds
records (kb.reading.load asks it through the StartHelper it is given; see `start`). The
readings of unchanged files, which kb.fast.stored keeps, it turns back into readings instead."""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import struct
import tempfile
from collections.abc import Callable
from typing import Any, cast

from kb.fast.forks import fork_is_safe
from kb.reading.files import Reading, reading
from kb.reading.yamlio import Document, Issue
from kb.reading.yamlmarks import Marks

# A base with this many record files is parsed in two processes where fork() is safe to use.
PARALLEL_MIN_FILES = 2000
_CHUNK = 100  # files per chunk at least; a base has at most _CHUNKS_MAX chunks
_CHUNKS_MAX = 1000  # their numbers (4 bytes each) fit in any pipe's buffer
_HELPER_WAIT = 30.0  # seconds the parent waits for the helper's next chunk before it gives up


def may_fork(files: int) -> bool:
    """True when a helper process may parse part of `files` record files."""
    return files >= PARALLEL_MIN_FILES and fork_is_safe()


# What `known(i)` gives for a file whose reading is not known without reading the file
NOT_KNOWN: Any = object()
# The readings of files that need not be read (kb.fast.stored's, by their index in `paths`): a
# reading, None (the parent reads that file itself) or NOT_KNOWN (the file is to be read)
Known = Callable[[int], Any]


def start(paths: list[tuple[str, str]], known: Known | None = None) -> ParseHelper | None:
    """A helper for the record files `paths` ([(rel, path)] in load order) of a base large
    enough, where forking is safe; else None (the loader reads every file itself). With
    `known`, the readings it knows are made by it (in either process) instead of read."""
    return ParseHelper.start(paths, known) if may_fork(len(paths)) else None


class ParseHelper:
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
        self,
        pid: int,
        notes: int,
        data: int,
        queue: int,
        paths: list[tuple[str, str]],
        size: int,
        known: Known | None = None,
    ) -> None:
        self.pid, self.notes, self.data, self.queue = pid, notes, data, queue
        self.paths, self.size, self.known = paths, size, known
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
    def start(cls, paths: list[tuple[str, str]], known: Known | None = None) -> ParseHelper | None:
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
                _help(paths, size, queue, say, data, known)
                code = 0
            finally:
                os._exit(code)
        os.close(say)
        return cls(pid, notes, data, queue, paths, size, known)

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
                    self.ahead[k] = [self._read(j) for j in self._files(k)]
                elif not self._listen(_HELPER_WAIT):
                    self._give_up()
                continue
            k = self._claim()
            if k is None:
                self.claimed = self.chunks  # every chunk is taken: `c` by the helper
            elif k != c:  # chunks c..k-1 are the helper's; read k ahead meanwhile
                self.ahead[k] = [self._read(j) for j in self._files(k)]
            else:
                return None

    def _read(self, j: int) -> Reading | None:
        """File `j`'s reading, made in this process (None: the loader makes it)."""
        if self.known is not None:
            got = self.known(j)
            if got is not NOT_KNOWN:
                return cast("Reading | None", got)
        return reading(*self.paths[j])

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
    paths: list[tuple[str, str]], size: int, queue: int, say: int, data: int, known: Known | None
) -> None:  # pragma: no cover - the helper process (measured by the parent's tests)
    """The helper's work: parse the chunks it takes from `queue` (or make the readings `known`
    gives), write their readings to `data`, and say in `say` where each one is."""
    offset = 0
    while len(got := os.read(queue, 4)) == 4:
        c = int.from_bytes(got, "little")
        blob = marshal.dumps(
            [
                _make_for_helper(known, j, path, rel)
                for j, (rel, path) in enumerate(paths[c * size : (c + 1) * size], c * size)
            ]
        )
        view = memoryview(blob)
        while view:
            view = view[os.pwrite(data, view, offset + len(blob) - len(view)) :]
        _send(say, _NOTE.pack(c, offset, len(blob)))
        offset += len(blob)


def _make_for_helper(
    known: Known | None, j: int, path: str, rel: str
) -> tuple[Any, ...] | None:  # pragma: no cover - the helper process
    """The helper's reading of file `j`: the one `known` gives, else read."""
    if known is not None:
        got = known(j)
        if got is not NOT_KNOWN:
            return None if got is None else _sendable(got)
    return _read_for_helper(path, rel)


def _read_for_helper(path: str, rel: str) -> tuple[Any, ...] | None:  # pragma: no cover
    """The helper's reading of a file, in types marshal can send (see _sendable)."""
    made = reading(rel, path)
    return None if made is None else _sendable(made)


def _sendable(made: Reading) -> tuple[Any, ...]:  # pragma: no cover - the helper process
    """A reading in types marshal can send (`_unpack` makes it again)."""
    digest, doc, stamp = made
    issues = tuple((i.code, i.message, i.line, i.col) for i in doc.issues)
    return digest, doc.value, doc.marks.parts(), issues, doc.escapes, stamp


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
