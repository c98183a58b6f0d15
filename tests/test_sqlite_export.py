"""`kb export sqlite`: tables, foreign keys and full-text search, and Datasette serving it with
its metadata.json (a real `datasette` process on a free port, queried through its JSON API)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from conftest import RunKB

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kb.cli import main

    out = tmp_path_factory.mktemp("db") / "kb.db"
    assert main(["-C", str(ROOT), "export", "sqlite", "-o", str(out)]) == 0
    return out


def test_tables_keys_and_search(exported: Path) -> None:
    from kb.reading.load import load_kb

    kb, _ = load_kb(ROOT)
    db = sqlite_utils.Database(exported)
    assert {"claims", "quotes", "evidence", "sources", "people", "reviews", "topics",
            "claim_topics"} <= set(db.table_names())  # fmt: skip
    assert db["claims"].count == len(kb.claims)
    assert db["quotes"].count == sum(len(c.quotes) for c in kb.claims.values())
    reviews = [r for c in kb.claims.values() if c.review for r in (c.review, *c.review.history)]
    assert db["reviews"].count == len(reviews)
    current = db.execute("select count(*) from reviews where current").fetchone()[0]
    assert current == sum(1 for c in kb.claims.values() if c.review)
    fks = {(f.column, f.other_table) for f in db["quotes"].foreign_keys}
    assert {("claim", "claims"), ("source", "sources"), ("speaker", "people")} <= fks
    assert {(f.column, f.other_table) for f in db["evidence"].foreign_keys} >= {
        ("claim", "claims"), ("source", "sources")}  # fmt: skip
    assert db.execute("pragma foreign_key_check").fetchall() == []
    for table in ("claims", "quotes", "reviews"):
        assert db[table].detect_fts() == f"{table}_fts"
    word = next(iter(kb.claims.values())).statement.split()[0].strip(",.;:")
    found = list(db.query("select rowid from claims_fts where claims_fts match ?", [word]))
    assert found


def test_review_history_has_a_row_each(tmp_path: Path, run_kb: RunKB) -> None:
    root = tmp_path / "kb"
    shutil.copytree(ROOT / "tests" / "data" / "valid", root)
    rapid = root / "claims" / "rapid-onset.yaml"
    text = rapid.read_text()
    assert "review:" in text
    rapid.write_text(
        text.rstrip("\n")
        + "\n  history:\n    - {verdict: unsupported, reviewer: ed-itor, date: 2025-12-01}\n"
    )
    r = run_kb("-C", root, "export", "sqlite", "-o", tmp_path / "kb.db")
    assert r.code == 0, r.err
    db = sqlite_utils.Database(tmp_path / "kb.db")
    rows = list(db.query("select verdict, current from reviews where claim = 'rapid-onset'"))
    assert [row["current"] for row in rows] == [1, 0]
    assert rows[1]["verdict"] == "unsupported"


def test_metadata_is_kept_when_not_ours(tmp_path: Path, run_kb: RunKB) -> None:
    (tmp_path / "metadata.json").write_text('{"title": "mine"}')
    r = run_kb("-C", ROOT, "export", "sqlite", "-o", tmp_path / "kb.db")
    assert r.code == 0
    assert json.loads((tmp_path / "metadata.json").read_text()) == {"title": "mine"}
    assert json.loads((tmp_path / "kb.metadata.json").read_text())["source"] == "kb export sqlite"
    assert run_kb("-C", ROOT, "export", "sqlite").code == 2  # no -o: a usage error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def datasette(exported: Path) -> Iterator[str]:
    port = _free_port()
    meta = exported.parent / "metadata.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasette", str(exported), "-m", str(meta), "-p", str(port),
         "-h", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (or exits): readiness, not a time bound
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
            try:
                urllib.request.urlopen(url + "/-/versions.json", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def test_datasette_serves_tables_facets_and_canned_queries(datasette: str) -> None:
    claims = _get(datasette + "/kb/claims.json?_shape=objects&_size=max")
    assert claims["rows"] and {"id", "statement", "verdict"} <= set(claims["rows"][0])
    facets = claims["facet_results"]
    facets = facets.get("results", facets)  # Datasette 1.0 nests them
    verdicts = {v["value"] for v in facets["verdict"]["results"]}
    assert verdicts >= {"accurate", "misleading"}
    quotes = _get(datasette + "/kb/quotes.json?_shape=objects")
    qf = quotes["facet_results"]
    assert {"speaker", "source"} <= set(qf.get("results", qf))
    evidence = _get(datasette + "/kb/evidence.json?_shape=objects")
    ef = evidence["facet_results"]
    assert "evidence_level" in ef.get("results", ef)
    canned = _get(datasette + "/kb/misleading_claims_evidence.json?_shape=objects")
    assert canned["rows"]
    assert {r["verdict_label"] for r in canned["rows"]} <= {"Misleading", "Inaccurate"}
    assert any(r["source"] for r in canned["rows"])
    found = _get(datasette + "/kb/quotes.json?_search=ketamine&_shape=objects")
    assert found["rows"] and all("ketamine" in r["text"].lower() for r in found["rows"])
    meta = _get(datasette + "/-/metadata.json")
    assert meta["databases"]["kb"]["queries"]["misleading_claims_evidence"]["title"]
