"""Loading a large base: the helper process streams chunks of readings, the parse cache and the
marks keep no parsed values; the records, places and problems stay those of a serial load."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import fail_helper

import kb.fast.parsehelper as ph
import kb.reading.files as kf
from kb.model import Located
from kb.reading.load import load_kb
from kb.reading.yamlio import read_yaml

MakeKB = Callable[[dict[str, str | bytes]], Path]  # the make_kb fixture (conftest.py)

OK_TAIL = "evidence: [{source: s, stance: supports}]\nreview: {verdict: accurate, reviewer: r}\n"
FILES: dict[str, str | bytes] = {
    "sources/s.yaml": "type: article-journal\ntitle: S\nevidence_level: rct\n",
    "sources/t.yaml": "type: book\ntitle: T\nauthor: [{family: A}, B]\n",
    "experts/r.yaml": "name: R\n",
    "experts/q.yaml": "name: Q\nroles: [{title: x, bad: 1}]\n",
    **{
        f"claims/c{i:02}.yaml": f"statement: C{i}.\ntopics: [t{i % 3}]\n" + OK_TAIL
        for i in range(40)
    },
    "claims/c05.yaml": "statement: A.\nstatement: B.\n",
    "claims/c11.yaml": "statement: [unclosed\n",
    "claims/c17.yaml": b"statement: caf\xe9\n",
    "claims/c23.yaml": "statement: Z.\nquotes:\n  - {text: x}\n" + OK_TAIL,
    "claims/c29.yaml": "statement: Y.\nquotes:\n  - {text: x, source: nowhere, speaker: 5}\n",
    "claims/c31.yaml": "statement: X.\nrelated: [{claim: c00, relation: wrong}]\n" + OK_TAIL,
    "claims/c37.yaml": "",
    "claims/notes.txt": "stray\n",
    "sources/s.txt": "The words of S.\r\n",
    "sources/t.txt": b"caf\xe9\n",
    "sources/stray.txt": "no source names it\n",
}
FORK = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork()")


def load(root: Path, monkeypatch: pytest.MonkeyPatch, helper: bool) -> tuple[Any, ...]:
    monkeypatch.setattr(ph, "may_fork", lambda files: helper and hasattr(os, "fork"))
    monkeypatch.setattr(ph, "_CHUNK", 3)  # many chunks, shared between the two processes
    kb, found = load_kb(root, helper=ph.start)
    marks = {cid: dict(c.where.marks.items()) for cid, c in kb.claims.items()}
    return kb.claims, kb.sources, kb.experts, kb.digests, marks, [p.text() for p in found]


class Spy:
    """Count the chunks the parent took from the helper and those it read ahead."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.unpacked = 0
        self.ahead = 0
        unpack, take = ph.ParseHelper._unpack, ph.ParseHelper._take

        def spy_unpack(helper: ph.ParseHelper, c: int) -> Any:
            got = unpack(helper, c)
            self.unpacked += got is not None
            return got

        def spy_take(helper: ph.ParseHelper, c: int) -> Any:
            got = take(helper, c)
            self.ahead = max(self.ahead, len(helper.ahead))
            return got

        monkeypatch.setattr(ph.ParseHelper, "_unpack", spy_unpack)
        monkeypatch.setattr(ph.ParseHelper, "_take", spy_take)


