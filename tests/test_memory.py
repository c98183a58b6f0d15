"""A long-running process (kb serve) keeps what a build made for the next (kb.fast.memory.Memory):
after any edit its rebuild must be what a clean build makes, byte for byte, and its graph and
problems what a fresh process finds."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from kb.build import build
from kb.checks import run_checks
from kb.errors import Problem
from kb.fast.memory import MEMORY_KEY, Memory
from kb.graph import build_graph
from kb.reading.load import load_kb
from kb.site import auditpage, render, sitedata


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".kb-site"
    }


def _clean_tree(kb: Path, tmp_path: Path) -> dict[str, bytes]:
    """The files of a clean build of `kb` (into tmp_path/clean, made afresh)."""
    clean = tmp_path / "clean"
    shutil.rmtree(clean, ignore_errors=True)
    assert build(kb, clean, log=lambda _line: None).exit_code == 0
    return _tree(clean)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def graph_signature(g: nx.MultiDiGraph[str]) -> list[Any]:
    """Everything of a graph that output can depend on, every dict's order included."""
    raw: Any = g
    return [
        [(n, list(d.items())) for n, d in raw._node.items()],
        [(a, _adjacent(nbrs)) for a, nbrs in raw._succ.items()],
        [(b, _adjacent(nbrs)) for b, nbrs in raw._pred.items()],
    ]


def _adjacent(nbrs: dict[str, dict[Any, dict[str, Any]]]) -> list[Any]:
    return [(b, [(k, list(d.items())) for k, d in keyed.items()]) for b, keyed in nbrs.items()]


def _claim_with(kb: Path, needle: str) -> Path:
    return next(p for p in sorted((kb / "claims").glob("*.yaml")) if needle in p.read_text())


def _edits(kb: Path) -> list[tuple[str, Callable[[], None]]]:
    claims = kb / "claims"
    c3 = claims / "c000003.yaml"
    added = claims / "c000900.yaml"

    def new_topic() -> None:
        _edit(claims / "c000005.yaml", "topics: [", 'topics: ["a brand new topic", ')

    def new_evidence() -> None:  # a source the claim is not quoted from: no circularity
        text = c3.read_text()
        sid = text.split("evidence:\n  - source: ")[1].split("\n")[0]
        other = next(f"s{i:06d}" for i in range(1, 12) if f"s{i:06d}" not in text)
        _edit(c3, f"evidence:\n  - source: {sid}", f"evidence:\n  - source: {other}")

    def add_claim() -> None:
        added.write_text((claims / "c000004.yaml").read_text())

    def break_claim() -> None:
        _edit(claims / "c000006.yaml", "related:\n  - claim: ", "related:\n  - claim: nowhere")

    def mend_claim() -> None:
        _edit(claims / "c000006.yaml", "related:\n  - claim: nowhere", "related:\n  - claim: ")

    def drop_reviewer() -> None:
        path = _claim_with(kb, "reviewer: ")
        _edit(path, "  reviewer: ", "  # reviewer: ")

    def shorter_quote() -> None:  # the first three words of a quote: still in the snapshot
        path = claims / "c000008.yaml"
        quote = path.read_text().split('  - text: "')[1].split('"')[0]
        _edit(path, f'  - text: "{quote}"', f'  - text: "{" ".join(quote.split()[:3])}"')

    def supports_loop() -> None:  # c000010 and c000011 support each other: a loop
        for me, other in (("c000010", "c000011"), ("c000011", "c000010")):
            path = claims / f"{me}.yaml"
            item = path.read_text().split("related:\n")[1].split("\n  - ")[0]
            _edit(path, item, f"  - claim: {other}\n    relation: supports")

    def lines_moved() -> None:  # the loop's report is at a place in this file: it moves
        path = claims / "c000010.yaml"
        path.write_text("# a comment\n" + path.read_text())

    return [
        ("statement", lambda: _edit(c3, 'statement: "', 'statement: "Edited. ')),
        ("supports loop", supports_loop),  # an error: the build stops
        ("lines moved", lines_moved),  # the error is reported at its new place
        (
            "loop broken",
            lambda: _edit(claims / "c000011.yaml", "relation: supports", "relation: refines"),
        ),
        ("quote", shorter_quote),
        ("rationale", lambda: _edit(c3, 'rationale: "', 'rationale: "Newword ')),
        ("statement again", lambda: _edit(c3, 'statement: "Edited. ', 'statement: "Twice. ')),
        ("verdict", lambda: _edit(claims / "c000007.yaml", "verdict: ", "verdict: accurate\n  #")),
        ("evidence source", new_evidence),
        ("reviewer dropped", drop_reviewer),
        ("new topic", new_topic),
        ("expert name", lambda: _edit(kb / "experts" / "e000001.yaml", "name: ", "name: Dr ")),
        (
            "snapshot",
            lambda: (kb / "sources" / "s000002.txt").write_text(
                (kb / "sources" / "s000002.txt").read_text() + "\nAn added closing sentence.\n"
            ),
        ),
        ("source title", lambda: _edit(kb / "sources" / "s000004.yaml", "title: ", "title: New ")),
        ("claim added", add_claim),
        ("claim removed", lambda: added.unlink()),
        ("an error", break_claim),
        ("the error mended", mend_claim),
        ("title", lambda: _edit(kb / "kb.yaml", "title: ", "title: Renamed ")),
        ("nothing", lambda: None),
    ]


