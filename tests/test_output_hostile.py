"""The output's own state under attack: a shipped journal, links inside the site, odd names,
a staging folder emptied by someone else, a mount point, a lock left by a dead process, and
render workers of a killed build (issue 20, findings 1, 4, 5 and 10).

Each test fails on the code before the fix (kb/outstate.py): the journal was replayed whoever
wrote it and through links, the output's name was used as a glob pattern, the swap did not check
the staging folder, the output could not be a mount point, and forked workers outlived a killed
build, holding its lock.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kb.errors import KBError
from kb.output import MARKER, SiteWriter, check_out_dir, recover, write_site
from kb.outstate import locked, sign
from tests.conftest import generate_kb
from tests.test_output import assert_complete, leftovers, site_files, snapshot

VALID = Path(__file__).resolve().parent / "data" / "valid"


def shipped_attack(home: Path, out: Path, signed: bool) -> tuple[Path, Path]:
    """A site in `out` with a link leading out of it, and a journal (shipped, or signed with
    this output's key) that moves a file through the link and deletes another through it."""
    outside = home / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_bytes(b"keep me")
    (outside / "precious.txt").write_bytes(b"precious")
    write_site({"index.html": b"<p>site</p>"}, out)
    (out / "escape").symlink_to(outside)
    staging = out.parent / f".{out.name}.kb-new-evil1234"
    (staging / "escape").mkdir(parents=True)
    (staging / "escape" / "victim.txt").write_bytes(b"overwritten")
    body = {
        "staging": staging.name,
        "inside": False,
        "moves": ["escape/victim.txt"],
        "gone": ["escape/precious.txt"],
    }
    text = sign(out, body) if signed else json.dumps(body)  # shipped: no signature of ours
    (out.parent / f".{out.name}.kb-journal").write_text(text)
    return outside / "victim.txt", outside / "precious.txt"


@pytest.mark.parametrize("signed", [False, True], ids=["shipped", "signed-here"])
def test_a_journal_never_reaches_outside_the_site(tmp_path: Path, signed: bool) -> None:
    """A journal kb did not write is not replayed; one it did write is carried out without
    following the link inside the site: nothing outside is overwritten or deleted."""
    out = tmp_path / "site"
    victim, precious = shipped_attack(tmp_path, out, signed)
    with locked(out):
        recover(out)
    assert victim.read_bytes() == b"keep me"
    assert precious.read_bytes() == b"precious"
    assert not (tmp_path / ".site.kb-journal").exists()
    assert leftovers(out) == []


def test_a_received_base_with_a_journal_builds_without_harm(tmp_path: Path) -> None:
    """The attack as found: a base whose site/ holds a link out and ships a journal; `kb build`
    (default output) leaves the files outside as they were."""
    root = tmp_path / "kb"
    shutil.copytree(VALID, root, ignore=shutil.ignore_patterns(".kb-cache"))
    out = root / "site"
    victim, precious = shipped_attack(tmp_path, out, signed=False)
    (out / "escape").unlink()
    subprocess.run([sys.executable, "-m", "kb", "-C", root, "build"], capture_output=True)
    (out / "escape").symlink_to(victim.parent)  # only now: the build refuses a site with it
    subprocess.run([sys.executable, "-m", "kb", "-C", root, "build"], capture_output=True)
    assert victim.read_bytes() == b"keep me" and precious.read_bytes() == b"precious"


def test_a_journal_of_another_output_is_not_replayed(tmp_path: Path) -> None:
    """A journal signed for one output and copied beside another is refused (the signature
    covers the key file's identity, not only its bytes)."""
    a, b = tmp_path / "a" / "site", tmp_path / "b" / "site"
    write_site(site_files("a", 3), a)
    write_site(site_files("b", 3), b)
    before = snapshot(b)
    staging = a.parent / ".site.kb-new-abc"
    staging.mkdir()
    (staging / "d0").mkdir()
    (staging / "d0" / "f0.html").write_bytes(b"from a")
    text = sign(a, {"staging": staging.name, "inside": False, "moves": ["d0/f0.html"], "gone": []})
    shutil.copy2(a.parent / ".site.kb-key", b.parent / ".site.kb-key")
    shutil.copytree(staging, b.parent / staging.name)
    (b.parent / ".site.kb-journal").write_text(text)
    with locked(b):
        recover(b)
    assert snapshot(b) == before


@pytest.mark.parametrize("name", ["site [v1]", "s?te", "site*"])
def test_debris_of_killed_builds_is_removed_whatever_the_name(tmp_path: Path, name: str) -> None:
    """The output's name is no pattern: the half-written folders of its killed builds go."""
    out = tmp_path / name
    write_site(site_files("old", 3), out)
    (tmp_path / f".{name}.kb-new-abc123").mkdir()
    (tmp_path / f".{name}.kb-old-def456").mkdir()
    write_site(site_files("new", 3), out)
    assert_complete(out, site_files("new", 3))
    assert leftovers(out) == []


def test_a_pattern_name_leaves_other_builds_alone(tmp_path: Path) -> None:
    """A build into `s*` does not delete the staging folder of a build into `site`."""
    other = tmp_path / ".site.kb-new-running1"
    other.mkdir()
    (other / "index.html").write_bytes(b"being written")
    write_site(site_files("star", 3), tmp_path / "s*")
    assert (other / "index.html").read_bytes() == b"being written"


def test_the_swap_checks_that_staging_is_complete(tmp_path: Path) -> None:
    """A file removed from the staging folder before the swap: the build fails, the previous
    site stays as it was, nothing is left beside it."""
    out = tmp_path / "site"
    write_site(site_files("old", 5), out)
    before = snapshot(out)
    with SiteWriter(out) as writer:
        staging = writer.staging()
        placed = [staging.put(p, b) for p, b in site_files("new", 5).items()]
        (staging.tmp / "d0" / "f0.html").unlink()  # what the glob of another build did
        with pytest.raises(KBError, match="lost 1 file"):
            writer.finish(placed)
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_previous_page_reached_through_a_link_is_not_reused(tmp_path: Path) -> None:
    """A folder of the previous site replaced by a link leading out: its pages are not linked
    into the new site from there (the link is followed nowhere)."""
    out = tmp_path / "site"
    files = site_files("old", 7)
    write_site(files, out)
    outside = tmp_path / "outside"
    shutil.copytree(out / "d0", outside)
    shutil.rmtree(out / "d0")
    (out / "d0").symlink_to(outside)
    write_site(files, out)
    assert not (out / "d0").is_symlink()
    for name in os.listdir(out / "d0"):
        assert (out / "d0" / name).stat().st_ino != (outside / name).stat().st_ino


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_reuse_by_key_goes_through_real_folders_only(tmp_path: Path) -> None:
    """Deciding which pages of the previous site are reused opens each of its folders once
    and never through a link: a folder replaced by a link leading out reuses none of its
    pages, the other folders' pages are reused, and no descriptor is left open."""
    out = tmp_path / "site"
    files = {**site_files("old", 7), "index.html": b"top"}
    keys = {path: "k-" + path for path in files}
    with SiteWriter(out) as writer:
        writer.write(files, keys)
    outside = tmp_path / "outside"
    shutil.copytree(out / "d0", outside)
    shutil.rmtree(out / "d0")
    (out / "d0").symlink_to(outside)
    before = _open_fds()
    with SiteWriter(out) as writer:
        held = _open_fds()
        reused = {path for path in files if writer.reusable(path, keys[path])}
        assert reused == {p for p in files if not p.startswith("d0/")}
        assert any(p.startswith("d0/") for p in files) and any("/" not in p for p in reused)
        assert not writer.reusable("d1/" + "x.html", "k")  # not in the previous site
        writer.staging().discard()
        assert _open_fds() == held  # the folders opened to decide are closed
    assert _open_fds() == before


MOUNTED = textwrap.dedent(
    """
    import subprocess, sys
    from pathlib import Path
    mnt = Path(sys.argv[1])
    subprocess.run(["mount", "-t", "tmpfs", "kbtest", str(mnt)], check=True)
    import kb.output as o
    first = {"index.html": b"one", "a/b.html": b"b", "gone/x.html": b"x"}
    second = {"index.html": b"two", "a/b.html": b"b", "new/y.html": b"y"}
    o.write_site(first, mnt)
    o.write_site(second, mnt)
    found = sorted(str(p.relative_to(mnt)) for p in mnt.rglob("*"))
    print(found)
    print((mnt / "index.html").read_bytes().decode())
    """
)


def test_a_build_into_a_mount_point(tmp_path: Path) -> None:
    """The output is a mounted file system (renaming it fails with EBUSY): the new site is
    staged inside it and moved in under the journal."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    got = subprocess.run(
        ["unshare", "-rm", sys.executable, "-c", MOUNTED, str(mnt)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr
    files, index = got.stdout.splitlines()
    assert files == str(sorted([MARKER, "a", "a/b.html", "index.html", "new", "new/y.html"]))
    assert index == "two"


WRITE_ONE = (
    "import sys, pathlib, kb.output as o\no.write_site({'i.html': b'x'}, pathlib.Path(sys.argv[1]))"
)


def test_a_lock_held_for_a_dead_build_is_taken_over(tmp_path: Path) -> None:
    """The lock is held (by a process that inherited it) in the name of a build that is gone:
    the next build says so and takes it over instead of waiting for ever."""
    out = tmp_path / "site"
    gone = subprocess.Popen(["true"])
    gone.wait()
    lock = tmp_path / ".site.kb-lock"
    lock.write_text(f"{gone.pid}\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,sys,time\nf=open(sys.argv[1])\n"
         "fcntl.flock(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(120)", lock],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code = WRITE_ONE
        got = subprocess.run(
            [sys.executable, "-c", code, out], capture_output=True, text=True, timeout=120
        )
        assert got.returncode == 0, got.stderr
        assert f"process {gone.pid}) is gone: taking it over" in got.stderr
        assert (out / "i.html").read_bytes() == b"x"
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_build_says_for_whom(tmp_path: Path) -> None:
    """A build that waits for a running one says so (never waits silently)."""
    out = tmp_path / "site"
    with locked(out):
        code = WRITE_ONE
        proc = subprocess.Popen(
            [sys.executable, "-c", code, out], stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"waiting for the build of {out} by process {os.getpid()}" in line
    proc.wait(60)
    assert proc.returncode == 0


# --- a killed build's render workers --------------------------------------------------------

KILLED_BUILD = textwrap.dedent(
    """
    import os, sys, time
    import kb.fast.workers as w
    parent = os.getpid()
    real = w._produce

    def produce(producer, staging):
        if os.getpid() != parent:
            print(f"worker {os.getpid()}", flush=True)
            time.sleep(120)  # stands for a worker blocked writing into a full pipe
        return real(producer, staging)

    w._produce = produce
    from kb.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def gone(pid: int) -> bool:
    """True when process `pid` no longer runs (a zombie has not been reaped by its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_a_killed_build_and_hold_no_lock(tmp_path: Path, sig: int) -> None:
    """`kb build` of a base large enough to fork render workers, killed while they work: the
    workers die with it, and the next build takes the lock at once and finishes."""
    root = generate_kb(tmp_path / "kb", claims=400)
    out = tmp_path / "site"
    env = {**os.environ, "KB_JOBS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, "-C", root, "build", "--out", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("worker "), line
    worker = int(line.split()[1])
    proc.send_signal(sig)
    proc.wait(30)
    deadline = time.monotonic() + 60  # the worker is killed by the kernel; wait until it is
    while not gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(worker), "the render worker outlived the killed build"
    again = subprocess.run(
        [sys.executable, "-m", "kb", "-C", root, "build", "--out", out],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert "waiting for" not in again.stderr and "taking it over" not in again.stderr
    check_out_dir(out, root)
    assert leftovers(out) == []
