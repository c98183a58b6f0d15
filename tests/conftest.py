"""Shared fixtures: a factory for temporary knowledge bases and an in-process CLI runner."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kb.cli import main

DATA = Path(__file__).resolve().parent / "data"

MakeKB = Callable[[Mapping[str, str | bytes]], Path]


@pytest.fixture
def make_kb(tmp_path: Path) -> MakeKB:
    """Return a factory: {"claims/a.yaml": "...", "sources/s.txt": b"..."} -> a new kb folder.

    Text is written as UTF-8 exactly as given (no newline translation); bytes are written as is.
    Each call makes a fresh folder under tmp_path.
    """
    count = 0

    def make(files: Mapping[str, str | bytes]) -> Path:
        nonlocal count
        count += 1
        root = tmp_path / f"kb{count}"
        root.mkdir()
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            path.write_bytes(data)
        return root

    return make


@dataclass
class Run:
    """The result of one in-process `kb` run."""

    code: int
    out: str
    err: str


RunKB = Callable[..., Run]


@pytest.fixture
def run_kb(capsys: pytest.CaptureFixture[str]) -> RunKB:
    """Return a runner: run_kb("-C", root, "check") -> Run(code, out, err), in process."""

    def run(*args: str | Path) -> Run:
        capsys.readouterr()  # drop anything printed before
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def generate_kb(out: Path, claims: int = 60) -> Path:
    """Write bench/generate.py's synthetic knowledge base of `claims` claims into `out`."""
    script = Path(__file__).resolve().parent.parent / "bench" / "generate.py"
    subprocess.run(
        [sys.executable, str(script), str(claims), str(out)], check=True, capture_output=True
    )
    return out


@pytest.fixture()
def synthetic(tmp_path: Path) -> Path:
    """A fresh synthetic knowledge base of 60 claims (bench/generate.py)."""
    return generate_kb(tmp_path / "kb")


def fail_helper(monkeypatch: pytest.MonkeyPatch, failure: str, after: int = 0) -> None:
    """Make the loader's helper process fail after `after` good readings: it raises, exits,
    hangs (and the loader waits 1 s for it at most), or sends a garbled reading."""
    import kb.fast.parsehelper as ph

    real = ph._read_for_helper
    calls = 0

    def failing(path: str, rel: str) -> object:
        nonlocal calls
        calls += 1
        if calls <= after:
            return real(path, rel)
        if failure == "raise":
            raise RuntimeError("boom")
        if failure == "exit":
            os._exit(0)
        if failure == "hang":
            time.sleep(60)
        return ("not", "a", "reading")

    monkeypatch.setattr(ph, "_read_for_helper", failing)
    monkeypatch.setattr(ph, "_HELPER_WAIT", 1.0)


@contextmanager
def cycles_made() -> Iterator[list[object]]:
    """Run the block with the cyclic collector off (as a build pauses it); the list it gives
    then holds every object left in a reference cycle the block made."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    found: list[object] = []
    try:
        yield found
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found += gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
