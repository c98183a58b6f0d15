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
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kb.errors import KBError
from kb.outstate import (
    MARKER,
    Folders,
    commit_in_place,
    intact,
    is_temp,
    locked,
    roll_forward,
    safe_rel,
    side_path,
    temps,
)

__all__ = ["MARKER", "SiteWriter", "Staging", "check_out_dir", "locked", "recover", "write_site"]


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
        if not prefix:  # a killed build's folder inside a mount point: removed under the lock
            dirs[:] = [d for d in dirs if not is_temp(d, "", "new")]
        for name in sorted([*names, *links]):
            rel = prefix + name
            if rel != MARKER and rel not in files:
                extra.append(rel)
    return extra


def recover(out: Path) -> None:
    """Put back a previous site if a build was killed between its two renames; tidy up.

    Call it holding `locked(out)`: it deletes the half-written folders of killed builds, which
    would otherwise pile up beside the output, and only the lock tells them from a running one's.
    Only what kb made is touched: temporary folders by their exact names, a journal only when
    it carries this output's signature (see kb.outstate).
    """
    journal = side_path(out, "kb-journal")
    if journal.exists() or journal.is_symlink():
        roll_forward(out, journal)
    for new in temps(out, "new"):
        shutil.rmtree(new, ignore_errors=True)
    if out.is_dir() and not out.is_symlink():
        for debris in _inner_temps(out):
            shutil.rmtree(debris, ignore_errors=True)
    if out.exists() or out.is_symlink():
        for old in temps(out, "old"):
            shutil.rmtree(old, ignore_errors=True)
        return
    olds = sorted(temps(out, "old"), key=lambda p: p.stat(follow_symlinks=False).st_mtime)
    if olds:
        os.rename(olds[-1], out)


def _inner_temps(out: Path) -> list[Path]:
    """Staging folders inside `out` (made when `out` is a mount point), by their exact names."""
    with contextlib.suppress(OSError), os.scandir(out) as entries:
        return [
            Path(e.path)
            for e in entries
            if is_temp(e.name, "", "new") and e.is_dir(follow_symlinks=False)
        ]
    return []


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
    except (OSError, ValueError, RecursionError):
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
        # the previous site's folders opened while deciding which pages are reused (one open
        # per folder, not two per page), closed once the staging folder is made
        self._folders: Folders | None = None
        self.inside = False  # the staging folder is inside the output (a mount point)
        self._scratch: list[Path] = []  # folders of files made before the staging folder

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
        self._close_folders()
        if self._staging is not None:  # staged but never finished: leave no folder behind
            self._staging.discard()
            self._staging = None
        self.drop_scratch()
        if self._lock is not None:
            self._lock.close()

    def drop_scratch(self) -> None:
        """Remove the scratch folders (what was not moved out of them is not needed)."""
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)
        self._scratch = []

    def reusable(self, path: str, key: str) -> bool:
        """True when the previous site has `path` rendered from inputs with this key, as kb
        wrote it: same size, and not modified after the site was finished (a page edited by
        hand in the output is rendered again, not carried forward)."""
        return self.old_keys.get(path) == key and self._intact(path)

    def _intact(self, path: str) -> bool:
        """True when the previous site's file is as kb wrote it (size, and not modified since)."""
        if self._folders is None:
            self._folders = Folders(self.out)
        return intact(
            self.out, path, self.old_files, self.old_sizes, self.finished_ns, self._folders
        )

    def _close_folders(self) -> None:
        if self._folders is not None:
            self._folders.close()
            self._folders = None

    def _temp_folder(self) -> Path:
        """A new temporary folder beside the output (inside it when it is a mount point), named
        as kb's temporary folders are, so that one a killed build leaves is removed later."""
        if os.path.ismount(self.out):  # no rename of the output itself: work inside it
            return Path(tempfile.mkdtemp(prefix=".kb-new-", dir=self.out))
        return Path(tempfile.mkdtemp(prefix=f".{self.out.name}.kb-new-", dir=self.out.parent))

    def scratch(self) -> Path:
        """A folder for files made before the staging folder (by a forked process, while the
        builder plans): `Staging.adopt` moves them in; it is removed when the writer closes."""
        folder = self._temp_folder()
        self._scratch.append(folder)
        return folder

    def staging(self, in_place: bool = False) -> Staging:
        """Return a fresh folder beside the output for the new site (removed if not finished).

        `in_place`: the new site will be the previous one with only the changed files moved in
        (for a rebuild that changes few files); otherwise it is a complete new folder swapped in.
        """
        self._close_folders()  # no descriptor of the previous site goes to forked workers
        tmp = self._temp_folder()
        if os.path.ismount(self.out):
            in_place = self.inside = True
        else:
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
                    os.link(out / safe_rel(path), staging.place(path), follow_symlinks=False)
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
                _verify_staging(tmp, {p: sizes[p] for p in moves})
                gone = sorted(set(self.old_files) - set(manifest))
                commit_in_place(out, tmp, moves, gone, self.inside)
            else:
                _verify_staging(tmp, sizes)
                os.chmod(tmp, 0o755)
                _swap(tmp, out)
            _remember_manifest(out, Manifest(manifest, kept, sizes), self.memo)
        except BaseException:
            staging.discard()
            raise
        finally:
            self._staging = None
        return {"written": written, "linked": linked}


