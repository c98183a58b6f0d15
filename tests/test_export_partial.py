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
