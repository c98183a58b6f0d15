"""The build's pipeline: citations formatted beside the checks (in a thread or a forked process),
pages written by this process and forked workers; the same site either way."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import generate_kb

import kb.build
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
