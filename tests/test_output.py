"""Nothing lost: a build that fails, is killed or races another leaves a complete site.

The site is written into a fresh folder beside the output and swapped in with two renames, under
a lock (kb/output.py). These tests kill real processes with SIGKILL at the worst moments (in the
middle of writing, between the two renames), run builds at the same time, and point `--out` at
places that hold the user's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kb.output import MARKER, check_out_dir, locked, recover, write_site

RunKB = Callable[..., Any]  # the run_kb fixture (conftest.py)
VALID = Path(__file__).resolve().parent / "data" / "valid"

# A child process that writes a site with write_site, slowed down or stopped where asked:
#   argv: out, label, files, mode ("slow" | "hang-after-N" | "hang-between-renames")
CHILD = textwrap.dedent(
    """
    import os, sys, time
    import kb.output as o
    out, label, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    files = {f"d{i % 7}/f{i}.html": (f"{label} {i} " * 200).encode() for i in range(count)}
    opened = 0
    real_open, real_rename = open, os.rename

    def slow_open(*args, **kwargs):
        global opened
        opened += 1
        if mode == "slow":
            time.sleep(0.002)
        elif mode.startswith("hang-after-") and opened == int(mode.rsplit("-", 1)[1]):
            print("writing", flush=True)
            time.sleep(60)
        return real_open(*args, **kwargs)

    renames = 0

    def rename(src, dst):
        global renames
        renames += 1
        if mode == "hang-between-renames" and renames == 2:
            print("between", flush=True)
            time.sleep(60)
        return real_rename(src, dst)

    o.open = slow_open
    o.os.rename = rename
    print("start", flush=True)
    o.write_site(files, __import__("pathlib").Path(out))
    print("done", flush=True)
    """
)


def site_files(label: str, count: int) -> dict[str, bytes]:
    """The files CHILD writes for `label`, as the test expects to find them."""
    return {f"d{i % 7}/f{i}.html": (f"{label} {i} " * 200).encode() for i in range(count)}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under `folder`, by relative path; links not followed."""
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_dir():
            found[rel] = None
        else:
            found[rel] = path.read_bytes()
    return found


def assert_complete(out: Path, files: Mapping[str, bytes]) -> None:
    """`out` holds exactly `files` and a manifest that agrees with every byte of them."""
    got = {k: v for k, v in snapshot(out).items() if v is not None}
    manifest = json.loads(got.pop(MARKER))
    assert got == dict(files)
    assert manifest["files"] == {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}


def leftovers(out: Path) -> list[str]:
    """Temporary folders of kb builds beside `out` (the lock file is meant to stay)."""
    prefix = f".{out.name}.kb-"  # not a glob: the name may hold [, ], * or ?
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def start(out: Path, label: str, count: int, mode: str) -> subprocess.Popen[str]:
    """Start CHILD and wait until it has imported kb and begun."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), label, str(count), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "start"
    return proc


def wait_for(proc: subprocess.Popen[str], line: str) -> None:
    """Read the child's output until it prints `line` (it then sleeps where it was told to)."""
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    assert got == line, (got, proc.stderr.read() if proc.stderr else "")


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL: no handler, no finally, no cleanup runs."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def old_site(tmp_path: Path) -> tuple[Path, dict[str, bytes | None]]:
    """A complete previous site in tmp_path/site, and its snapshot."""
    out = tmp_path / "site"
    write_site(site_files("old", 60), out)
    return out, snapshot(out)


def test_sigkill_while_writing_leaves_the_previous_site(
    old_site: tuple[Path, dict[str, bytes | None]],
) -> None:
    """Killed after writing 40 of 60 new files: the old site is there, byte for byte."""
    out, before = old_site
    proc = start(out, "new", 60, "hang-after-40")
    wait_for(proc, "writing")
    assert leftovers(out), "the new site is being written beside the old one"
    kill(proc)
    assert snapshot(out) == before
    write_site(site_files("newer", 60), out)  # the next build finishes and tidies up
    assert_complete(out, site_files("newer", 60))
    assert leftovers(out) == []


def test_sigkill_between_the_two_renames_is_recovered(
    old_site: tuple[Path, dict[str, bytes | None]],
) -> None:
    """Killed after moving the old site aside: recover() puts it back, byte for byte."""
    out, before = old_site
    proc = start(out, "new", 20, "hang-between-renames")
    wait_for(proc, "between")
    kill(proc)
    assert not out.exists(), "the kill came after the first rename"
    recover(out)
    assert snapshot(out) == before
    write_site(site_files("next", 5), out)
    assert_complete(out, site_files("next", 5))
    assert leftovers(out) == []


