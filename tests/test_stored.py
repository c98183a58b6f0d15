"""Readings kept between processes (kb.fast.stored): a `kb build` in a fresh process after
edits gives the same site, byte for byte, as a clean build; a damaged, forged or foreign store
is ignored with a message."""

from __future__ import annotations

import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from conftest import cycles_made
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.build import build
from kb.fast.checkstore import FILE_NAME as CHECKS
from kb.fast.stored import FILE_NAME, Stored
from kb.reading.load import load_kb

ROOT = Path(__file__).resolve().parent.parent
# A file changed less than this before it was read has no trusted stamp and is not stored
# (kb.reading.files._RACY_NS): the tests let the files they want stored age this long.
SETTLE = 3.2


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


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


def _age(root: Path) -> None:
    """Let every file of the base stand unchanged long enough to be stored."""
    newest = max(p.stat().st_ctime for p in root.rglob("*") if p.is_file())
    time.sleep(max(0.0, newest + SETTLE - time.time()))


def _clean(root: Path, out: Path) -> tuple[int, dict[str, bytes]]:
    """A clean build of `root` into `out` (no stored readings nor check findings: they are
    moved aside and put back)."""
    stores = [root / ".kb-cache" / name for name in (FILE_NAME, CHECKS)]
    aside = [root.parent / f"store-aside-{i}" for i in range(len(stores))]
    for store, away in zip(stores, aside, strict=True):
        if store.exists():
            shutil.move(store, away)
    try:
        code = build(root, out, log=lambda _line: None).exit_code
    finally:
        for store, away in zip(stores, aside, strict=True):
            store.unlink(missing_ok=True)
            if away.exists():
                shutil.move(away, store)
    return code, _tree(out) if out.exists() else {}


