"""What kb keeps beside an output folder, and how it touches it without following links.

Beside the output `site` live the lock `.site.kb-lock` (the process id of the build holding it),
the key `.site.kb-key` (32 random bytes, made by kb the first time it commits a journal), the
journal `.site.kb-journal` of an in-place rebuild and the temporary folders `.site.kb-new-*` and
`.site.kb-old-*`. A received folder can hold any of these: none is trusted for what it says.

- The journal is signed with the key, and the signature covers the key file's device and inode
  number: a journal kb did not write here (shipped with a base, copied from elsewhere, even with
  its key file) is not replayed.
- Temporary folders are recognised by their exact name (`.` + the output's name + `.kb-new-` +
  what `mkdtemp` adds), never by a glob pattern: an output called `site [v1]` or `s*` matches
  nothing but its own.
- Files are moved and deleted through folder descriptors opened with O_NOFOLLOW, one level at a
  time: a link anywhere inside the output or the staging folder stops the operation there.
- The lock is held only by the process that took it: forked children close their copy of its
  descriptor, so a worker that outlives its build holds nothing. A lock still held although the
  process named in it is gone is taken over, with a message; a build that waits says for whom.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath

from kb.errors import KBError

MARKER = ".kb-site"  # a JSON manifest {path: sha256}; marks a folder as a kb site
KEY_BYTES = 32
_held: set[int] = set()  # descriptors of the locks this process holds
_forker = [0]  # the process id of the last process that forked, as its child sees it


def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up once here (never in a forked child, where the loader's lock may
    be held by a thread that was not copied)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()


def die_with_parent() -> None:
    """In a forked child: be killed (SIGKILL) when the parent process dies, so that a worker
    never outlives a build killed with SIGKILL or SIGTERM (Linux: PR_SET_PDEATHSIG)."""
    if _PRCTL is None:
        return
    _PRCTL(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if _forker[0] and os.getppid() != _forker[0]:
        os._exit(1)  # the parent died before the request was made


def _before_fork() -> None:
    _forker[0] = os.getpid()


def _in_child() -> None:  # pragma: no cover - runs in a forked child
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)  # closes the child's copy only: the parent keeps its lock
    _held.clear()
    die_with_parent()


# Every process forked by kb (render workers, the citation and loading helpers, the quote
# placer) holds no lock and dies with its parent.
os.register_at_fork(before=_before_fork, after_in_child=_in_child)


def side_path(out: Path, kind: str) -> Path:
    """The file or folder of `kind` ("kb-lock", "kb-key", "kb-journal") beside `out`."""
    return out.parent / f".{out.name}.{kind}"


def is_temp(name: str, out_name: str, kind: str) -> bool:
    """True when `name` is a temporary folder of `kind` ("new", "old") made for `out_name`
    (beside it), or with `out_name` empty, one made inside an output (a mount point)."""
    prefix = f".{out_name}.kb-{kind}-" if out_name else f".kb-{kind}-"
    return re.fullmatch(re.escape(prefix) + r"[a-z0-9_]+", name) is not None


def temps(out: Path, kind: str) -> list[Path]:
    """The temporary folders of `kind` beside `out` (real folders only, not links)."""
    found = []
    with contextlib.suppress(OSError), os.scandir(out.parent) as entries:
        for entry in entries:
            if is_temp(entry.name, out.name, kind) and entry.is_dir(follow_symlinks=False):
                found.append(Path(entry.path))
    return sorted(found)


# --- the lock ---------------------------------------------------------------------------------


def _warn(line: str) -> None:
    print(f"kb: {line}", file=sys.stderr, flush=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive
    return True


def _owner(path: Path) -> int:
    """The process id written in the lock file at `path` (0 when unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    return int(text) if text.isdigit() else 0


def _open_lock(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise KBError(f"the lock file {path} is a symbolic link: refused") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise KBError(f"the lock file {path} is not a regular file: refused")
    return fd


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _take_over(path: Path, pid: int) -> None:
    """Replace a lock file whose holder is gone by a fresh one (the old one stays held by
    whatever inherited it, and is no longer anyone's business)."""
    _warn(
        f"the lock {path} is held, but the build that took it (process {pid}) is gone: "
        "taking it over"
    )
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    os.close(fd)
    os.replace(part, path)


@contextlib.contextmanager
def locked(out: Path, poll: float = 0.1) -> Iterator[None]:
    """Hold an exclusive lock for writing `out`; a second build waits for the first (saying so),
    and takes over a lock whose holder is gone."""
    out.parent.mkdir(parents=True, exist_ok=True)
    path = side_path(out, "kb-lock")
    told = False
    dead = 0  # polls in a row that found the lock held in the name of a process that is gone
    while True:
        fd = _open_lock(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _owner(path)
            dead = dead + 1 if pid and not _alive(pid) else 0
            if not _same_file(fd, path):
                dead = 0  # replaced meanwhile: open the new one
            elif dead > 10:  # over a second: not a build that has just taken it
                _take_over(path, pid)
                dead = 0
            elif not told and not dead:
                who = f"process {pid}" if pid else "another process"
                _warn(f"waiting for the build of {out} by {who} to finish")
                told = True
            os.close(fd)
            time.sleep(poll)
            continue
        if _same_file(fd, path):
            break
        os.close(fd)  # locked a file that was replaced meanwhile: try the current one
    _held.add(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        _held.discard(fd)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --- the signed journal ----------------------------------------------------------------------


def _read_key(path: Path) -> tuple[bytes, bytes] | None:
    """The key in `path` and what binds it to this file (its device and inode), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != KEY_BYTES:
            return None
        key = os.read(fd, KEY_BYTES)
    finally:
        os.close(fd)
    return (key, f"{st.st_dev}:{st.st_ino}:".encode()) if len(key) == KEY_BYTES else None


def _key(out: Path, create: bool) -> tuple[bytes, bytes] | None:
    path = side_path(out, "kb-key")
    got = _read_key(path)
    if got is not None or not create:
        return got
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # torn, a link, or not a key: made again
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    return _read_key(path)


def sign(out: Path, body: dict[str, object]) -> str:
    """Return the journal text for `body`, signed with this output's key (made if needed)."""
    got = _key(out, create=True)
    if got is None:
        raise KBError(f"cannot keep the key {side_path(out, 'kb-key')}")
    key, binding = got
    text = json.dumps(body, sort_keys=True)
    mac = hmac.new(key, binding + text.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"body": text, "mac": mac})


def verify(out: Path, signed: str) -> dict[str, object] | None:
    """The body of a journal kb signed here, or None (torn, forged, shipped or copied)."""
    got = _key(out, create=False)
    try:
        data = json.loads(signed)
        text, mac = str(data["body"]), str(data["mac"])
        body = json.loads(text)
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if got is None or not isinstance(body, dict):
        return None
    key, binding = got
    want = hmac.new(key, binding + text.encode(), hashlib.sha256).hexdigest()
    return body if hmac.compare_digest(want, mac) else None


# --- file operations that follow no link ----------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_folder(path: Path) -> int:
    """Open a folder that must not be a link itself (its parents are the caller's)."""
    return os.open(path, _DIR_FLAGS)


def open_child(folder: int, name: str) -> int:
    """Open the folder `name` inside the folder descriptor `folder`, never through a link."""
    return os.open(name, _DIR_FLAGS, dir_fd=folder)


@contextlib.contextmanager
def folder_at(top: int, parts: Sequence[str], create: bool = False) -> Iterator[int]:
    """Open the folder `parts` under the folder descriptor `top`, one level at a time, never
    through a link (OSError ELOOP or ENOTDIR when one is met); `create` makes missing ones."""
    fds: list[int] = []
    try:
        at = top
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=at)
            at = os.open(part, _DIR_FLAGS, dir_fd=at)
            fds.append(at)
        yield at
    finally:
        for fd in fds:
            os.close(fd)


def regular_at(folder: int, name: str) -> os.stat_result | None:
    """The stat of a regular file `name` in `folder` (None when missing or anything else)."""
    try:
        st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def each_file(
    src: int, dst: int, paths: Sequence[str], do: Callable[[int, int, str], None]
) -> None:
    """Call `do(src_folder, dst_folder, name)` for each posix path, its folders opened without
    following links (made in `dst` when missing); a path with a link on the way is skipped."""
    for path in paths:
        *parents, name = path.split("/")
        try:
            with folder_at(src, parents) as s, folder_at(dst, parents, create=True) as d:
                do(s, d, name)
        except (FileNotFoundError, NotADirectoryError):
            continue  # its folder in `src` is gone (moved before a kill), or a link: left


def safe_rel(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or path.startswith("."):
        raise KBError(f"internal error: refusing to write {path!r} outside the site")
    return rel


# --- the journal of an in-place rebuild -------------------------------------------------------


def commit_in_place(
    out: Path, tmp: Path, moves: list[str], gone: list[str], inside: bool = False
) -> None:
    """Move the changed files (and the manifest) from `tmp` into `out`, delete what is gone.

    The journal, written first and atomically, names all of it: a build killed while moving
    is finished by the next one (`recover`), so the site is never left half old, half new. The
    previous site stays as it was until the journal exists: a build killed before that
    changes nothing. The journal is signed (kb.outstate.sign): only kb's own is ever replayed.
    `inside`: `tmp` is in `out` (a mount point), not beside it.
    """
    journal = side_path(out, "kb-journal")
    body = {"staging": tmp.name, "inside": inside, "moves": moves, "gone": gone}
    part = journal.with_name(journal.name + ".part")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part)  # never write through a link left there
    part.write_text(sign(out, body), encoding="utf-8")
    os.replace(part, journal)  # from here on the build is committed
    roll_forward(out, journal)


def _read_journal(out: Path, journal: Path) -> tuple[Path, list[str], list[str]] | None:
    """The staging folder, moves and gone files of a journal kb wrote for `out`, or None."""
    try:
        fd = os.open(journal, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = os.read(fd, 64 << 20).decode("utf-8")
        finally:
            os.close(fd)
    except (OSError, UnicodeDecodeError):
        return None
    body = verify(out, text)
    if body is None:
        return None
    try:
        name, inside = str(body["staging"]), bool(body["inside"])
        moves = [str(p) for p in body["moves"]]  # type: ignore[attr-defined]
        gone = [str(p) for p in body["gone"]]  # type: ignore[attr-defined]
    except (KeyError, TypeError):
        return None
    if not is_temp(name, "" if inside else out.name, "new"):
        return None
    for path in [*moves, *gone]:
        safe_rel(path)
    return (out if inside else out.parent) / name, moves, gone


def roll_forward(out: Path, journal: Path) -> None:
    """Carry out a committed journal: move its files in, delete the gone ones, then the journal.

    A journal kb did not sign here is dropped and nothing it names is done; the moves and
    deletions go through folders opened one level at a time without following links.
    """
    got = _read_journal(out, journal)
    if got is None:
        with contextlib.suppress(OSError):  # torn (never committed) or not kb's: ignored
            os.unlink(journal)
        return
    tmp, moves, gone = got
    with contextlib.ExitStack() as stack:
        out_fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        stack.callback(os.close, out_fd)
        try:
            tmp_fd = open_folder(tmp)
            stack.callback(os.close, tmp_fd)
            each_file(tmp_fd, out_fd, [*moves, MARKER], _move_one)
        except FileNotFoundError:
            pass  # the staging folder was removed after every file was moved
        for path in gone:
            _delete_one(out_fd, path.split("/"))
    os.unlink(journal)
    shutil.rmtree(tmp, ignore_errors=True)


def _move_one(src: int, dst: int, name: str) -> None:
    if regular_at(src, name) is not None:  # else moved before a kill
        os.replace(name, name, src_dir_fd=src, dst_dir_fd=dst)


def _delete_one(top: int, parts: list[str]) -> None:
    """Delete the file `parts` under `top`, then the folders it leaves empty (as a clean build
    would); a link on the way stops it."""
    try:
        with (
            folder_at(top, parts[:-1]) as folder,
            contextlib.suppress(FileNotFoundError, IsADirectoryError),
        ):
            os.unlink(parts[-1], dir_fd=folder)
        for depth in range(len(parts) - 1, 0, -1):
            with folder_at(top, parts[: depth - 1]) as folder:
                os.rmdir(parts[depth - 1], dir_fd=folder)
    except OSError:
        return  # a folder not empty, missing, or a link: left as it is


# --- the previous site's files, looked at without following links ---------------------------


class Folders:
    """The folders of a previous site, each opened once, one level at a time from the site's
    own folder and never through a link (as folder_at does); `close` closes them all."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.fds: dict[tuple[str, ...], int] = {}

    def at(self, parts: tuple[str, ...]) -> int:
        """The descriptor of the folder `parts` (OSError when it is missing or a link)."""
        fd = self.fds.get(parts)
        if fd is None:
            fd = open_folder(self.out) if not parts else open_child(self.at(parts[:-1]), parts[-1])
            self.fds[parts] = fd
        return fd

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def intact(
    out: Path,
    path: str,
    old: dict[str, str],
    old_sizes: dict[str, int],
    done_ns: int,
    folders: Folders | None = None,
) -> bool:
    """True when the previous site's file is as kb wrote it (size, and not modified since).
    `folders`: the site's folders already opened (else each is opened for this file)."""
    if path not in old:
        return False
    if path.startswith(("/", ".")) or ".." in path.split("/"):
        safe_rel(path)  # raises: never look outside the site
    *parents, name = path.split("/")
    try:
        if folders is not None:
            st = os.stat(name, dir_fd=folders.at(tuple(parents)), follow_symlinks=False)
        else:
            with contextlib.ExitStack() as stack:
                top = open_folder(out)
                stack.callback(os.close, top)
                folder = stack.enter_context(folder_at(top, parents))  # no link on the way
                st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return False
    same_size = st.st_size == old_sizes.get(path)
    return stat.S_ISREG(st.st_mode) and same_size and st.st_mtime_ns <= done_ns