def _verify_staging(tmp: Path, sizes: Mapping[str, int]) -> None:
    """Check that every file the manifest names is in the staging folder, a regular file of
    its size, before anything is swapped or moved in (another process may have removed it)."""
    missing = []
    for path, size in sizes.items():
        try:
            st = os.stat(tmp / path, follow_symlinks=False)
        except OSError:
            missing.append(path)
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            missing.append(path)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise KBError(
            f"the new site's folder {tmp} lost {len(missing)} file(s) while it was written "
            f"({shown}): the previous site is left as it was"
        )


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
        rel = safe_rel(path)
        if rel.parent not in self._made:
            (self.tmp / rel.parent).mkdir(parents=True, exist_ok=True)  # workers may race
            self._made.add(rel.parent)
        return self.tmp / rel

    def put(self, path: str, data: bytes) -> Placed:
        """Put one file of the new site; return what the manifest records of it."""
        digest = hashlib.sha256(data).hexdigest()
        target = self._unless_same(path, digest)
        if target is None:
            return path, digest, len(data), True
        with open(target, "wb") as fh:
            fh.write(data)
        return path, digest, len(data), False

    @staticmethod
    def made_early(folder: Path, name: str, data: bytes) -> tuple[str, int]:
        """Write one file of the new site as `name` in a scratch folder (SiteWriter.scratch),
        before the staging folder exists (from a forked process); return the SHA-256 and size
        of its bytes, for `adopt`."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        with open(os.open(folder / name, flags, 0o666), "wb") as fh:
            fh.write(data)
        return hashlib.sha256(data).hexdigest(), len(data)

    def adopt(self, path: str, made: Path, digest: str, size: int) -> Placed:
        """Put one file of the new site that was written before this folder was made, into
        `made` (by `made_early`, in a scratch folder of the same writer), with the SHA-256
        and size of its bytes: as `put` does with the bytes, the file moved in rather than
        written. A file the previous site holds as it is stays in the scratch folder."""
        target = self._unless_same(path, digest)
        if target is None:
            return path, digest, size, True
        os.replace(made, target)
        return path, digest, size, False

    def _unless_same(self, path: str, digest: str) -> Path | None:
        """Where a file with this digest is to be written; None when the previous site's
        intact copy has these bytes (it is hard-linked in, or, in place, stays where it is)."""
        same = self._old.get(path) == digest and intact(
            self.out, path, self._old, self._old_sizes, self._done_ns
        )
        if same and self.in_place:
            return None  # the previous site's copy stays where it is
        target = self.place(path)
        if same:
            try:
                os.link(self.out / safe_rel(path), target, follow_symlinks=False)
                return None
            except OSError:
                pass
        return target

    def discard(self) -> None:
        """Remove the staging folder (the build failed or was interrupted)."""
        shutil.rmtree(self.tmp, ignore_errors=True)


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