def _used(root: Path) -> tuple[int, int]:
    """(stored readings used, files read) by a load of `root` now, in this process."""
    stored = Stored(root, lambda _line: None)
    used: list[str] = []
    start = stored.start

    def counting(paths: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
        source = start(paths)
        get = source.get  # type: ignore[union-attr]

        def get_counted(i: int):  # type: ignore[no-untyped-def]
            got = get(i)
            if paths[i][0] not in stored.fresh:
                used.append(paths[i][0])
            return got

        source.get = get_counted  # type: ignore[union-attr,method-assign]
        return source

    load_kb(root, helper=counting)
    return len(used), len(stored.fresh)


KINDS = ["statement", "comment", "topic", "add", "touch", "expert", "broken"]


def _random_edit(rng: random.Random, root: Path, step: int, kind: str) -> str:
    claims = sorted((root / "claims").glob("*.yaml"))
    path = rng.choice(claims)
    text = path.read_text(encoding="utf-8")
    if kind == "statement":
        text = text.replace('statement: "', f'statement: "Edit {step}. ', 1)
    elif kind == "comment":
        text += f"# note {step}\n"
    elif kind == "topic":
        text = text.replace('topics: ["', f'topics: ["topic {step}", "', 1)
    elif kind == "add":
        path = root / "claims" / f"c9{step:05}.yaml"
    elif kind == "expert":
        path = rng.choice(sorted((root / "experts").glob("*.yaml")))
        text = path.read_text(encoding="utf-8").replace("name: ", f"name: Dr{step} ", 1)
    elif kind == "broken":
        text = text.replace("statement:", "statement: [", 1)  # a YAML error: nothing is built
    path.write_text(text, encoding="utf-8")  # "touch": the same bytes, a new stamp
    return f"{kind} {path.name}"


def test_fresh_process_builds_after_random_edits_equal_clean_builds(
    synthetic: Path, tmp_path: Path
) -> None:
    rng = random.Random(19)
    site, clean = tmp_path / "site", tmp_path / "clean"
    _age(synthetic)
    first = _kb("-C", synthetic, "build", "--out", site)
    assert first.returncode == 0, first.stderr
    files = len(list(synthetic.glob("*/*.yaml")))
    assert _used(synthetic) == (files, 0)  # every reading stored, and used as it is
    broken = None
    plan = rng.sample(KINDS, len(KINDS)) + rng.choices(KINDS, k=5)  # each kind at least once
    for step in range(5):
        n = rng.randint(2, 3) if step < 4 else len(plan)
        kinds, plan = plan[:n], plan[n:]
        done = [_random_edit(rng, synthetic, step, kind) for kind in kinds]
        if broken is not None and rng.random() < 0.7:  # mend the broken file, mostly
            broken.write_text(broken.read_text().replace("statement: [", "statement:", 1))
        broken = next(
            (synthetic / "claims" / d.split()[1] for d in done if d.startswith("broken")), None
        )
        if step == 2:
            _age(synthetic)  # the edited files are stored too this time
        inc = _kb("-C", synthetic, "build", "--out", site)
        code, want = _clean(synthetic, clean)
        assert inc.returncode == code, (done, inc.stderr)
        if code == 0:
            assert _tree(site) == want, done
        shutil.rmtree(clean, ignore_errors=True)
    used, read = _used(synthetic)
    assert used > files // 2 and used + read == len(list(synthetic.glob("*/*.yaml")))


@pytest.mark.parametrize("damage", ["garbage", "version", "row", "link"])
def test_a_damaged_or_foreign_store_is_ignored(
    synthetic: Path, tmp_path: Path, damage: str
) -> None:
    _age(synthetic)
    assert _kb("-C", synthetic, "build", "--out", tmp_path / "site").returncode == 0
    store = synthetic / ".kb-cache" / FILE_NAME
    assert store.is_file()
    if damage == "garbage":
        store.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    elif damage == "version":
        with sqlite3.connect(store) as db:
            db.execute("UPDATE meta SET value = 'other' WHERE key = 'version'")
    elif damage == "row":  # a forged reading: not JSON of the expected form
        with sqlite3.connect(store) as db:
            db.execute("UPDATE readings SET reading = '{\"a\": 1}'")
    else:  # the cache folder is a link that leads elsewhere: it is neither read nor written
        elsewhere = tmp_path / "elsewhere"
        shutil.move(synthetic / ".kb-cache", elsewhere)
        (synthetic / ".kb-cache").symlink_to(elsewhere, target_is_directory=True)
        before = (elsewhere / FILE_NAME).read_bytes()
        (synthetic / "claims" / "c000001.yaml").write_text(
            (synthetic / "claims" / "c000001.yaml").read_text() + "# edited\n"
        )
    run = _kb("-C", synthetic, "build", "--out", tmp_path / "site")
    assert run.returncode == 0, run.stderr
    if damage == "garbage":
        assert f"{FILE_NAME} cannot be read" in run.stderr
    elif damage == "version":
        assert "made by another version of kb" in run.stderr
    else:
        assert "Traceback" not in run.stderr and FILE_NAME not in run.stderr
    code, want = _clean(synthetic, tmp_path / "clean")
    assert code == 0 and _tree(tmp_path / "site") == want
    if damage == "link":
        assert (tmp_path / "elsewhere" / FILE_NAME).read_bytes() == before
    else:  # made again, and used by the next run
        files = len(list(synthetic.glob("*/*.yaml")))
        assert _used(synthetic) == (files, 0)


def test_a_long_running_process_keeps_the_store(synthetic: Path, tmp_path: Path) -> None:
    """`kb serve` builds from its own parse cache: the store is neither read nor emptied."""
    _age(synthetic)
    assert _kb("-C", synthetic, "build", "--out", tmp_path / "site").returncode == 0
    cache: dict[str, Any] = {}
    for _ in range(2):
        assert build(synthetic, tmp_path / "site", log=print, parse_cache=cache).exit_code == 0
    files = len(list(synthetic.glob("*/*.yaml")))
    assert _used(synthetic) == (files, 0)


READINGS = [  # (text of a file, whether its reading is kept)
    ("a: 1\nb: [x, 2.5, true, null]\nc: {d: [[e]]}\n", True),
    ("1: one\n2024-01-02: x\n", True),  # kb's reader keeps keys and dates as text
    ("a: .nan\n", False),
    ("a: [-.inf]\n", False),
    ("a: " + "[" * 70 + "x" + "]" * 70 + "\n", False),  # deeper than kept
]


def test_only_readings_that_json_gives_back_exactly_are_kept(tmp_path: Path) -> None:
    """A reading is kept only when JSON gives back exactly its value (types, keys, order);
    what is kept is read back as the same value, with its marks."""
    from kb.fast.stored import _decode, _encode
    from kb.reading.files import reading

    for k, (text, _) in enumerate(READINGS):
        (tmp_path / f"r{k}.yaml").write_text(text, encoding="utf-8")
    _age(tmp_path)
    for k, (text, stored) in enumerate(READINGS):
        got = reading(f"r{k}.yaml", str(tmp_path / f"r{k}.yaml"))
        assert got is not None and got[1] is not None
        row = _encode(got)
        assert (row is not None) == stored, text
        if row is not None:
            digest, doc, _stamp = _decode(*row)
            assert digest == got[0] and doc.value == got[1].value
            assert list(doc.marks) == list(got[1].marks)


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down and keys in the same order (`==` alone
    takes True for 1 and 1 for 1.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is float and a != a:  # NaN: never stored, never compared
        return False
    return bool(a == b) and (type(a) is not float or str(a) == str(b))  # -0.0 is not 0.0


def _finite(value: Any) -> bool:
    """No float in `value` is NaN or infinite."""
    if type(value) is dict:
        return all(_finite(v) for v in value.values())
    if type(value) is list:
        return all(_finite(v) for v in value)
    return type(value) is not float or math.isfinite(value)


_SCALARS = (
    st.text(max_size=12)
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
    | st.sampled_from(["yes", "no", "~", "0x1F", "1_000", "2024-01-02", "1e3", ".5", "-0.0"])
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=8), _TREES, min_size=1, max_size=5), st.booleans())
def test_what_is_stored_is_read_back_exactly(tree: dict[str, Any], flow: bool) -> None:
    """Whatever kb's reader reads completely from YAML is stored only when JSON gives it back
    with the same types, keys in the same order, and the same marks; a value JSON cannot give
    back (a float that is not finite) is not stored. `_encode` trusts the reader for this
    without walking the value: this checks that trust."""
    import yaml

    from kb.fast.stored import _decode, _encode
    from kb.reading.yamlio import read_yaml

    doc = read_yaml(yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True))
    assert doc.ok and not doc.issues
    row = _encode(("d" * 40, doc, b"stamp"))
    assert (row is not None) == _finite(doc.value)
    if row is not None:
        _digest, back, _stamp = _decode(*row)
        assert _same(back.value, doc.value)
        assert list(back.marks.items()) == list(doc.marks.items())