def test_a_build_after_a_kill_between_renames_recovers_by_itself(
    old_site: tuple[Path, dict[str, bytes | None]],
) -> None:
    """write_site itself recovers first, so a plain rebuild needs no manual step."""
    out, _ = old_site
    proc = start(out, "new", 20, "hang-between-renames")
    wait_for(proc, "between")
    kill(proc)
    write_site(site_files("again", 10), out)
    assert_complete(out, site_files("again", 10))
    assert leftovers(out) == []


def test_two_builds_at_once_give_one_complete_site(tmp_path: Path) -> None:
    """Two slowed writers race for one output: the result is exactly one of the two sites."""
    out = tmp_path / "site"
    write_site(site_files("old", 10), out)
    a = start(out, "aaa", 150, "slow")
    b = start(out, "bbb", 150, "slow")
    for proc in (a, b):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    got = {k: v for k, v in snapshot(out).items() if v is not None and k != MARKER}
    assert got in (site_files("aaa", 150), site_files("bbb", 150))
    label = "aaa" if got == site_files("aaa", 150) else "bbb"
    assert_complete(out, site_files(label, 150))
    assert leftovers(out) == []


def test_the_lock_makes_a_second_build_wait(
    old_site: tuple[Path, dict[str, bytes | None]],
) -> None:
    """While one build holds the lock, another does not touch the output; then it finishes."""
    out, before = old_site
    with locked(out):
        proc = start(out, "waiting", 5, "fast")
        time.sleep(1.0)
        assert proc.poll() is None, "the second build did not wait for the lock"
        assert snapshot(out) == before and leftovers(out) == []
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert_complete(out, site_files("waiting", 5))


def test_recover_puts_back_the_newest_previous_site(tmp_path: Path) -> None:
    """The state a kill between the renames leaves, made by hand, is repaired by recover()."""
    out = tmp_path / "site"
    write_site({"index.html": b"v1"}, out)
    before = snapshot(out)
    os.rename(out, tmp_path / ".site.kb-old-abc")
    (tmp_path / ".site.kb-new-def").mkdir()
    (tmp_path / ".site.kb-new-def" / "index.html").write_bytes(b"half")
    recover(out)
    assert snapshot(out) == before
    recover(out)  # idempotent: with the site in place, stale copies are removed
    assert snapshot(out) == before
    assert not (tmp_path / ".site.kb-old-abc").exists()


