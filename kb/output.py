"""Write a built site to disk: the only code that writes it, atomically and under a lock.

The new site is written into a fresh folder beside the output, then swapped in with two renames;
a build that fails or is killed leaves the previous site as it was. Files whose bytes did not
change are hard-linked from the previous site instead of written again.

A rebuild that changes few pages does not make a whole new folder: the changed files are written
into the fresh folder, a journal naming them is committed with one rename, and they are moved
into the previous site. A build killed before the journal exists changed nothing; one killed
after it is finished by the next build (`recover`).
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
    base = os.fspath(out)
    for folder, dirs, names in os.walk(base):
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        dirs[:] = sorted(set(dirs) - set(links))
        inside = os.path.relpath(folder, base)
        prefix = "" if inside == "." else inside.replace(os.sep, "/") + "/"
        for name in sorted([*names, *links]):
            rel = prefix + name
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
    journal = _journal_path(out)
    if journal.exists():
        _roll_forward(out, journal)
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


@dataclass
class ManifestMemo:
    """The last manifest read or written, with the stamp of its file: a long-running process
    (`kb serve`, through its memory) reads the one it wrote without parsing it again."""

    last: tuple[tuple[int, ...], Manifest] | None = None


def _stamp(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_manifest(out: Path, memo: ManifestMemo | None = None) -> Manifest:
    """Return the manifest of the site in `out` (empty when there is none or it is unreadable);
    with a `memo`, the one it holds when the file did not change since."""
    stamp = _stamp(out / MARKER)
    last = memo.last if memo is not None else None
    if stamp is not None and last is not None and last[0] == stamp:
        return last[1]  # the same file, unchanged (a rename or a write changes its ctime)
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()
    if not isinstance(data, dict):
        return Manifest()

    def mapping(name: str) -> dict[str, Any]:
        got = data.get(name)
        return got if isinstance(got, dict) else {}

    got = Manifest(
        {str(k): str(v) for k, v in mapping("files").items()},
        {str(k): str(v) for k, v in mapping("keys").items()},
        {str(k): v for k, v in mapping("sizes").items() if isinstance(v, int)},
    )
    if stamp is not None and memo is not None:
        memo.last = (stamp, got)
    return got


def _remember_manifest(out: Path, manifest: Manifest, memo: ManifestMemo | None) -> None:
    """Note the manifest just written into `out` (see read_manifest)."""
    if memo is not None:
        stamp = _stamp(out / MARKER)
        memo.last = (stamp, manifest) if stamp is not None else None


class SiteWriter:
    """Write a new site over a previous one, under a lock, reusing what did not change.

    Use as a context manager: the lock is held from before the previous site is read until the
    new one is swapped in, so that two builds cannot interleave.
    """

    def __init__(self, out: Path, memo: ManifestMemo | None = None) -> None:
        self.out = out
        self.memo = memo  # the manifest last read or written, kept by a long-running process
        self.old_files: dict[str, str] = {}
        self.old_keys: dict[str, str] = {}
        self.old_sizes: dict[str, int] = {}
        self.finished_ns = 0
        self._lock: contextlib.ExitStack | None = None
        self._staging: Staging | None = None

    def __enter__(self) -> SiteWriter:
        stack = contextlib.ExitStack()
        stack.enter_context(locked(self.out))
        self._lock = stack
        recover(self.out)
        if self.out.is_dir():
            old = read_manifest(self.out, self.memo)
            self.old_files, self.old_keys, self.old_sizes = old.files, old.keys, old.sizes
            try:
                self.finished_ns = (self.out / MARKER).stat().st_mtime_ns
            except OSError:
                self.finished_ns = 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self._staging is not None:  # staged but never finished: leave no folder behind
            self._staging.discard()
            self._staging = None
        if self._lock is not None:
            self._lock.close()

    def reusable(self, path: str, key: str) -> bool:
        """True when the previous site has `path` rendered from inputs with this key, as kb
        wrote it: same size, and not modified after the site was finished (a page edited by
        hand in the output is rendered again, not carried forward)."""
        return self.old_keys.get(path) == key and self._intact(path)

    def _intact(self, path: str) -> bool:
        """True when the previous site's file is as kb wrote it (size, and not modified since)."""
        return _intact(self.out, path, self.old_files, self.old_sizes, self.finished_ns)

    def staging(self, in_place: bool = False) -> Staging:
        """Return a fresh folder beside the output for the new site (removed if not finished).

        `in_place`: the new site will be the previous one with only the changed files moved in
        (for a rebuild that changes few files); otherwise it is a complete new folder swapped in.
        """
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.kb-new-", dir=self.out.parent))
        in_place = in_place and bool(self.old_files)
        self._staging = Staging(
            tmp, self.out, self.old_files, self.old_sizes, self.finished_ns, in_place
        )
        return self._staging

    def write(
        self,
        files: Mapping[str, bytes],
        keys: Mapping[str, str] | None = None,
        reused: Iterable[str] = (),
    ) -> dict[str, int]:
        """Write `files` (and link the `reused` paths of the previous site), then swap it in."""
        staging = self.staging()
        try:
            placed = [staging.put(path, files[path]) for path in sorted(files)]
        except BaseException:
            staging.discard()
            raise
        return self.finish(placed, keys, reused)

    def finish(
        self,
        placed: Iterable[Placed],
        keys: Mapping[str, str] | None = None,
        reused: Iterable[str] = (),
    ) -> dict[str, int]:
        """Link the `reused` pages of the previous site into the staging folder, where the
        `placed` files were put, write the manifest and swap the new site in."""
        staging = self._staging
        assert staging is not None, "finish() without staging()"
        out, tmp = self.out, staging.tmp
        try:
            manifest: dict[str, str] = {}
            sizes: dict[str, int] = {}
            written = linked = 0
            for path in sorted(reused):
                if not staging.in_place:
                    os.link(out / _safe_rel(path), staging.place(path))
                manifest[path] = self.old_files[path]
                sizes[path] = self.old_sizes[path]
                linked += 1
            placed_list = list(placed)
            for path, digest, size, was_linked in placed_list:
                manifest[path] = digest
                sizes[path] = size
                linked += was_linked
                written += not was_linked
            kept = dict(keys or {})
            body = json.dumps(  # compact: an indent would take json's slow pure-Python encoder
                {"generator": "kb", "files": manifest, "keys": kept, "sizes": sizes},
                separators=(",", ":"),
                sort_keys=True,
            )
            (tmp / MARKER).write_text(body + "\n", encoding="utf-8")
            if staging.in_place:
                moves = sorted(p for p, _, _, was_linked in placed_list if not was_linked)
                gone = sorted(set(self.old_files) - set(manifest))
                _commit_in_place(out, tmp, moves, gone)
            else:
                os.chmod(tmp, 0o755)
                _swap(tmp, out)
            _remember_manifest(out, Manifest(manifest, kept, sizes), self.memo)
        except BaseException:
            staging.discard()
            raise
        finally:
            self._staging = None
        return {"written": written, "linked": linked}


