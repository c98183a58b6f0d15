"""The site-wide outputs' pieces kept between processes (kb.fast.pieces): a `kb build` in a new
process after an edit makes only the changed records' pieces of the exports, the search index
and the graph data, and writes the same site, byte for byte, as a clean build; a damaged or
foreign store, or one that came with a copied base, is not used."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import cycles_made, generate_kb
from test_build_pipeline import _as_in_kb_build, _early_starts

import kb.fast.early
from kb.build import build
from kb.fast.pieces import FILE_NAME


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _build(root: Path, out: Path, said: list[str] | None = None) -> None:
    """`kb build` as a new process makes it (no memory kept in this one)."""
    log = said.append if said is not None else (lambda _line: None)
    assert build(root, out, log=log).exit_code == 0


def _clean(root: Path, out: Path) -> dict[str, bytes]:
    """A clean build of `root`: no previous site, so no pieces used or kept."""
    shutil.rmtree(out, ignore_errors=True)
    _build(root, out)
    return _tree(out)


def _rows(root: Path) -> dict[tuple[str, str], int]:
    """{(part, name): rowid} of the store: a row written again gets a new rowid."""
    with sqlite3.connect(root / ".kb-cache" / FILE_NAME) as db:
        return {(p, n): r for p, n, r in db.execute("SELECT part, node, rowid FROM pieces")}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _statement(root: Path) -> None:
    _edit(root / "claims" / "c000003.yaml", 'statement: "', 'statement: "Edited. ')


def _verdict(root: Path) -> None:
    path = root / "claims" / "c000004.yaml"
    verdict = next(ln for ln in path.read_text().splitlines() if "verdict:" in ln)
    other = "supported" if "unsupported" in verdict else "unsupported"
    _edit(path, verdict, f"  verdict: {other}")


def _related(root: Path) -> None:  # the graph's edges change
    _edit(root / "claims" / "c000005.yaml", "relation: refines", "relation: contradicts")


def _cites(root: Path) -> None:  # a rationale cites a source: its page shows the claim
    _edit(root / "claims" / "c000003.yaml", 'rationale: "', 'rationale: "See [@s000001]. ')


def _source(root: Path) -> None:  # the world changes: every claim review shows its sources
    _edit(root / "sources" / "s000000.yaml", 'title: "', 'title: "Retitled ')


def _expert(root: Path) -> None:
    _edit(root / "experts" / "e000000.yaml", "name: ", "name: Dr ")


def _config(root: Path) -> None:
    _edit(root / "kb.yaml", "title: ", "title: Renamed ")


def _gone(root: Path) -> None:  # a claim and its node go
    (root / "claims" / "c000007.yaml").unlink()
    for path in (root / "claims").glob("*.yaml"):
        text = path.read_text()
        if "claim: c000007" in text:  # related to another claim instead (not to itself)
            other = "c000008" if path.stem != "c000008" else "c000009"
            path.write_text(text.replace("claim: c000007", f"claim: {other}"))


def _added(root: Path) -> None:
    shutil.copy(root / "claims" / "c000009.yaml", root / "claims" / "c900000.yaml")


EDITS: dict[str, Callable[[Path], None]] = {
    "statement": _statement,
    "verdict": _verdict,
    "related": _related,
    "cites": _cites,
    "source": _source,
    "expert": _expert,
    "config": _config,
    "gone": _gone,
    "added": _added,
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_kb(tmp_path_factory.mktemp("pieces") / "kb")


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_rebuild_from_the_pieces_equals_a_clean_build(
    base: Path, tmp_path: Path, edit: str
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(base, root)
    site = tmp_path / "site"
    _build(root, site)  # a first build: no pieces
    assert not (root / ".kb-cache" / FILE_NAME).exists()
    _build(root, site)  # over the previous site: every piece made and kept
    before = _rows(root)
    parts = {p for p, _ in before}
    assert {"export:exports/claims.csv", "assets/search", "assets/graph"} <= parts
    EDITS[edit](root)
    _build(root, site)
    assert _tree(site) == _clean(root, tmp_path / "clean")
    after = _rows(root)
    again = {k for k, r in after.items() if before.get(k) != r}  # written this time
    if edit == "statement":  # only the edited claim's pieces, and the word index
        assert {p for p, n in again if n not in ("", "claim:c000003", "c000003")} == set()
        assert ("assets/search", "claim:c000003") in again
        assert ("export:exports/claims.csv", "c000003") in again
        assert ("assets/graph", "") not in again  # the same nodes and edges
        assert ("page-orders", "") not in again
    if edit in ("related", "cites"):  # the pages show other nodes: their orders made again
        assert ("page-orders", "") in again
    if edit == "related":
        assert ("assets/graph", "") in again
    if edit == "source":  # every claim review shows the sources: all made again
        lines = [k for k in again if k[0] == "export:exports/claimreview.jsonld/lines"]
        assert len(lines) == sum(1 for p, _ in before if p.endswith("/lines"))
    # a second edit, built from the pieces kept by the rebuild
    _statement(root)
    _build(root, site)
    assert _tree(site) == _clean(root, tmp_path / "clean")


def test_the_exports_made_early_keep_their_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a large base the exports are made by a forked process (kb.fast.early) and the assets
    by forked workers: they read and keep their pieces there, with the same site."""
    root = generate_kb(tmp_path / "kb")
    monkeypatch.setenv("KB_JOBS", "2")
    _as_in_kb_build(monkeypatch)
    monkeypatch.setattr(kb.fast.early, "EARLY_MIN_RECORDS", 0)
    monkeypatch.setattr("kb.fast.workers.PARALLEL_MIN", 0)
    started = _early_starts(monkeypatch)
    site = tmp_path / "site"
    _build(root, site)
    _build(root, site)
    before = _rows(root)
    _statement(root)
    _build(root, site)
    assert started == [True, True, True]
    after = _rows(root)
    again = {k for k, r in after.items() if before.get(k) != r}
    assert ("export:exports/kb.bib", "source:s000000") not in again
    assert ("export:exports/claims.csv", "c000003") in again
    assert ("assets/search", "claim:c000003") in again
    monkeypatch.setattr(kb.fast.early, "EARLY_MIN_RECORDS", 10**9)
    assert _tree(site) == _clean(root, tmp_path / "clean")