# --- the real build: errors, exceptions and a killed `kb build` ---------------------------------


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A copy of the valid knowledge base (builds without errors)."""
    root = tmp_path / "kb"
    shutil.copytree(VALID, root, ignore=shutil.ignore_patterns(".kb-cache"))
    return root


def kb(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the kb command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "kb", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_a_build_with_errors_leaves_the_previous_site_untouched(kb_copy: Path) -> None:
    """An error found by the checks stops the build before anything is written."""
    out = kb_copy.parent / "out"
    first = kb("-C", kb_copy, "build", "--out", out)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    (kb_copy / "claims" / "broken.yaml").write_text("statement: [unclosed\n")
    second = kb("-C", kb_copy, "build", "--out", out)
    assert second.returncode == 1
    assert "claims/broken.yaml:2:1: error:" in second.stderr
    assert "nothing was written" in second.stderr
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_build_that_fails_while_writing_leaves_the_previous_site(
    kb_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills up half-way: exit 2 with the reason, the old site intact, no debris."""
    import errno

    import kb.output
    from kb.cli import main

    out = kb_copy.parent / "out"
    assert main(["-C", str(kb_copy), "build", "--out", str(out)]) == 0
    before = snapshot(out)
    config = kb_copy / "kb.yaml"
    config.write_text(config.read_text().replace("title:", "title: Renamed", 1))  # every page
    calls = 0

    def full_disk(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return open(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(kb.output, "open", full_disk, raising=False)
    assert main(["-C", str(kb_copy), "build", "--out", str(out)]) == 2
    assert calls > 3
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_sigkill_of_a_real_kb_build_while_writing(kb_copy: Path) -> None:
    """`kb build` killed in its write stage: the previous site stays complete."""
    out = kb_copy.parent / "out"
    assert kb("-C", kb_copy, "build", "--out", out).returncode == 0  # also warms the cite cache
    before = snapshot(out)
    config = kb_copy / "kb.yaml"
    config.write_text(config.read_text().replace("title:", "title: Changed", 1))  # every page
    script = textwrap.dedent(
        """
        import sys, time
        import kb.output as o
        real_open, n = open, 0
        def slow_open(*a, **k):
            global n
            n += 1
            if n == 3:
                print("writing", flush=True)
                time.sleep(60)
            return real_open(*a, **k)
        o.open = slow_open
        from kb.cli import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "-C", str(kb_copy), "build", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(proc, "writing")
    kill(proc)
    assert snapshot(out) == before
    again = kb("-C", kb_copy, "build", "--out", out)
    assert again.returncode == 0, again.stderr
    assert b"Changed" in (out / "index.html").read_bytes()
    assert leftovers(out) == []


# --- --out must never point at the user's files ----------------------------------------------


def refused_cases(root: Path) -> dict[str, Path]:
    """Output folders that must be refused, made in and around the knowledge base at `root`."""
    home = root.parent
    (home / "notes").mkdir()
    (home / "notes" / "thesis.txt").write_text("years of work")
    (home / "a-file").write_text("a file, not a folder")
    (home / "empty-target").mkdir()
    (home / "link-to-empty").symlink_to(home / "empty-target")
    (home / "fake-site").mkdir()
    (home / "fake-site" / "index.html").write_text("my own page")
    return {
        "the knowledge base": root,
        "its parent": home,
        "the root of the file system": Path("/"),
        "a non-empty folder": home / "notes",
        "a file": home / "a-file",
        "a folder inside claims/": root / "claims" / "site",
        "sources/ itself": root / "sources",
        "a symbolic link": home / "link-to-empty",
        "a folder with an index.html but no kb marker": home / "fake-site",
    }


@pytest.mark.parametrize(
    "case",
    [
        "the knowledge base",
        "its parent",
        "the root of the file system",
        "a non-empty folder",
        "a file",
        "a folder inside claims/",
        "sources/ itself",
        "a symbolic link",
        "a folder with an index.html but no kb marker",
    ],
)
def test_out_that_holds_the_users_files_is_refused(kb_copy: Path, case: str, run_kb: RunKB) -> None:
    """Exit 2 with the reason, and not one file created, changed or deleted anywhere."""
    target = refused_cases(kb_copy)[case]
    before = snapshot(kb_copy.parent)
    result = run_kb("-C", kb_copy, "build", "--out", target)
    assert result.code == 2, (case, result.err)
    assert "refused" in result.err
    assert snapshot(kb_copy.parent) == before


def test_out_given_as_dot_inside_the_knowledge_base_is_refused(
    kb_copy: Path, run_kb: RunKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative --out is taken from the current folder: `--out .` in the kb is the kb."""
    monkeypatch.chdir(kb_copy)
    before = snapshot(kb_copy)
    result = run_kb("build", "--out", ".")
    assert result.code == 2 and "refused" in result.err
    assert snapshot(kb_copy) == before


def test_out_accepted_when_new_empty_or_a_previous_site(kb_copy: Path, run_kb: RunKB) -> None:
    """The allowed cases: a new folder, an empty one, and a site kb wrote before."""
    check_out_dir(kb_copy.parent / "new" / "site", kb_copy)
    empty = kb_copy.parent / "empty"
    empty.mkdir()
    check_out_dir(empty, kb_copy)
    assert run_kb("-C", kb_copy, "build", "--out", empty).code == 0
    check_out_dir(empty, kb_copy)  # now a previous kb site
    assert run_kb("-C", kb_copy, "build", "--out", empty).code == 0


def test_a_previous_site_with_files_added_by_hand_is_refused(kb_copy: Path, run_kb: RunKB) -> None:
    """A CNAME or notes put into the site folder would be deleted by the swap: refused."""
    out = kb_copy.parent / "site"
    assert run_kb("-C", kb_copy, "build", "--out", out).code == 0
    (out / "CNAME").write_text("kb.example.org\n")
    (out / "claims" / "my-notes.txt").write_text("notes\n")
    before = snapshot(out)
    result = run_kb("-C", kb_copy, "build", "--out", out)
    assert result.code == 2
    assert "CNAME, claims/my-notes.txt" in result.err and "refused" in result.err
    assert snapshot(out) == before


# --- a rebuild that changes few files moves them into the previous site, under a journal ------

IN_PLACE_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import kb.output as o
    out, mode = Path(sys.argv[1]), sys.argv[2]
    real_open, real_replace = open, os.replace
    calls = {"open": 0, "replace": 0}

    def hang_if(what, n):
        calls[what] += 1
        if mode == f"hang-{what}-{n}" and calls[what] == n:
            print("hanging", flush=True)
            time.sleep(60)

    def slow_open(*args, **kwargs):
        hang_if("open", 1)
        return real_open(*args, **kwargs)

    def replace(src, dst, **kwargs):
        hang_if("replace", 3)  # 1: the journal is committed, 2: the first file moved in
        return real_replace(src, dst, **kwargs)

    o.open = slow_open
    o.os.replace = replace
    print("start", flush=True)
    with o.SiteWriter(out) as writer:
        staging = writer.staging(in_place=True)
        placed = [staging.put(p, b) for p, b in sorted(CHANGED.items())]
        keep = [p for p in writer.old_files if p not in CHANGED.keys() | GONE]
        writer.finish(placed, reused=keep)
    print("done", flush=True)
    """
)
# The second build: two pages change, one keeps its bytes, one is new (in a new folder), two go.
CHANGED = {
    "d0/f0.html": b"changed 0",
    "d1/f1.html": (b"old 1 " * 200),
    "d3/f3.html": b"changed 3",
    "new/page.html": b"a new page",
}
GONE = {"d5/f5.html", "d6/f6.html"}


def in_place_expected() -> dict[str, bytes]:
    """The files of the site after the second build."""
    files = {k: v for k, v in site_files("old", 7).items() if k not in GONE}
    files.update(CHANGED)
    return files


def start_in_place(out: Path, mode: str) -> subprocess.Popen[str]:
    """Run IN_PLACE_CHILD (the second build) over the site in `out`."""
    setup = f"CHANGED = {CHANGED!r}\nGONE = {GONE!r}\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", setup + IN_PLACE_CHILD, str(out), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "start"
    return proc


def test_an_in_place_rebuild_moves_in_only_the_changed_files(tmp_path: Path) -> None:
    """Unchanged files keep their inode; changed and new ones arrive; gone ones and their
    emptied folders go; nothing is left beside the site."""
    out = tmp_path / "site"
    write_site(site_files("old", 7), out)
    inode = {p: (out / p).stat().st_ino for p in ("d1/f1.html", "d2/f2.html", "d0/f0.html")}
    proc = start_in_place(out, "run")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert_complete(out, in_place_expected())
    assert (out / "d2/f2.html").stat().st_ino == inode["d2/f2.html"]  # reused: untouched
    assert (out / "d1/f1.html").stat().st_ino == inode["d1/f1.html"]  # same bytes: untouched
    assert (out / "d0/f0.html").stat().st_ino != inode["d0/f0.html"]
    assert not (out / "d5").exists() and not (out / "d6").exists()
    assert leftovers(out) == [] and not list(tmp_path.glob(".site.kb-journal*"))


def test_kill_before_the_journal_leaves_the_previous_site(
    old_site: tuple[Path, dict[str, bytes | None]],
) -> None:
    """Killed while writing the changed files: the previous site is exactly as it was."""
    out, before = old_site
    proc = start_in_place(out, "hang-open-1")
    wait_for(proc, "hanging")
    kill(proc)
    assert snapshot(out) == before
    write_site(site_files("next", 5), out)  # the next build tidies up
    assert leftovers(out) == []


def test_kill_after_the_journal_is_finished_by_the_next_build(tmp_path: Path) -> None:
    """Killed half-way through moving files in: the next build first completes the commit."""
    out = tmp_path / "site"
    write_site(site_files("old", 7), out)
    proc = start_in_place(out, "hang-replace-3")
    wait_for(proc, "hanging")
    kill(proc)
    assert (tmp_path / ".site.kb-journal").exists()
    old = site_files("old", 7)
    assert (out / "d0/f0.html").read_bytes() == CHANGED["d0/f0.html"]  # caught half-way:
    assert (out / "d3/f3.html").read_bytes() == old["d3/f3.html"]  # one moved in, one not yet
    with locked(out):
        recover(out)
    assert_complete(out, in_place_expected())
    assert leftovers(out) == [] and not (tmp_path / ".site.kb-journal").exists()


def test_the_manifest_is_parsed_again_only_when_its_file_changed(tmp_path: Path) -> None:
    """A long-running process keeps the manifest it wrote or read, by the file's stamp."""
    from kb.output import ManifestMemo, read_manifest

    out = tmp_path / "site"
    write_site({"index.html": b"<p>1</p>"}, out)
    memo = ManifestMemo()
    first = read_manifest(out, memo)
    assert set(first.files) == {"index.html"}
    assert read_manifest(out, memo) is first  # unchanged: not parsed again
    assert read_manifest(out) is not first  # without a memo: parsed each time
    text = (out / MARKER).read_text(encoding="utf-8")
    (out / MARKER).write_text(text.replace('"index.html"', '"others.html"'), encoding="utf-8")
    assert set(read_manifest(out, memo).files) == {"others.html"}  # changed: parsed again