# (site path, sha256, size, linked from the previous site rather than written)
Placed = tuple[str, str, int, bool]


class Staging:
    """The folder a new site is written into: `put` may be called from forked workers.

    A file whose bytes are those of the previous site's intact copy is hard-linked from it (its
    time stamp stays, so nothing watching the site sees a change), or, `in_place`, left where
    it is; other files are written.
    """

    def __init__(
        self,
        tmp: Path,
        out: Path,
        old: dict[str, str],
        old_sizes: dict[str, int],
        done_ns: int,
        in_place: bool = False,
    ) -> None:
        self.tmp, self.out, self.in_place = tmp, out, in_place
        self._old, self._old_sizes, self._done_ns = old, old_sizes, done_ns
        self._made: set[PurePosixPath] = set()

    def place(self, path: str) -> Path:
        """Return where `path` goes in the staging folder, making its folder."""
        rel = _safe_rel(path)
        if rel.parent not in self._made:
            (self.tmp / rel.parent).mkdir(parents=True, exist_ok=True)  # workers may race
            self._made.add(rel.parent)
        return self.tmp / rel

    def put(self, path: str, data: bytes) -> Placed:
        """Put one file of the new site; return what the manifest records of it."""
        digest = hashlib.sha256(data).hexdigest()
        same = self._old.get(path) == digest and _intact(
            self.out, path, self._old, self._old_sizes, self._done_ns
        )
        if same and self.in_place:
            return path, digest, len(data), True  # the previous site's copy stays where it is
        target = self.place(path)
        if same:
            try:
                os.link(self.out / _safe_rel(path), target)
                return path, digest, len(data), True
            except OSError:
                pass
        with open(target, "wb") as fh:
            fh.write(data)
        return path, digest, len(data), False

    def discard(self) -> None:
        """Remove the staging folder (the build failed or was interrupted)."""
        shutil.rmtree(self.tmp, ignore_errors=True)


