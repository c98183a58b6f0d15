"""Check findings kept between processes (kb.fast.checkstore): `kb check` in a fresh process
after edits reports exactly what a run without the store reports, checks again only the claims
that changed, and ignores a damaged, forged or foreign store with a message."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kb.fast.checkstore import FILE_NAME, CheckStore
from kb.fast.replay import FILE_NAME as REPLAY
from kb.reading.load import load_kb

ROOT = Path(__file__).resolve().parent.parent


def _kb(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`kb ARGS` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "kb", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _check(root: Path) -> tuple[int, str]:
    # the whole result of the last run is not replayed (kb.fast.replay): the store is tested
    (root / ".kb-cache" / REPLAY).unlink(missing_ok=True)
    run = _kb("-C", root, "check", "--format", "json")
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, run.stdout


def _without_store(root: Path) -> tuple[int, str]:
    """`kb check` with the store moved aside (and put back): every claim checked."""
    store = root / ".kb-cache" / FILE_NAME
    aside = root.parent / "checks-aside"
    if store.exists():
        shutil.move(store, aside)
    try:
        return _check(root)
    finally:
        store.unlink(missing_ok=True)
        if aside.exists():
            shutil.move(aside, store)


def _to_check(root: Path) -> list[str] | None:
    """The claims a check of `root` now would check again (None: all of them)."""
    kb, _ = load_kb(root)
    return CheckStore(root, lambda _line: None).recall(kb).changed


def _edit(rng: random.Random, root: Path, step: int, kind: str) -> str:
    """Edit the base in one way; return what was done."""
    claims = sorted((root / "claims").glob("*.yaml"))
    path = rng.choice(claims)
    text = path.read_text(encoding="utf-8")
    if kind == "statement":
        text = text.replace('statement: "', f'statement: "Edit {step}. ', 1)
    elif kind == "quote":  # the quote's words are no longer in the snapshot
        text = text.replace('- text: "', f'- text: "Never said {step} ', 1)
    elif kind == "comment":
        text += f"# note {step}\n"
    elif kind == "add":
        path = root / "claims" / f"c9{step:05}.yaml"
    elif kind == "remove":
        path.unlink()
        return f"{kind} {path.name}"
    elif kind == "source":
        path = rng.choice(sorted((root / "sources").glob("*.yaml")))
        text = path.read_text(encoding="utf-8").replace("title: ", f"title: T{step} ", 1)
    elif kind == "snapshot":  # a quoted passage cut out of the archived text
        path = rng.choice(sorted((root / "sources").glob("*.txt")))
        words = path.read_text(encoding="utf-8").split()
        text = " ".join(words[: len(words) // 3] + words[len(words) // 3 + 40 :]) + "\n"
    elif kind == "expert":
        path = rng.choice(sorted((root / "experts").glob("*.yaml")))
        text = path.read_text(encoding="utf-8").replace("name: ", f"name: Dr{step} ", 1)
    elif kind == "config":
        path = root / "kb.yaml"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        off = "severity: {unreviewed: off}\n"
        text = old.replace(off, "") if off in old else old + off
    path.write_text(text, encoding="utf-8")
    return f"{kind} {path.name}"


CLAIM_EDITS = ["statement", "quote", "comment"]
WORLD_EDITS = ["add", "remove", "source", "snapshot", "expert", "config"]


def test_fresh_checks_after_random_edits_equal_full_checks(synthetic: Path) -> None:
    rng = random.Random(20)
    assert _to_check(synthetic) is None  # no store yet
    first = _check(synthetic)
    assert first == _without_store(synthetic)
    assert _to_check(synthetic) == []  # every claim's findings stored
    # steps that edit claims only, and steps that also change what every claim's findings
    # depend on (kb.yaml, a source or snapshot, an expert, the claim ids), in turn
    world = rng.sample(WORLD_EDITS, len(WORLD_EDITS))
    for step in range(2 * len(world)):
        kinds = rng.choices(CLAIM_EDITS, k=2) if step % 2 == 0 else [world[step // 2]]
        done = [_edit(rng, synthetic, step, kind) for kind in kinds]
        again = _to_check(synthetic)
        if step % 2:
            assert again is None, done
        else:  # only the edited claims are checked again
            edited = {d.split()[1].removesuffix(".yaml") for d in done}
            assert again is not None and set(again) == edited, done
        got = _check(synthetic)
        assert got == _without_store(synthetic), done
        assert _to_check(synthetic) == [], done


@pytest.mark.parametrize("damage", ["garbage", "version", "json", "problem", "places", "link"])
def test_a_damaged_or_foreign_check_store_is_ignored(
    synthetic: Path, tmp_path: Path, damage: str
) -> None:
    want = _check(synthetic)
    store = synthetic / ".kb-cache" / FILE_NAME
    assert store.is_file()
    with sqlite3.connect(store) as db:
        claims = db.execute("SELECT count(*) FROM claims").fetchone()[0]
    if damage == "garbage":
        store.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    elif damage == "version":
        with sqlite3.connect(store) as db:
            db.execute("UPDATE meta SET value = 'other' WHERE key = 'version'")
    elif damage in ("json", "problem", "places"):  # rows this module does not write
        column, value = {
            "json": ("problems", "[[[["),
            "problem": ("problems", '[["claims/x.yaml", "1", 1, "c", "m", "fatal", null]]'),
            "places": ("places", '[[0, true, [[1, "2"]]], 7]'),
        }[damage]
        with sqlite3.connect(store) as db:
            db.execute(f"UPDATE claims SET {column} = ?", (value,))
    else:  # the cache folder is a link that leads elsewhere: neither read nor written
        elsewhere = tmp_path / "elsewhere"
        shutil.move(synthetic / ".kb-cache", elsewhere)
        (synthetic / ".kb-cache").symlink_to(elsewhere, target_is_directory=True)
        with sqlite3.connect(elsewhere / FILE_NAME) as db:
            db.execute("UPDATE claims SET problems = '[]'")  # would hide every finding
        before = (elsewhere / FILE_NAME).read_bytes()
    run = _kb("-C", synthetic, "check", "--format", "json")
    assert (run.returncode, run.stdout) == want, run.stderr
    assert "Traceback" not in run.stderr
    if damage == "garbage":
        assert f"{FILE_NAME} cannot be read" in run.stderr
    elif damage == "version":
        assert "made by another version of kb" in run.stderr
    if damage == "link":
        assert (tmp_path / "elsewhere" / FILE_NAME).read_bytes() == before
        assert _to_check(synthetic) is None
    else:  # made again (or its bad rows replaced), and used by the next run
        assert _to_check(synthetic) == []
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT count(*) FROM claims").fetchone()[0] == claims
        assert _check(synthetic) == want


def test_a_fresh_build_uses_the_store_and_equals_a_clean_build(
    synthetic: Path, tmp_path: Path
) -> None:
    """`kb build` in a fresh process checks only the edited claim and makes the same site."""
    assert _kb("-C", synthetic, "build", "--out", tmp_path / "site").returncode == 0
    assert _to_check(synthetic) == []
    claim = sorted((synthetic / "claims").glob("*.yaml"))[3]
    claim.write_text(claim.read_text().replace('statement: "', 'statement: "Edited. ', 1))
    assert _to_check(synthetic) == [claim.stem]
    inc = _kb("-C", synthetic, "build", "--out", tmp_path / "site")
    assert _to_check(synthetic) == []  # the build stored the edited claim's findings
    shutil.move(synthetic / ".kb-cache", tmp_path / "cache-aside")
    clean = _kb("-C", synthetic, "build", "--out", tmp_path / "clean")
    assert inc.returncode == clean.returncode == 0, inc.stderr
    site = {p.relative_to(tmp_path / "site"): p.read_bytes()
            for p in (tmp_path / "site").rglob("*") if p.is_file()}  # fmt: skip
    want = {p.relative_to(tmp_path / "clean"): p.read_bytes()
            for p in (tmp_path / "clean").rglob("*") if p.is_file()}  # fmt: skip
    assert site == want


def test_a_store_that_came_with_a_copied_base_is_not_used(synthetic: Path, tmp_path: Path) -> None:
    """A received base's store could say that nothing is wrong: its rows are used only while
    each claim's file has the stamp (inode, times) it had when kb wrote the row here."""
    want = _check(synthetic)
    assert '"code": "unreviewed"' in want[1] and _to_check(synthetic) == []
    copy = tmp_path / "received"
    shutil.copytree(synthetic, copy)
    with sqlite3.connect(copy / ".kb-cache" / FILE_NAME) as db:
        db.execute("UPDATE claims SET problems = '[]'")  # forged: no claim has a problem
    kb, _ = load_kb(copy)
    recalled = CheckStore(copy, lambda _line: None).recall(kb)
    assert recalled.changed == sorted(kb.claims)  # every claim is checked
    assert _check(copy) == want


def test_a_long_running_process_starts_from_the_store(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb serve`'s first build checks only the claims whose findings are not stored, and a
    build after a source changed brings the store up to date for the next `kb check`."""
    from typing import Any

    import kb.fast.checkmemory as checkmemory
    from kb.build import build

    _check(synthetic)  # stores every claim's findings
    scopes: list[Any] = []
    real = checkmemory.run_scoped

    def spy(ctx: Any, keep: bool = True) -> Any:
        if not ctx.across:
            scopes.append(None if ctx.scope is None else list(ctx.scope))
        return real(ctx, keep)

    monkeypatch.setattr(checkmemory, "run_scoped", spy)
    cache: dict[str, Any] = {}
    site = tmp_path / "site"
    assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
    assert scopes == [[]]  # no claim checked again
    source = sorted((synthetic / "sources").glob("*.yaml"))[0]
    source.write_text(source.read_text().replace("title: ", "title: New ", 1))
    assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
    assert scopes[-1] is None  # a source changed: every claim checked again
    assert _to_check(synthetic) == []  # the store holds the findings of the new world
    assert _check(synthetic) == _without_store(synthetic)
