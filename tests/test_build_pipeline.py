"""The build's pipeline: citations formatted beside the checks (in a thread or a forked process),
pages written by this process and forked workers; the same site either way."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import generate_kb

import kb.build
import kb.export
import kb.fast.early
import kb.fast.pending
import kb.site.pages
from kb.build import build
from kb.errors import KBError


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_kb(tmp_path_factory.mktemp("pipeline") / "kb")


def test_forked_citations_and_workers_give_the_same_site(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serial (one job, citations in a thread) and parallel (citations in a forked process,
    pages in two processes) builds write the same bytes."""
    monkeypatch.setenv("KB_JOBS", "1")
    serial = build(synthetic, tmp_path / "serial", log=lambda _line: None)
    assert serial.exit_code == 0
    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(kb.fast.pending.Pending, "FORK_MIN_SOURCES", 0)
    monkeypatch.setattr("kb.fast.workers.PARALLEL_MIN", 0)
    parallel = build(synthetic, tmp_path / "parallel", log=lambda _line: None)
    assert parallel.exit_code == 0
    assert parallel.work["citations"] > 0  # timed in the child and sent back
    assert _tree(tmp_path / "serial") == _tree(tmp_path / "parallel")


@pytest.mark.parametrize("fork_min", [0, 10**9])
def test_an_error_formatting_citations_reaches_the_caller(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork_min: int
) -> None:
    """A failure in the forked process (or the thread) is raised by build(), nothing written."""

    def broken(_kb: object) -> dict[str, object]:
        raise KBError("pandoc is not installed")

    monkeypatch.setattr(kb.fast.pending, "_citations", broken)
    monkeypatch.setattr(kb.fast.pending.Pending, "FORK_MIN_SOURCES", fork_min)
    with pytest.raises(KBError, match="pandoc is not installed"):
        build(synthetic, tmp_path / "site", log=lambda _line: None)
    assert not (tmp_path / "site").exists()
    assert not list(tmp_path.glob(".site.kb-new-*"))


