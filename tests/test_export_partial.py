"""`kb export` with a broken record: the rest is written and the broken file listed, unless
--strict, which writes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from citedata import write_kb
from conftest import RunKB


def _base(tmp_path: Path) -> Path:
    root = write_kb(tmp_path / "kb", {"s1": {"type": "book", "title": "A book", "issued": "2020"}})
    (root / "claims").mkdir()
    (root / "claims" / "good.yaml").write_text(
        "statement: A claim that loads\nevidence:\n  - {source: s1, stance: supports}\n"
    )
    (root / "claims" / "broken.yaml").write_text("statement: [\n")
    return root


def test_export_writes_what_loaded_and_lists_what_was_left_out(
    tmp_path: Path, run_kb: RunKB
) -> None:
    root = _base(tmp_path)
    out = tmp_path / "claims.csv"
    r = run_kb("-C", root, "export", "csv", "-o", out)
    assert r.code == 1
    assert "claims/broken.yaml:2:1: error:" in r.err
    assert "left out: claims/broken.yaml" in r.err
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [row["id"] for row in rows] == ["good"]


def test_strict_export_writes_nothing(tmp_path: Path, run_kb: RunKB) -> None:
    root = _base(tmp_path)
    out = tmp_path / "refs.bib"
    r = run_kb("-C", root, "export", "bibtex", "--strict", "-o", out)
    assert r.code == 1 and "nothing written (--strict)" in r.err
    assert not out.exists()


def test_an_export_never_replaces_the_bases_own_files(tmp_path: Path, run_kb: RunKB) -> None:
    """-o naming kb.yaml, a record or anything in the record folders or the cache is refused
    (exit 2) with the files as they were; a pipe is not written to; an existing export is
    replaced whole, keeping its permissions."""
    import os
    import stat

    root = _base(tmp_path)
    (root / "kb.yaml").write_text("title: Mine\n", encoding="utf-8")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for target in (root / "kb.yaml", root / "claims" / "good.yaml", root / "sources" / "x.json"):
        r = run_kb("-C", root, "export", "csl-json", "-o", target)
        assert r.code == 2 and "own files" in r.err
    r = run_kb("-C", root, "export", "sqlite", "-o", root / "kb.yaml")
    assert r.code == 2 and "own files" in r.err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    fifo = tmp_path / "refs.json"
    os.mkfifo(fifo)
    r = run_kb("-C", root, "export", "csl-json", "-o", fifo)
    assert r.code == 2 and "not a regular file" in r.err
    out = tmp_path / "out.json"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o640)
    r = run_kb("-C", root, "export", "csl-json", "-o", out)
    assert r.code == 1 and out.read_text("utf-8").startswith("[")  # 1: broken.yaml left out
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kb-export-")] == []
