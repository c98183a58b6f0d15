"""Incremental builds: only pages whose inputs changed are rendered, and the result is
byte-identical to a clean build."""

from __future__ import annotations

import filecmp
from pathlib import Path

from kb.build import build


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def _pages(path: Path) -> dict[str, bytes]:
    return {k: v for k, v in _tree(path).items() if k != ".kb-site"}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_incremental_build_equals_clean_build(synthetic: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = build(synthetic, site, log=lambda _line: None)
    assert first.exit_code == 0 and first.reused == 0

    again = build(synthetic, site, log=lambda _line: None)
    assert again.reused == first.files - again.files + again.reused  # every record page reused
    assert again.written < 20  # only site-wide pages and data are written again

    # Edit a statement, a verdict, a snapshot, an expert; add one claim and remove another.
    _edit(synthetic / "claims" / "c000003.yaml", 'statement: "', 'statement: "Edited. ')
    _edit(synthetic / "claims" / "c000007.yaml", "verdict: ", "verdict: accurate\n  #")
    (synthetic / "sources" / "s000002.txt").write_text(
        (synthetic / "sources" / "s000002.txt").read_text() + "\nAn added closing sentence.\n"
    )
    _edit(synthetic / "experts" / "e000001.yaml", "name: ", "name: Dr ")
    new = (synthetic / "claims" / "c000004.yaml").read_text()
    (synthetic / "claims" / "c999999.yaml").write_text(new)
    (synthetic / "claims" / "c000011.yaml").unlink()
    for other in (synthetic / "claims").glob("*.yaml"):  # point its backlinks elsewhere
        if "claim: c000011" in other.read_text():
            _edit(other, "claim: c000011", "claim: c000000")

    inc = build(synthetic, site, log=lambda _line: None)
    assert inc.exit_code == 0
    assert 0 < inc.reused < first.files  # some pages were rendered again, most were not
    clean = tmp_path / "clean"
    build(synthetic, clean, log=lambda _line: None)
    assert _tree(site) == _tree(clean)
    cmp = filecmp.dircmp(site, clean)
    assert not cmp.left_only and not cmp.right_only


def test_a_page_edited_by_hand_in_the_output_is_rendered_again(
    synthetic: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    build(synthetic, site, log=lambda _line: None)
    page = site / "claims" / "c000005.html"
    original = page.read_bytes()
    other = site / "claims" / "c000006.html"
    other_original = other.read_bytes()
    page.write_bytes(original.replace(b"</body>", b"<p>hand edit</p></body>"))
    other.write_bytes(other_original[:-1] + b"!")  # the same size, but written later
    again = build(synthetic, site, log=lambda _line: None)
    assert again.reused > 0
    assert page.read_bytes() == original
    assert other.read_bytes() == other_original


def _layout(path: Path) -> list[str]:
    """Every file and folder under `path`, relative."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_a_small_edit_is_moved_into_the_previous_site(synthetic: Path, tmp_path: Path) -> None:
    """One claim edited: its pages are moved into the previous site (no new folder), every
    other file keeps its inode, and the site equals a clean build, folders included."""
    site = tmp_path / "site"
    assert build(synthetic, site, log=lambda _line: None).exit_code == 0
    far = site / "claims" / "c000040.html"
    inode = far.stat().st_ino
    _edit(synthetic / "claims" / "c000003.yaml", 'statement: "', 'statement: "Edited. ')
    texts = "".join(p.read_text() for p in (synthetic / "claims").glob("*.yaml"))
    gone = next(  # a claim no other claim links to: removing it changes few pages
        p.stem
        for p in sorted((synthetic / "claims").glob("*.yaml"))
        if f"claim: {p.stem}" not in texts and p.stem not in ("c000003", "c000040")
    )
    (synthetic / "claims" / f"{gone}.yaml").unlink()
    inc = build(synthetic, site, log=lambda _line: None)
    assert inc.exit_code == 0 and inc.in_place
    assert 0 < inc.written < inc.files / 2
    if "c000003" not in far.read_text() and gone not in far.read_text():
        assert far.stat().st_ino == inode  # a page that shows neither: untouched
    assert not (site / "claims" / f"{gone}.html").exists()
    clean = tmp_path / "clean"
    build(synthetic, clean, log=lambda _line: None)
    assert _tree(site) == _tree(clean)
    assert _layout(site) == _layout(clean)
    left = {p.name for p in tmp_path.glob(".site.kb-*")}
    assert left <= {".site.kb-lock", ".site.kb-key"}  # no staging folder or journal left


def test_an_expert_page_shows_the_titles_of_the_sources_quoted_from_them(
    synthetic: Path, tmp_path: Path
) -> None:
    """An expert page names the source of each quote the expert spoke (two steps away in the
    graph): a new title there renders the page again."""
    site = tmp_path / "site"
    assert build(synthetic, site, log=lambda _line: None).exit_code == 0
    _edit(synthetic / "sources" / "s000004.yaml", "title: ", "title: Retitled ")
    assert build(synthetic, site, log=lambda _line: None).exit_code == 0
    clean = tmp_path / "clean"
    build(synthetic, clean, log=lambda _line: None)
    assert _tree(site) == _tree(clean)
    assert any(b"Retitled " in p.read_bytes() for p in (site / "experts").glob("*.html"))


def test_a_whole_base_is_keyed_as_page_by_page(synthetic: Path) -> None:
    """A build without memory keys every page at once (node digests in a list, places sorted
    as ints): the keys are those a long-running process makes page by page."""
    import kb.fast.memory as inc
    from kb.checks import run_checks
    from kb.graph import build_graph
    from kb.reading.load import load_kb
    from kb.site.pages import RECORD_KINDS, pages
    from kb.site.state import prepare

    kb_, problems = load_kb(synthetic)
    graph = build_graph(kb_)
    site = prepare(kb_, graph, [*problems, *run_checks(kb_, graph)], {})
    every = pages(site)
    place = {n: i for i, n in enumerate(sorted(site.graph))}
    degree = {n: sum(map(len, nbrs.values())) for n, nbrs in site.graph.adjacency()}
    made = inc._Keys(site, inc._common(site), degree, place, {}, set())
    one_by_one = {p.path: made.key(p) for p in every if p.kind in RECORD_KINDS}
    assert inc.page_keys(site, every) == one_by_one and len(one_by_one) > 60


def test_a_reviewers_page_follows_the_history_of_the_claims_they_reviewed(
    synthetic: Path, tmp_path: Path
) -> None:
    """A reviewer's page lists their earlier reviews, which no graph edge names: adding an
    earlier review by them to a claim's history, then taking it out, renders their page again,
    in a fresh process and in a long-running one, as a clean build does."""
    claim = synthetic / "claims" / "c000003.yaml"
    entry = (
        "  history:\n    - {verdict: accurate, reviewer: e000005, date: 2026-01-02,"
        ' rationale: "Looked at first"}\n'
    )
    for cache in (None, {}):
        site, clean = tmp_path / f"site-{cache is None}", tmp_path / f"clean-{cache is None}"
        kept = claim.read_text(encoding="utf-8")
        assert build(synthetic, site, log=lambda _line: None, parse_cache=cache).exit_code == 0
        for edited in (kept + entry, kept):  # the earlier review added, then taken out
            claim.write_text(edited, encoding="utf-8")
            inc = build(synthetic, site, log=lambda _line: None, parse_cache=cache)
            assert inc.exit_code == 0 and inc.reused > 0
            build(synthetic, clean, log=lambda _line: None)
            page = "experts/e000005.html"
            assert (b"(earlier review)" in _tree(site)[page]) == (edited != kept)
            # the manifest of a long-running process also keys the list pages: pages compared
            assert _pages(site) == _pages(clean)


def test_a_claim_page_follows_the_name_of_an_earlier_reviewer(
    synthetic: Path, tmp_path: Path
) -> None:
    """A claim page names the reviewers of its earlier reviews: renaming one of them renders
    the page again, as a clean build does."""
    claim = synthetic / "claims" / "c000003.yaml"
    claim.write_text(
        claim.read_text(encoding="utf-8")
        + "  history:\n    - {verdict: accurate, reviewer: e000005, date: 2026-01-02}\n",
        encoding="utf-8",
    )
    site, clean = tmp_path / "site", tmp_path / "clean"
    assert build(synthetic, site, log=lambda _line: None).exit_code == 0
    _edit(synthetic / "experts" / "e000005.yaml", "name: ", "name: Renamed ")
    assert build(synthetic, site, log=lambda _line: None).exit_code == 0
    assert b"Renamed" in _tree(site)["claims/c000003.html"]
    build(synthetic, clean, log=lambda _line: None)
    assert _tree(site) == _tree(clean)