def _forge(root: Path, text: str) -> None:
    """Put `text` into the stored search entry of claim c000001."""
    with sqlite3.connect(root / ".kb-cache" / FILE_NAME) as db:
        (value,) = db.execute(
            "SELECT value FROM pieces WHERE part = 'assets/search' AND node = 'claim:c000001'"
        ).fetchone()
        db.execute(
            "UPDATE pieces SET value = ? WHERE part = 'assets/search' AND node = 'claim:c000001'",
            (value.replace('"claim",', f'"claim","{text}",', 1),),
        )


def test_a_store_is_used_only_in_the_base_it_was_written_in(base: Path, tmp_path: Path) -> None:
    """The pieces go into the site as they are kept (a changed one shows): so a store that came
    with a copied base, whose files have other stamps, is not used, and is made again."""
    root = tmp_path / "kb"
    shutil.copytree(base, root)
    site = tmp_path / "site"
    _build(root, site)
    _build(root, site)
    _forge(root, "FORGED")
    _statement(root)
    _build(root, site)
    assert b"FORGED" in (site / "search-index.js").read_bytes()  # this base's store: used

    copy = tmp_path / "copy"
    shutil.copytree(root, copy)  # the forged store comes with it
    shutil.copytree(site, tmp_path / "copy-site")
    _statement(copy)
    said: list[str] = []
    _build(copy, tmp_path / "copy-site", said)
    assert b"FORGED" not in (tmp_path / "copy-site" / "search-index.js").read_bytes()
    assert not any(FILE_NAME in line for line in said)  # quietly made again
    assert _tree(tmp_path / "copy-site") == _clean(copy, tmp_path / "clean")
    assert ("assets/search", "claim:c000001") in _rows(copy)


