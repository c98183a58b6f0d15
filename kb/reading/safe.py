"""Reading a file safely: a regular file only (never waiting on a pipe), of a bounded size.

Kept apart from kb.reading.files (which parses YAML) so that what only needs the bytes, such as
a citation style, loads nothing more.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kb.errors import KBError


class UnsafeFile(Exception):
    """A file that `read_regular` would not read: not a regular file, or larger than allowed."""

    def __init__(self, size: int | None = None) -> None:
        super().__init__("too large" if size is not None else "not a regular file")
        self.size = size  # the size found, when the file is too large; None: not regular


def read_regular(
    path: str | Path, limit: int, *, follow: bool = True
) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file of at most `limit` bytes, and its stat() before reading.

    Opened without waiting (a named pipe never blocks) and checked as opened (not by name,
    which could be swapped between a check and the open); `follow=False` refuses a link.
    Raises UnsafeFile for a pipe, a device or a file over `limit` (also one that grew past it
    while read), and OSError when it cannot be opened or read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    fd = os.open(path, flags if follow else flags | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile()
        if st.st_size > limit:
            raise UnsafeFile(st.st_size)
        data = _read_fd(fd, st.st_size + 1)  # not a `limit` buffer per file: that is slow
        if len(data) > st.st_size:  # it grew since fstat: read on, up to the limit
            data += _read_fd(fd, limit + 1 - len(data))
    finally:
        os.close(fd)
    if len(data) > limit:  # grew while we looked
        raise UnsafeFile(len(data))
    return data, st


def _read_fd(fd: int, size: int) -> bytes:
    """Read `size` bytes from `fd`, or up to the end if there are fewer (no file object)."""
    chunks: list[bytes] = []
    while size > 0 and (chunk := os.read(fd, size)):
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of a file a user names on the command line (a document to archive, a
    bibliography to import): as read_regular reads it, every failure a KBError naming it."""
    try:
        return read_regular(path, limit)[0]
    except UnsafeFile as exc:
        if exc.size is None:
            raise KBError(f"{path} is not a regular file (a pipe or a device is not read)") from exc
        raise KBError(f"{path} is larger than {limit:,} bytes") from exc
    except OSError as exc:
        raise KBError(f"cannot read {path}: {exc.strerror}") from exc
