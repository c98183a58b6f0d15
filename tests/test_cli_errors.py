"""Every command-line error is a message and an exit code, never a traceback (issue 20,
finding 10): a base or folder that cannot be read, an unreadable snapshot, a style that is a
device, stdout on a full device.

The suite may run as root, for whom file modes do not deny reading: a folder or file that
cannot be read is made by having the system call that reads it fail with EACCES, as it does for
a user without the permission.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RunKB = Callable[..., Any]  # the run_kb fixture (conftest.py)
VALID = Path(__file__).resolve().parent / "data" / "valid"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the valid knowledge base."""
    dest = tmp_path / "kb"
    shutil.copytree(VALID, dest, ignore=shutil.ignore_patterns(".kb-cache"))
    return dest


def deny(monkeypatch: pytest.MonkeyPatch, name: str, under: Path) -> None:
    """Make os.`name` (scandir, open, access) fail with EACCES for `under` and what it holds."""
    real = getattr(os, name)

    def denied(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, (str, os.PathLike)) and Path(os.fspath(path)).is_relative_to(under):
            if name == "access":
                return False
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, name, denied)


def test_a_base_that_cannot_be_read(
    root: Path, run_kb: RunKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny(monkeypatch, "access", root)
    deny(monkeypatch, "scandir", root)
    r = run_kb("-C", root, "check")
    assert r.code == 2 and "cannot be read (permission denied)" in r.err


def test_an_unreadable_folder_met_while_working_is_a_message(
    root: Path, run_kb: RunKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError no check foresaw ends as one line and exit 2, not a traceback."""
    import kb.reading.files

    def failing(start: Path) -> Path:
        raise PermissionError(errno.EACCES, "Permission denied", str(root / "x"))

    monkeypatch.setattr(kb.reading.files, "find_base", failing)
    r = run_kb("-C", root, "check")
    assert r.code == 2 and r.err == f"kb: error: cannot use {root / 'x'}: Permission denied\n"


def test_an_unreadable_claims_folder_is_a_problem(
    root: Path, run_kb: RunKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny(monkeypatch, "scandir", root / "claims")
    r = run_kb("-C", root, "check")
    assert r.code == 1
    assert (
        "claims:1:1: error: cannot read the folder claims/: Permission denied [unreadable]" in r.out
    )


def test_an_unreadable_snapshot_is_unreadable_not_yaml_syntax(
    root: Path, run_kb: RunKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = next((root / "sources").glob("*.txt"))
    deny(monkeypatch, "open", snapshot)
    r = run_kb("-C", root, "check")
    assert (
        f"sources/{snapshot.name}:1:1: error: cannot read the file: Permission denied [unreadable]"
        in r.out
    )
    assert "yaml-syntax" not in r.out


def test_a_style_linked_to_a_device_is_refused(root: Path, run_kb: RunKB) -> None:
    """A link to /dev/zero named as a style: refused at once, nothing read (it used to be read
    until memory ran out)."""
    (root / "zero.csl").symlink_to("/dev/zero")
    claim = next((root / "claims").glob("*.yaml")).stem
    r = run_kb("-C", root, "cite", claim, "--style", root / "zero.csl")
    assert r.code == 2 and "is not a regular file" in r.err


def test_stdout_on_a_full_device(root: Path) -> None:
    """Output to /dev/full: a message and exit 2, no OSError traceback."""
    with open("/dev/full", "w") as full:
        got = subprocess.run(
            [sys.executable, "-m", "kb", "-C", str(root), "check", "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert got.returncode == 2
    assert got.stderr.strip().endswith(
        "kb: error: cannot write the output: No space left on device"
    )
    assert "Traceback" not in got.stderr and "Exception ignored" not in got.stderr


def test_a_style_in_the_base_that_leads_outside_is_refused(
    root: Path, run_kb: RunKB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--style x.csl` not found here falls back to the base; a link there leading out of the
    base is refused (a received base could point it at any file)."""
    from kb.cite.styles import STYLES

    outside = tmp_path / "outside.csl"
    shutil.copy(STYLES["apa"], outside)
    (root / "x.csl").symlink_to(outside)
    monkeypatch.chdir(tmp_path)
    claim = next((root / "claims").glob("*.yaml")).stem
    r = run_kb("-C", root, "cite", claim, "--style", "x.csl")
    assert r.code == 2 and "leads outside it: refused" in r.err


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_kb_serve_refuses_a_port_that_is_none(root: Path, run_kb: RunKB, port: str) -> None:
    """A port out of range or not a number is a usage error (exit 2) before anything is built;
    it was an OverflowError traceback from the socket after the first build."""
    r = run_kb("-C", root, "serve", "--port", port, "--out", root.parent / "never")
    assert r.code == 2 and "argument --port" in r.err and "Traceback" not in r.err
    assert not (root.parent / "never").exists()


@pytest.mark.parametrize(
    ("name", "value", "args", "message"),
    [
        ("KB_JOBS", "x", ["build"], "KB_JOBS=x is not a number of processes"),
        ("KB_JOBS", "0", ["build"], "KB_JOBS=0 is not a number of processes"),
        ("SOURCE_DATE_EPOCH", "99999999999999", ["build"], "is no date"),
        ("SOURCE_DATE_EPOCH", "99999999999999", ["review"], "is no date"),
    ],
)
def test_an_environment_value_kb_cannot_use_is_a_message(
    root: Path,
    run_kb: RunKB,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    args: list[str],
    message: str,
) -> None:
    """KB_JOBS that is no number of processes and SOURCE_DATE_EPOCH past the year 9999 are one
    line and exit 2 (they were ValueError tracebacks), and nothing is written."""
    from kb.reading.load import load_kb

    monkeypatch.setenv(name, value)
    out = root.parent / "out"
    extra = ["--out", str(out)] if args == ["build"] else []
    if args == ["review"]:  # a review that would be written: its date is needed
        kb, _ = load_kb(root)
        extra = [sorted(kb.claims)[0], "--verdict", "accurate", "--reviewer", sorted(kb.experts)[0]]
    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    r = run_kb("-C", root, *args, *extra)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err
    assert not out.exists() and {p: p.read_bytes() for p in root.rglob("*.yaml")} == before