@pytest.mark.parametrize(
    "damage", ["garbage", "version", "anchors", "row", "orders", "link", "folder", "cache-file"]
)
def test_a_damaged_or_foreign_store_is_not_used(base: Path, tmp_path: Path, damage: str) -> None:
    root = tmp_path / "kb"
    shutil.copytree(base, root)
    site = tmp_path / "site"
    _build(root, site)
    _build(root, site)
    store = root / ".kb-cache" / FILE_NAME
    elsewhere = tmp_path / "elsewhere.sqlite3"
    if damage == "garbage":
        store.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    elif damage == "version":
        with sqlite3.connect(store) as db:
            db.execute("UPDATE meta SET value = 'other' WHERE key = 'version'")
    elif damage == "anchors":  # nested deeper than JSON is read
        with sqlite3.connect(store) as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'anchors'", ("[" * 100_000,))
    elif damage == "row":  # a stored entry of the wrong type: its part is made again
        with sqlite3.connect(store) as db:
            db.execute("UPDATE pieces SET extra = NULL WHERE part = 'assets/search'")
    elif damage == "orders":  # a page's dependency past the graph's nodes
        with sqlite3.connect(store) as db:
            db.execute(
                "UPDATE pieces SET value = '{\"claims/c000001.html\": [99999]}' "
                "WHERE part = 'page-orders'"
            )
    elif damage == "link":  # a link to elsewhere: neither read nor written through
        shutil.move(store, elsewhere)
        store.symlink_to(elsewhere)
    elif damage == "folder":
        store.unlink()
        store.mkdir()
    else:  # the cache folder is a file: nothing can be kept, and that is said once
        shutil.rmtree(store.parent)
        store.parent.write_text("not a folder")
    before = elsewhere.read_bytes() if damage == "link" else b""
    _statement(root)
    said: list[str] = []
    _build(root, site, said)
    assert _tree(site) == _clean(root, tmp_path / "clean")
    text = "\n".join(said)
    assert "Traceback" not in text
    if damage in ("garbage", "anchors"):
        assert f"{FILE_NAME} cannot be read" in text
    elif damage == "version":
        assert "made by another version of kb" in text
    elif damage == "row":
        assert "the pieces of assets/search are damaged: made again" in text
    elif damage == "orders":
        assert "the page orders are damaged: made again" in text
    elif damage == "cache-file":
        assert text.count(".kb-cache is not a folder: output pieces are not kept") == 1
    else:
        assert f"{FILE_NAME} is not a file: output pieces are not kept" in text
    if damage == "link":
        assert elsewhere.read_bytes() == before
    elif damage not in ("folder", "cache-file"):  # made again, and used by the next build
        _statement(root)
        said.clear()
        _build(root, site, said)
        assert not any(FILE_NAME in line for line in said)
        assert ("assets/search", "claim:c000003") in _rows(root)
        assert _tree(site) == _clean(root, tmp_path / "clean")


def test_a_rebuild_from_the_pieces_leaves_no_reference_cycles(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build pauses the cyclic collector and freezes what it makes (kb.fast.collector): a memo
    of the pieces that made a cycle with its store would keep every piece it read to the end.
    A rebuild in this process (no workers) leaves no cycle of kb's."""
    root = tmp_path / "kb"
    shutil.copytree(base, root)
    site = tmp_path / "site"
    _build(root, site)
    _build(root, site)  # every piece made and kept
    _statement(root)
    monkeypatch.setenv("KB_JOBS", "1")
    said: list[str] = []
    with cycles_made() as garbage:
        _build(root, site, said)
    assert (root / ".kb-cache" / FILE_NAME).exists() and not [
        s for s in said if s.startswith("kb:")
    ]
    assert [o for o in garbage if type(o).__module__.startswith("kb.")] == []
    assert len(garbage) < 100
