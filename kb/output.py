"""Write a built site to disk: the only code that writes it, atomically and under a lock.

The new site is written into a fresh folder beside the output, then swapped in with two renames;
a build that fails or is killed leaves the previous site as it was. Files whose bytes did not
change are hard-linked from the previous site instead of written again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kb.errors import KBError

MARKER = ".kb-site"  # a JSON manifest {path: sha256}; marks a folder as a kb site


def check_out_dir(out: Path, root: Path) -> None:
    """Refuse an output folder that could hold anything of the user's (exit 2)."""
    out_r, root_r = out.resolve(), root.resolve()
    if out_r == root_r or root_r.is_relative_to(out_r):
        raise KBError(f"--out {out} is the knowledge base or one of its parents: refused")
    for kind in ("claims", "experts", "sources"):
        if out_r.is_relative_to(root_r / kind):
            raise KBError(f"--out {out} is inside the knowledge base's {kind}/: refused")
    if out.is_symlink():
        raise KBError(f"--out {out} is a symbolic link: refused")
    if out.exists():
        if not out.is_dir():
            raise KBError(f"--out {out} exists and is not a folder: refused")
        if any(out.iterdir()) and not (out / MARKER).is_file():
            raise KBError(
                f"--out {out} is not empty and is not a previous kb site: refused, "
                "so that nothing of yours is deleted"
            )
        if extra := _not_written_by_kb(out):
            shown = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
            raise KBError(
                f"--out {out} is a previous kb site, but holds files kb did not write ({shown}): "
                "refused, so that nothing of yours is deleted; move them out of it first"
            )


def _not_written_by_kb(out: Path) -> list[str]:
    """List the files in a previous site that its manifest does not name (added by hand)."""
    files = read_manifest(out).files
    extra = []
    for folder, dirs, names in os.walk(out):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        dirs[:] = sorted(set(dirs) - set(links))
        for name in sorted([*names, *links]):
            rel = (Path(folder) / name).relative_to(out).as_posix()
            if rel != MARKER and rel not in files:
                extra.append(rel)
    return extra


def _safe_rel(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or path.startswith("."):
        raise KBError(f"internal error: refusing to write {path!r} outside the site")
    return rel


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock for writing `out`; a second build waits for the first."""
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.kb-lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def recover(out: Path) -> None:
    """Put back a previous site if a build was killed between its two renames; tidy up.

    Call it holding `locked(out)`: it deletes the half-written folders of killed builds, which
    would otherwise pile up beside the output, and only the lock tells them from a running one's.
    """
    for new in out.parent.glob(f".{out.name}.kb-new-*"):
        shutil.rmtree(new, ignore_errors=True)
    if out.exists():
        for old in out.parent.glob(f".{out.name}.kb-old-*"):
            shutil.rmtree(old, ignore_errors=True)
        return
    olds = sorted(out.parent.glob(f".{out.name}.kb-old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], out)


@dataclass(frozen=True)
class Manifest:
    """What a previous site's `.kb-site` records: {path: sha256}, {path: page key}, {path: size}."""

    files: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def read_manifest(out: Path) -> Manifest:
    """Return the manifest of the site in `out` (empty when there is none or it is unreadable)."""
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()
    if not isinstance(data, dict):
        return Manifest()

    def mapping(name: str) -> dict[str, Any]:
        got = data.get(name)
        return got if isinstance(got, dict) else {}

    return Manifest(
        {str(k): str(v) for k, v in mapping("files").items()},
        {str(k): str(v) for k, v in mapping("keys").items()},
        {str(k): v for k, v in mapping("sizes").items() if isinstance(v, int)},
    )


class SiteWriter:
    """Write a new site over a previous one, under a lock, reusing what did not change.

    Use as a context manager: the lock is held from before the previous site is read until the
    new one is swapped in, so that two builds cannot interleave.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.old_files: dict[str, str] = {}
        self.old_keys: dict[str, str] = {}
        self.old_sizes: dict[str, int] = {}
        self.finished_ns = 0
        self._lock: contextlib.ExitStack | None = None

    def __enter__(self) -> SiteWriter:
        stack = contextlib.ExitStack()
        stack.enter_context(locked(self.out))
        self._lock = stack
        recover(self.out)
        if self.out.is_dir():
            old = read_manifest(self.out)
            self.old_files, self.old_keys, self.old_sizes = old.files, old.keys, old.sizes
            try:
                self.finished_ns = (self.out / MARKER).stat().st_mtime_ns
            except OSError:
                self.finished_ns = 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.close()

    def reusable(self, path: str, key: str) -> bool:
        """True when the previous site has `path` rendered from inputs with this key, as kb
        wrote it: same size, and not modified after the site was finished (a page edited by
        hand in the output is rendered again, not carried forward)."""
        return self.old_keys.get(path) == key and self._intact(path)

    def _intact(self, path: str) -> bool:
        """True when the previous site's file is as kb wrote it (size, and not modified since)."""
        if path not in self.old_files:
            return False
        try:
            st = os.stat(self.out / _safe_rel(path), follow_symlinks=False)
        except OSError:
            return False
        return (
            stat.S_ISREG(st.st_mode)
            and st.st_size == self.old_sizes.get(path)
            and st.st_mtime_ns <= self.finished_ns
        )

    def write(
        self,
        files: Mapping[str, bytes],
        keys: Mapping[str, str] | None = None,
        reused: Iterable[str] = (),
    ) -> dict[str, int]:
        """Write `files` (and link the `reused` paths of the previous site), then swap it in."""
        out, old = self.out, self.old_files
        keys = keys or {}
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.kb-new-", dir=out.parent))
        written = linked = 0
        try:
            manifest: dict[str, str] = {}
            made: set[PurePosixPath] = set()

            def place(path: str) -> Path:
                rel = _safe_rel(path)
                if rel.parent not in made:
                    (tmp / rel.parent).mkdir(parents=True, exist_ok=True)
                    made.add(rel.parent)
                return tmp / rel

            sizes: dict[str, int] = {}
            for path in sorted(reused):
                os.link(out / _safe_rel(path), place(path))
                manifest[path] = old[path]
                sizes[path] = self.old_sizes[path]
                linked += 1
            for path in sorted(files):
                data = files[path]
                digest = hashlib.sha256(data).hexdigest()
                manifest[path] = digest
                sizes[path] = len(data)
                target = place(path)
                if old.get(path) == digest and self._intact(path):
                    try:
                        os.link(out / _safe_rel(path), target)
                        linked += 1
                        continue
                    except OSError:
                        pass
                with open(target, "wb") as fh:
                    fh.write(data)
                written += 1
            body = json.dumps(
                {"generator": "kb", "files": manifest, "keys": dict(keys), "sizes": sizes},
                indent=0,
                sort_keys=True,
            )
            (tmp / MARKER).write_text(body + "\n", encoding="utf-8")
            os.chmod(tmp, 0o755)
            _swap(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return {"written": written, "linked": linked}


def write_site(files: Mapping[str, bytes], out: Path) -> dict[str, int]:
    """Write `files` as the site in `out`, atomically; return counts of written and linked files."""
    with SiteWriter(out) as writer:
        return writer.write(files)


def _swap(new: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.kb-old-", dir=out.parent))
        os.rmdir(old)
        os.rename(out, old)
        os.rename(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, out)