def _loaded(root: Path, helper: Any = None) -> tuple[object, ...]:
    """Load `root` (through `helper`, e.g. a store's StartHelper): the records, their marks,
    the digests and the problems."""
    kb, found = load_kb(root, helper=helper)
    marks = {cid: dict(c.where.marks) for cid, c in kb.claims.items()}
    return kb.claims, kb.sources, kb.experts, kb.digests, marks, found


def _load_with_store(root: Path) -> tuple[tuple[object, ...], Stored]:
    """Load `root` through its store; what was loaded (see `_loaded`) and the store (its
    `fresh` readings are those to be stored again)."""
    stored = Stored(root, lambda _line: None)
    return _loaded(root, stored.start), stored


def _helper_does_all(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Force the loader's helper on (a small base has none) and let it take every chunk;
    return the list the number of readings of each chunk it sends is appended to."""
    import kb.fast.parsehelper as ph

    sent: list[int] = []
    unpack = ph.ParseHelper._unpack

    def spy(helper: ph.ParseHelper, chunk: int) -> Any:
        got = unpack(helper, chunk)
        sent.append(len(got or ()))
        return got

    monkeypatch.setattr(ph, "may_fork", lambda files: True)
    monkeypatch.setattr(ph.ParseHelper, "_unpack", spy)
    monkeypatch.setattr(ph.ParseHelper, "_claim", lambda helper: None)
    return sent


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork()")
@pytest.mark.parametrize("change", ["none", "edit", "damage"])
def test_the_load_helper_makes_stored_readings_too(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """In a base large enough for the loader's helper process (kb.fast.parsehelper), the
    helper turns stored readings back into readings, besides reading the changed files: what
    is loaded is what a load with no store gives, and only the changed or damaged files'
    readings are stored again."""
    import kb.fast.parsehelper as ph

    _age(synthetic)
    _, first = _load_with_store(synthetic)
    first.save()
    claim = synthetic / "claims" / "c000003.yaml"
    if change == "edit":
        claim.write_text(claim.read_text().replace('statement: "', 'statement: "Edited. ', 1))
        _age(synthetic)  # else it is read again next time, not stored (see SETTLE)
    elif change == "damage":
        with sqlite3.connect(synthetic / ".kb-cache" / FILE_NAME) as db:
            db.execute("UPDATE readings SET reading = '[1]' WHERE rel = 'claims/c000003.yaml'")
    want = _loaded(synthetic)  # no store: every file read
    unpacked = _helper_does_all(monkeypatch)
    if change == "none":  # the helper reads no file: every reading comes from the store
        monkeypatch.setattr(ph, "_read_for_helper", lambda path, rel: 1 / 0)
    got, stored = _load_with_store(synthetic)
    assert got == want
    assert sum(unpacked) == len(list(synthetic.glob("*/*.yaml")))  # all made by the helper
    assert sorted(stored.fresh) == ([] if change == "none" else ["claims/c000003.yaml"])
    if change != "none":
        assert stored.fresh["claims/c000003.yaml"] is not None  # stored again, and whole


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork()")
@pytest.mark.parametrize("failure", ["raise", "exit", "hang"])
def test_a_helper_that_fails_on_stored_readings_falls_back(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """The helper fails (raises, exits or hangs) after a few stored readings: the loading
    process turns the others back itself; what is loaded is the same, and nothing is stored
    again (every file was unchanged)."""
    import kb.fast.parsehelper as ph
    import kb.fast.stored as st

    _age(synthetic)
    _, first = _load_with_store(synthetic)
    first.save()
    want, _ = _load_with_store(synthetic)  # no helper: a small base
    parent, real, calls = os.getpid(), st._recall, [0]

    def failing(row: Any) -> Any:
        if os.getpid() != parent:  # in the helper
            calls[0] += 1
            if calls[0] > 5:
                if failure == "raise":
                    raise RuntimeError("boom")
                if failure == "exit":
                    os._exit(0)
                time.sleep(60)
        return real(row)

    monkeypatch.setattr(st, "_recall", failing)
    monkeypatch.setattr(ph, "_HELPER_WAIT", 1.0)
    monkeypatch.setattr(ph, "_CHUNK", 3)  # several chunks, some sent before the failure
    sent = _helper_does_all(monkeypatch)
    got, stored = _load_with_store(synthetic)
    assert got == want
    assert stored.fresh == {}
    assert sent and sum(sent) < len(list(synthetic.glob("*/*.yaml")))  # some, not all, sent


def test_reading_through_the_store_makes_no_reference_cycles(synthetic: Path) -> None:
    """A build pauses the cyclic collector and freezes what it loads (kb.fast.collector), so a
    reference cycle made per file would stay for the whole build (at 100,000 claims, about
    170 MB): storing every reading (a first load) and reading them back (a second) makes none."""
    _age(synthetic)
    files = len(list(synthetic.glob("*/*.yaml")))
    with cycles_made() as garbage:
        _, first = _load_with_store(synthetic)
        first.save()
        _, second = _load_with_store(synthetic)
        assert first.fresh and not second.fresh  # every reading stored, then every one read back
    made_by_kb = [
        o for o in garbage if isinstance(o, types.FunctionType) and o.__module__.startswith("kb")
    ]
    assert made_by_kb == []
    assert len(garbage) < files  # not one (or more) per file