def test_a_render_worker_that_fails_stops_the_build(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error raised while a forked worker renders reaches the caller; no site is left."""
    import kb.site.render

    real = kb.site.render.render_page
    main = __import__("os").getpid()

    def failing(site: object, page: kb.site.pages.Page) -> bytes:
        if __import__("os").getpid() != main and page.kind == "claim":
            raise OSError(28, "No space left on device")
        time.sleep(0.02)  # this process is slow, so that the worker surely takes some pages
        return real(site, page)  # type: ignore[arg-type]

    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr("kb.fast.workers.PARALLEL_MIN", 0)
    monkeypatch.setattr(kb.site.render, "render_page", failing)
    with pytest.raises(OSError, match="No space left"):
        build(synthetic, tmp_path / "site", log=lambda _line: None)
    assert not (tmp_path / "site").exists()
    assert not list(tmp_path.glob(".site.kb-new-*"))


def _as_in_kb_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Citations in a forked process, as for a large base, and no other thread seen: in a
    `kb build` process the exports are forked for only when no other thread runs (a small
    base's citations run in one), and a test process may hold idle threads of other tests."""
    monkeypatch.setattr(kb.fast.pending.Pending, "FORK_MIN_SOURCES", 0)
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def _early_starts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The list whether each Early.start started a process (kb.fast.early) is appended to."""
    started: list[bool] = []
    real = kb.fast.early.Early.start

    def spy(*args: Any) -> Any:
        got = real(*args)
        started.append(got is not None)
        return got

    monkeypatch.setattr(kb.fast.early.Early, "start", spy)
    return started


def test_exports_made_early_give_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exports made by a forked process while the site is planned (kb.fast.early) and
    moved into the staging folder: the same site as when they are made with the pages, as a
    first build, over the previous site (the same exports kept) and after an edit (some
    changed); no scratch folder is left."""
    base = generate_kb(tmp_path / "kb")
    monkeypatch.setenv("KB_JOBS", "2")
    _as_in_kb_build(monkeypatch)
    started = _early_starts(monkeypatch)

    def both() -> None:
        monkeypatch.setattr(kb.fast.early, "EARLY_MIN_RECORDS", 10**9)
        assert build(base, tmp_path / "plain", log=lambda _line: None).exit_code == 0
        monkeypatch.setattr(kb.fast.early, "EARLY_MIN_RECORDS", 0)
        assert build(base, tmp_path / "early", log=lambda _line: None).exit_code == 0
        assert started[-2:] == [False, True]
        assert _tree(tmp_path / "early") == _tree(tmp_path / "plain")
        assert not list(tmp_path.glob(".*.kb-new-*"))

    both()
    both()  # over the previous sites: every export the same
    claim = base / "claims" / "c000003.yaml"
    claim.write_text(claim.read_text().replace('statement: "', 'statement: "Edited. ', 1))
    both()


def test_the_output_stays_locked_until_the_early_exports_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moving the early exports in and removing their scratch folder leaves the output's lock
    held: no other build may start before this one has swapped its site in."""
    import fcntl
    import os

    from kb.output import SiteWriter
    from kb.outstate import side_path

    base = generate_kb(tmp_path / "kb")
    site = tmp_path / "site"
    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(kb.fast.early, "EARLY_MIN_RECORDS", 0)
    _as_in_kb_build(monkeypatch)
    held: list[bool] = []
    real = SiteWriter.finish

    def finish(self: SiteWriter, *args: Any, **kwargs: Any) -> Any:
        fd = os.open(side_path(site, "kb-lock"), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(False)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SiteWriter, "finish", finish)
    started = _early_starts(monkeypatch)
    assert build(base, site, log=lambda _line: None).exit_code == 0
    assert started == [True] and held == [True]


def test_an_error_making_the_exports_early_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export that fails in the forked process (kb.fast.early): the error reaches the
    caller, the previous site stays as it was and no scratch folder is left."""
    base = generate_kb(tmp_path / "kb")
    site = tmp_path / "site"
    assert build(base, site, log=lambda _line: None).exit_code == 0
    before = _tree(site)

    def broken(*_args: Any, **_kwargs: Any) -> bytes:
        raise OSError(28, "No space left on device")

    formats = dict(kb.export.FORMATS)
    name, _func, about = formats["csv"]
    formats["csv"] = (name, broken, about)
    monkeypatch.setattr(kb.build, "FORMATS", formats)
    monkeypatch.setenv("KB_JOBS", "2")
    monkeypatch.setattr(kb.fast.early, "EARLY_MIN_RECORDS", 0)
    _as_in_kb_build(monkeypatch)
    claim = base / "claims" / "c000003.yaml"
    claim.write_text(claim.read_text().replace('statement: "', 'statement: "Edited. ', 1))
    with pytest.raises(OSError, match="No space left"):
        build(base, site, log=lambda _line: None)
    assert _tree(site) == before
    assert not list(tmp_path.glob(".site.kb-new-*"))


def test_a_process_that_builds_again_and_again_keeps_nothing_frozen(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build freezes what it loaded (kept out of collections and of forked workers' pages)
    and unfreezes it when it ends, failed or not: frozen objects are never collected, so the
    reference cycles of each build would stay for the life of a long-running process."""
    import gc
    import shutil

    synthetic = Path(shutil.copytree(synthetic, tmp_path / "kb"))  # edited below
    cache: dict[str, object] = {}
    assert build(synthetic, tmp_path / "site", log=lambda _line: None).exit_code == 0
    assert gc.get_freeze_count() == 0
    assert (
        build(synthetic, tmp_path / "site", log=lambda _line: None, parse_cache=cache).exit_code
        == 0
    )
    assert gc.get_freeze_count() == 0

    def broken(*_args: object, **_kw: object) -> None:
        raise KBError("a page failed")

    monkeypatch.setattr("kb.site.render.render_page", broken)
    (synthetic / "claims" / "c000003.yaml").write_text(
        (synthetic / "claims" / "c000003.yaml").read_text() + "\n# edited\n"
    )
    with pytest.raises(KBError, match="a page failed"):
        build(synthetic, tmp_path / "site", log=lambda _line: None, parse_cache=cache)
    assert gc.get_freeze_count() == 0