@FORK
def test_chunks_shared_between_the_processes(
    make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_kb(FILES)
    serial = load(root, monkeypatch, helper=False)
    assert len(serial[5]) > 5
    for _ in range(3):  # who takes which chunk differs from run to run
        assert load(root, monkeypatch, helper=True) == serial


@FORK
def test_a_slow_helper_while_the_parent_reads_ahead(
    make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent reads chunks ahead while it waits for one of the helper's, and builds every
    record in file order.

    Deterministic, whatever the machine's load: the helper, having taken its first chunk, says
    so and waits; the parent takes its first chunk only then, and lets the helper go on only
    once it has read a chunk ahead (it used to depend on a 20 ms sleep per file)."""
    root = make_kb(FILES)
    serial = load(root, monkeypatch, helper=False)
    taken_r, taken_w = os.pipe()  # the helper -> the parent: "I have taken a chunk"
    go_r, go_w = os.pipe()  # the parent -> the helper: "go on"
    real_read, real_claim = ph._read_for_helper, ph.ParseHelper._claim
    first = [True]

    def held(path: str, rel: str) -> Any:  # in the helper process
        if first[0]:
            first[0] = False
            os.write(taken_w, b"t")
            os.read(go_r, 1)
        return real_read(path, rel)

    claims = [0]

    def claim(helper: ph.ParseHelper) -> int | None:  # in the parent
        if claims[0] == 0:
            assert os.read(taken_r, 1) == b"t"  # the helper holds a chunk
        claims[0] += 1
        got = real_claim(helper)
        if claims[0] == 2:
            os.write(go_w, b"g")  # a chunk was read ahead: the helper may send its own
        return got

    monkeypatch.setattr(ph, "_read_for_helper", held)
    spy = Spy(monkeypatch)
    monkeypatch.setattr(ph.ParseHelper, "_claim", claim)
    try:
        assert load(root, monkeypatch, helper=True) == serial
    finally:
        for fd in (taken_r, taken_w, go_r, go_w):
            os.close(fd)
    assert spy.unpacked >= 1  # the helper's readings were used
    assert spy.ahead >= 1  # and the parent read ahead meanwhile


@FORK
def test_the_helper_reads_everything(make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_kb(FILES)
    serial = load(root, monkeypatch, helper=False)
    spy = Spy(monkeypatch)
    monkeypatch.setattr(ph.ParseHelper, "_claim", lambda helper: None)
    assert load(root, monkeypatch, helper=True) == serial
    records = sum(name.endswith(".yaml") for name in FILES)
    assert spy.unpacked == -(-records // 3)


@FORK
def test_a_helper_that_takes_nothing(make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_kb(FILES)
    serial = load(root, monkeypatch, helper=False)
    spy = Spy(monkeypatch)
    monkeypatch.setattr(ph, "_help", lambda *args: None)
    assert load(root, monkeypatch, helper=True) == serial
    assert spy.unpacked == 0


@FORK
@pytest.mark.parametrize("failure", ["raise", "exit", "garble", "hang"])
def test_a_helper_failing_after_some_chunks(
    make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    root = make_kb(FILES)
    serial = load(root, monkeypatch, helper=False)
    fail_helper(monkeypatch, failure, after=7)  # a hanging helper is waited for 1 s at most
    assert load(root, monkeypatch, helper=True) == serial


def test_read_marks_keep_the_structure_not_the_value() -> None:
    """A document read completely keeps its places and the shape of its value (shared by all
    documents of that shape), not the value; its places fit in one byte each here."""
    a = read_yaml("statement: A.\nquotes:\n  - {text: x, source: s}\ntopics: [a, b]\n")
    b = read_yaml("statement: B!\nquotes:\n  - {text: yy, source: t}\ntopics: [c, d]\n")
    assert a.value["quotes"][0]["text"] == "x"
    assert a.marks.value is None and b.marks.value is None
    assert a.marks.shape is b.marks.shape
    assert type(a.marks.ints) is bytes
    assert a.marks[("quotes", 0, "source")] == (3, 23)
    assert b.marks[("topics", 1)] == (4, 13)
    assert a.marks.get(("quotes", 1)) is None
    assert a.marks.get(("topics", 0, "x")) is None
    # a key given twice keeps the value (its dropped places are found by walking it)
    dup = read_yaml("a: 1\na: 2\n")
    assert dup.marks.shape is None and dup.marks.value == {"a": 1}
    # places past 255 need more than a byte
    long = read_yaml("".join(f"k{i}: {i}\n" for i in range(300)))
    assert long.marks[("k299",)] == (300, 7)
    assert type(long.marks.ints) is not bytes


def test_nested_locators_share_their_paths() -> None:
    where = Located("claims/a.yaml")
    assert where.sub("quotes", 0).base is Located("claims/b.yaml").sub("quotes", 0).base


def test_the_parse_cache_keeps_no_values(tmp_path: Path) -> None:
    """A long-running caller's cache keeps each record file's built record and marks, not its
    parsed value; problems found later (by the checks) are still placed."""
    import shutil

    from kb.checks import run_checks
    from kb.graph import build_graph

    root = tmp_path / "kb"
    shutil.copytree(Path(__file__).parent / "data" / "failures", root)
    cache: kf.ParseCache = {}
    fresh, fresh_problems = load_kb(root)
    expected = [p.text() for p in [*fresh_problems, *run_checks(fresh, build_graph(fresh))]]
    for _ in range(2):
        kept, kept_problems = load_kb(root, cache)
        got = [p.text() for p in [*kept_problems, *run_checks(kept, build_graph(kept))]]
        assert got == expected
    docs = [doc for _, doc, _, _ in cache.values() if doc is not None]
    assert docs
    assert all(doc.value is None for doc in docs if doc.marks.shape is not None)


class TestStamps:
    """A long-running caller's cache: a file whose stat() is as it was is not read again."""

    def reads(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        read: list[str] = []
        real = kf._read_stat

        def spy(path: str | Path, rel: str, problems: list[Any]) -> Any:
            read.append(rel)
            return real(path, rel, problems)

        monkeypatch.setattr(kf, "_read_stat", spy)
        return read

    def test_unchanged_files_are_not_read_again(
        self, make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root = make_kb(FILES)
        monkeypatch.setattr(kf, "_RACY_NS", 0)  # every file was written long enough ago
        cache: kf.ParseCache = {}
        fresh = load_kb(root)
        first = load_kb(root, cache)
        read = self.reads(monkeypatch)
        again = load_kb(root, cache)
        assert [p.text() for p in again[1]] == [p.text() for p in fresh[1]]
        assert again[0].claims == fresh[0].claims and again[0].digests == fresh[0].digests
        assert read == []  # neither records nor snapshots
        assert first[0].claims == again[0].claims
        assert again[0].sources == fresh[0].sources
        # an edit, a file put in another's place (a new inode), a removed file
        path = root / "claims" / "c01.yaml"
        path.write_text(path.read_text() + "unknown_field: 1\n", encoding="utf-8")
        other = root / "claims" / "c02.yaml"
        st = other.stat()
        new = root / "claims" / ".tmp"
        new.write_text(other.read_text().replace("C2.", "X2."), encoding="utf-8")
        os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))
        new.replace(other)
        (root / "claims" / "c03.yaml").unlink()
        (root / "sources" / "s.txt").write_text("Other words.\n", encoding="utf-8")
        read.clear()
        edited = load_kb(root, cache)
        assert sorted(read) == ["claims/c01.yaml", "claims/c02.yaml", "sources/s.txt"]
        fresh = load_kb(root)
        assert [p.text() for p in edited[1]] == [p.text() for p in fresh[1]]
        assert edited[0].claims == fresh[0].claims and edited[0].digests == fresh[0].digests
        assert any("unknown_field" in p.text() for p in edited[1])
        assert edited[0].claims["c02"].statement == "X2."  # type: ignore[index]
        assert edited[0].sources == fresh[0].sources
        assert edited[0].sources["s"].snapshot_text == "Other words.\n"  # type: ignore[index]

    def test_a_change_in_the_same_tick_as_the_read_is_seen(
        self, make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A file changed within the file system's clock tick of its reading can keep every
        time stamp: it is read again at the next load, however its stat() looks."""
        # as if the change time could not tell either: only size, mtime and identity are left
        monkeypatch.setattr(
            kf, "_stamp", lambda st: (st.st_size, st.st_mtime_ns, 0, st.st_ino, st.st_dev)
        )
        root = make_kb({**FILES, "claims/c01.yaml": "statement: One.\n"})
        cache: kf.ParseCache = {}
        kb = load_kb(root, cache)[0]
        assert kb.claims["c01"].statement == "One."  # type: ignore[index]
        assert kb.sources["s"].snapshot_text == "The words of S.\n"  # type: ignore[index]
        for rel, text in [("claims/c01.yaml", "statement: Two.\n"), ("sources/s.txt", "X" * 17)]:
            path = root / rel
            st = path.stat()
            path.write_text(text, encoding="utf-8")  # the same size
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime
            assert kf._stamp(path.stat()) == kf._stamp(st)
        read = self.reads(monkeypatch)
        kb = load_kb(root, cache)[0]
        assert kb.claims["c01"].statement == "Two."  # type: ignore[index]
        assert kb.sources["s"].snapshot_text == "X" * 17  # type: ignore[index]
        assert {"claims/c01.yaml", "sources/s.txt"} <= set(read)

    def test_a_stamp_is_trusted_once_the_file_is_old_enough(self, tmp_path: Path) -> None:
        path = tmp_path / "a.yaml"
        path.write_text("a: 1\n", encoding="utf-8")
        st = os.stat(path)
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
        assert kf._trusted(st, changed) is None
        assert kf._trusted(st, changed + kf._RACY_NS) is None
        assert kf._trusted(st, changed + kf._RACY_NS + 1) == kf._stamp(st)
        assert kf._trusted(None, changed + kf._RACY_NS + 1) is None

    @FORK
    def test_the_helper_sends_stamps(
        self, make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root = make_kb(FILES)
        monkeypatch.setattr(kf, "_RACY_NS", 0)
        monkeypatch.setattr(ph, "may_fork", lambda files: True)
        monkeypatch.setattr(ph, "_CHUNK", 3)
        cache: kf.ParseCache = {}
        first = load_kb(root, cache, helper=ph.start)
        assert all(hit[3] is not None for hit in cache.values())
        read = self.reads(monkeypatch)
        again = load_kb(root, cache)
        assert [p.text() for p in again[1]] == [p.text() for p in first[1]]
        assert not [r for r in read if r.endswith(".yaml")]