@pytest.mark.parametrize("page_rows", [None, 5])
def test_every_rebuild_of_a_long_running_process_equals_a_clean_build(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page_rows: int | None
) -> None:
    if page_rows is not None:  # the audit page's rows past the first 5 in audit-data.js
        monkeypatch.setattr(auditpage, "PAGE_ROWS", page_rows)
    site = tmp_path / "site"
    cache: dict[str, Any] = {}
    assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
    assert (site / auditpage.AUDIT_DATA).is_file() == (page_rows is not None)
    memory = cache[MEMORY_KEY]
    for what, edit in _edits(synthetic):
        edit()
        rep = build(synthetic, site, log=lambda _line: None, parse_cache=cache)
        assert cache[MEMORY_KEY] is memory, what  # kept, not started again
        kb, loaded = load_kb(synthetic)
        fresh = build_graph(kb)
        assert memory.graph is not None
        assert graph_signature(memory.graph) == graph_signature(fresh), what
        problems = sorted([*loaded, *run_checks(kb, fresh)], key=Problem.sort_key)
        assert rep.problems == problems, what
        if what in ("an error", "supports loop", "lines moved"):
            assert rep.exit_code == 1, what
            continue
        assert rep.exit_code == 0, what
        assert _tree(site) == _clean_tree(synthetic, tmp_path), what