def _intact(
    out: Path, path: str, old: dict[str, str], old_sizes: dict[str, int], done_ns: int
) -> bool:
    """True when the previous site's file is as kb wrote it (size, and not modified since)."""
    if path not in old:
        return False
    if path.startswith(("/", ".")) or ".." in path.split("/"):
        _safe_rel(path)  # raises: never look outside the site
    try:
        st = os.stat(os.path.join(out, path), follow_symlinks=False)
    except OSError:
        return False
    same_size = st.st_size == old_sizes.get(path)
    return stat.S_ISREG(st.st_mode) and same_size and st.st_mtime_ns <= done_ns


def write_site(files: Mapping[str, bytes], out: Path) -> dict[str, int]:
    """Write `files` as the site in `out`, atomically; return counts of written and linked files."""
    with SiteWriter(out) as writer:
        return writer.write(files)


def _journal_path(out: Path) -> Path:
    return out.parent / f".{out.name}.kb-journal"


def _commit_in_place(out: Path, tmp: Path, moves: list[str], gone: list[str]) -> None:
    """Move the changed files (and the manifest) from `tmp` into `out`, delete what is gone.

    The journal, written first and atomically, names all of it: a build killed while moving
    is finished by the next one (`recover`), so the site is never left half old, half new. The
    previous site stays as it was until the journal exists: a build killed before that
    changes nothing.
    """
    journal = _journal_path(out)
    body = json.dumps({"staging": tmp.name, "moves": moves, "gone": gone})
    part = journal.with_name(journal.name + ".part")
    part.write_text(body, encoding="utf-8")
    os.replace(part, journal)  # from here on the build is committed
    _roll_forward(out, journal)


def _roll_forward(out: Path, journal: Path) -> None:
    """Carry out a committed journal: move its files in, delete the gone ones, then the journal."""
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        tmp = out.parent / str(data["staging"])
        moves = [str(p) for p in data["moves"]]
        gone = [str(p) for p in data["gone"]]
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)  # a torn journal was never committed (it is renamed)
        return
    if tmp.parent != out.parent or not tmp.name.startswith(f".{out.name}.kb-new-"):
        journal.unlink(missing_ok=True)  # not one of ours: do nothing it names
        return
    made: set[PurePosixPath] = set()
    for path in [*moves, MARKER]:
        rel = _safe_rel(path) if path != MARKER else PurePosixPath(MARKER)
        src = tmp / rel
        if not src.exists():
            continue  # moved before the kill
        if rel.parent not in made:
            (out / rel.parent).mkdir(parents=True, exist_ok=True)
            made.add(rel.parent)
        os.replace(src, out / rel)
    for path in gone:
        rel = _safe_rel(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / rel)
        for parent in rel.parents:  # a folder left empty goes too, as in a clean build
            if parent == PurePosixPath("."):
                break
            try:
                os.rmdir(out / parent)
            except OSError:
                break
    journal.unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.kb-old-", dir=out.parent))
        os.rmdir(old)
        os.rename(out, old)
        os.rename(new, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, out)
