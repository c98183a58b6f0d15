"""The whole result of the checks, kept between processes while no file they read changes.

`kb check` run again on a base nobody touched since (a second look, a commit hook after the
editor's own run, a CI job on a kept workspace) would read and check every file to find the same
problems. So `kb.pipeline.check_base` keeps the problems of a full run in
`.kb-cache/check-result.json`, under a key made of kb's version, the code's hash and the stamp
of every file the loader reads or lists: kb.yaml and each entry of the record folders but
hidden ones (size, times, inode and device, as kb.fast.stored's readings; a link's own stamp
and its target's; a folder's kind only, as its entries are stamped). A later run that finds
the same key prints the stored problems without loading anything; any change (an edit, a new
or deleted file, a touched snapshot) makes it a full run.

A file changed less than a few seconds before it was stamped cannot be told from a later
change made in the same clock tick (kb.reading.files._trusted): no result is kept then. A
base copied or cloned elsewhere has other inodes and change times, so a result that came with
it, forged or not, is never used. What is stored can run no code: JSON, read back field by
field; a file that is not one this module wrote is ignored with a message and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from kb import __version__
from kb.errors import Problem
from kb.fast.checkstore import _problem, _problem_row
from kb.fast.stored import code_version
from kb.reading.files import MARKERS, RECORD_FOLDERS, _trusted, cache_dir
from kb.reading.safe import UnsafeFile, read_regular

SCHEMA = 1
FILE_NAME = "check-result.json"
_LIMIT = 1 << 30  # the stored result of any base kb can check


def inputs_key(root: Path) -> str | None:
    """A hash of the stamps of every file and folder the loader reads or lists under `root`,
    with kb's version; None when one of them changed too recently to be trusted (or `root`
    cannot be listed)."""
    now = time.time_ns()
    h = hashlib.sha256(f"{SCHEMA}\0{__version__}\0{code_version()}\0".encode())
    for name in (*MARKERS, *RECORD_FOLDERS):
        path = os.path.join(root, name)
        if not _stamp_into(h, name, path, now):
            return None
        if name in RECORD_FOLDERS and os.path.isdir(path):
            try:
                with os.scandir(path) as listing:
                    names = sorted(e.name for e in listing if not e.name.startswith("."))
            except OSError:
                return None
            for entry in names:
                if not _stamp_into(h, f"{name}/{entry}", os.path.join(path, entry), now):
                    return None
    return h.hexdigest()


def _stamp_into(h: hashlib._Hash, name: str, path: str, now: int) -> bool:
    """Add the name and stamps (its own, and its target's when it is a link) of `path` to `h`;
    False when it changed too recently to be trusted."""
    h.update(name.encode("utf-8", "surrogateescape") + b"\0")
    try:
        own = os.lstat(path)
    except FileNotFoundError:
        h.update(b"-\0")
        return True
    except OSError:
        return False
    stamps = [own]
    if stat.S_ISLNK(own.st_mode):
        try:
            stamps.append(os.stat(path))
        except OSError:
            h.update(b"dangling\0")
    for st in stamps:
        h.update(st.st_mode.to_bytes(4, "little"))
        if stat.S_ISDIR(st.st_mode):
            continue  # a folder's times change with any file in it: its entries are stamped
        stamp = _trusted(st, now)
        if stamp is None:
            return False
        h.update(stamp)
    return True


class Replay:
    """The stored result of the last full check of one base (see the module's docstring)."""

    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        folder = cache_dir(root)
        self.path = None if folder is None else folder / FILE_NAME
        self.say = say

    def recall(self, key: str | None) -> tuple[list[Problem], bool] | None:
        """The problems stored under `key`, and whether the base had records; None when there
        is no stored result for that key."""
        if key is None or self.path is None:
            return None
        try:
            data, _ = read_regular(self.path, _LIMIT, follow=False)
        except FileNotFoundError:
            return None
        except (OSError, UnsafeFile) as exc:
            self.say(f"kb: {self.path} cannot be read ({exc}): not used (it is made again)")
            return None
        try:
            stored = json.loads(data)
            if not isinstance(stored, dict) or stored.get("schema") != SCHEMA:
                raise ValueError("not a stored check result")
            if stored.get("key") != key:
                return None  # a file changed since, or another version of kb made it
            records = stored["records"]
            if type(records) is not bool or type(stored["problems"]) is not list:
                raise ValueError("not a stored check result")
            return [_problem(row) for row in stored["problems"]], records
        except (ValueError, TypeError, KeyError, RecursionError):
            self.say(f"kb: {self.path} is not a check result kb wrote: not used (it is made again)")
            return None

    def save(self, key: str | None, problems: list[Problem], records: bool) -> None:
        """Keep `problems` (a full run's, of the files `key` stamped) for the next run."""
        if key is None or self.path is None:
            return
        text = json.dumps(
            {
                "schema": SCHEMA,
                "key": key,
                "records": records,
                "problems": [_problem_row(p) for p in problems],
            },
            separators=(",", ":"),  # ASCII: any escaped surrogate of a file name comes back
        )
        tmp = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(exist_ok=True)
            if self.path.parent.is_symlink() or self.path.is_symlink():
                return
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with open(fd, "w", encoding="ascii") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self.say(f"kb: cannot write {self.path} ({exc}): the next run checks every file")