def test_a_statement_edit_updates_the_graph_in_place_and_checks_one_claim(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache: dict[str, Any] = {}
    site = tmp_path / "site"
    build(synthetic, site, log=lambda _line: None, parse_cache=cache)
    memory: Memory = cache[MEMORY_KEY]
    graph, structure, world = memory.graph, memory.structure, memory.world
    rendered: list[str] = []
    laid: list[int] = []
    real, real_layout = render.render_page, sitedata.layout

    def spy(site_: Any, page: Any) -> bytes:
        rendered.append(page.path)
        return real(site_, page)

    def layout_spy(g: Any) -> Any:
        laid.append(g.number_of_edges())
        return real_layout(g)

    monkeypatch.setattr(render, "render_page", spy)
    monkeypatch.setattr(sitedata, "layout", layout_spy)
    _edit(synthetic / "claims" / "c000003.yaml", 'statement: "', 'statement: "Edited. ')
    build(synthetic, site, log=lambda _line: None, parse_cache=cache)
    assert memory.graph is graph  # brought up to date, not made again
    assert memory.changed == {"claim:c000003"}
    assert memory.structure == structure  # no edge changed
    assert memory.world == world and memory.world_same  # only a claim changed
    assert graph.nodes["claim:c000003"]["label"].startswith("Edited. ")
    assert not laid  # an edited statement moves no node: the layout is the last one
    assert "claims/c000003.html" in rendered and "audit.html" in rendered
    for page in ("graph.html", "topics.html", "experts.html", "sources.html"):
        assert page not in rendered  # they show nothing of a statement

    rendered.clear()  # a new evidence source: an edge changes, and the layout with it
    text = (synthetic / "claims" / "c000003.yaml").read_text()
    sid = text.split("evidence:\n  - source: ")[1].split("\n")[0]
    other = next(f"s{i:06d}" for i in range(1, 12) if f"s{i:06d}" not in text)
    _edit(synthetic / "claims" / "c000003.yaml", f"source: {sid}", f"source: {other}")
    build(synthetic, site, log=lambda _line: None, parse_cache=cache)
    assert memory.structure == structure + 1
    assert laid  # placed again
    assert "graph.html" in rendered and "sources.html" in rendered
    assert _tree(site) == _clean_tree(synthetic, tmp_path)


def test_a_failed_build_forgets_the_memory(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache: dict[str, Any] = {}
    site = tmp_path / "site"
    build(synthetic, site, log=lambda _line: None, parse_cache=cache)
    assert MEMORY_KEY in cache

    def broken(*_args: object) -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr("kb.graph.update_graph", broken)
    monkeypatch.setattr("kb.fast.memory.update_graph", broken)
    _edit(synthetic / "claims" / "c000003.yaml", 'statement: "', 'statement: "Edited. ')
    with pytest.raises(RuntimeError):
        build(synthetic, site, log=lambda _line: None, parse_cache=cache)
    assert MEMORY_KEY not in cache
    monkeypatch.undo()
    assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
    assert _tree(site) == _clean_tree(synthetic, tmp_path)


def test_what_forked_workers_keep_comes_back_and_stays_right(
    synthetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exports (and assets) made in a forked worker send their memos back through the spool,
    and so do pages the rows of their long tables: the next rebuild uses them, and still equals
    a clean build."""
    monkeypatch.setattr("kb.fast.workers.PARALLEL_MIN", 0)
    monkeypatch.setenv("KB_JOBS", "2")
    cache: dict[str, Any] = {}
    site = tmp_path / "site"
    assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
    memory: Memory = cache[MEMORY_KEY]
    for path in ("kb.csl.json", "kb.bib", "claimreview.jsonld", "graph.graphml", "claims.csv"):
        assert memory.caches["export:exports/" + path], path
    audit = (site / "audit.html").read_text(encoding="utf-8")
    for macro in ("claim_rows", "problem_rows"):
        kept = memory.caches["rows:" + macro]  # drawn by a worker, sent back
        assert kept and all(str(chunk) in audit for chunk in kept.values()), macro
    assert memory.caches["rows:reviewed_rows"]
    for what, edit in _edits(synthetic):
        if what not in ("statement", "quote", "rationale", "evidence source"):
            continue
        edit()
        assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
        assert _tree(site) == _clean_tree(synthetic, tmp_path), what


def _mutations(kb: Path, rng: random.Random) -> Callable[[], str]:
    """A random small edit of a random claim, as someone editing a base would make."""
    claims = sorted((kb / "claims").glob("*.yaml"))

    def one() -> str:
        path = rng.choice(claims)
        text = path.read_text()
        kind = rng.choice(["statement", "verdict", "stance", "topic", "relation", "comment"])
        if kind == "statement":
            text = text.replace('statement: "', f'statement: "W{rng.randrange(99)} ', 1)
        elif kind == "verdict" and "verdict: " in text:
            old = text.split("verdict: ")[1].split("\n")[0]
            new = rng.choice(["accurate", "misleading", "unsupported", "needs-context"])
            text = text.replace(f"verdict: {old}", f"verdict: {new}", 1)
        elif kind == "stance" and "stance: " in text:
            old = text.split("stance: ")[1].split("\n")[0]
            text = text.replace(f"stance: {old}", f"stance: {rng.choice(['context', 'qualifies'])}")
        elif kind == "topic" and 'topics: ["' in text:
            old = text.split('topics: ["')[1].split('"')[0]
            text = text.replace(f'"{old}"', f'"topic {rng.randrange(1, 9)}"', 1)
        elif kind == "relation" and "relation: " in text:
            old = text.split("relation: ")[1].split("\n")[0]
            new = rng.choice(["refines", "part-of"])
            text = text.replace(f"relation: {old}", f"relation: {new}")
        else:
            text = "# moved\n" + text
        path.write_text(text)
        return f"{kind} in {path.name}"

    return one


@pytest.mark.parametrize(("seed", "page_rows"), [(1, None), (2, None), (3, 5)])
def test_random_edits_rebuild_as_a_clean_build(
    synthetic: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    page_rows: int | None,
) -> None:
    if page_rows is not None:  # the audit page's rows past the first 5 in audit-data.js
        monkeypatch.setattr(auditpage, "PAGE_ROWS", page_rows)
    rng = random.Random(seed)
    edit = _mutations(synthetic, rng)
    cache: dict[str, Any] = {}
    site = tmp_path / "site"
    build(synthetic, site, log=lambda _line: None, parse_cache=cache)
    for _ in range(8):
        what = " + ".join(edit() for _ in range(rng.randrange(1, 3)))
        rep = build(synthetic, site, log=lambda _line: None, parse_cache=cache)
        kb, loaded = load_kb(synthetic)
        fresh = build_graph(kb)
        assert graph_signature(cache[MEMORY_KEY].graph) == graph_signature(fresh), what
        assert rep.problems == sorted([*loaded, *run_checks(kb, fresh)], key=Problem.sort_key)
        if rep.exit_code:
            continue
        assert _tree(site) == _clean_tree(synthetic, tmp_path), what
