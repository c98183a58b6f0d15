"""bench/compare.py: the Hugo project it writes has a page for every record with the record's
content, and Debian's Hugo builds it into the same file names as kb (a missing hugo fails the
hugo test rather than skipping it: .ci/run installs it)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_compare", BENCH / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The base of 20 claims and its Hugo project, as compare.py prepares them."""
    base, hugo = _compare().prepare(20, tmp_path_factory.mktemp("compare"))
    return base, hugo


def _front_matter(page: Path) -> tuple[dict[str, object], str]:
    _, head, body = page.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(head), body


def test_every_record_has_its_page_with_its_content(project: tuple[Path, Path]) -> None:
    base, hugo = project
    content = hugo / "content"
    for kind in ("claims", "experts", "sources"):
        records = sorted(p.stem for p in (base / kind).glob("*.yaml"))
        pages = sorted(p.stem for p in (content / kind).glob("*.md") if p.stem != "_index")
        assert records and pages == records, kind
        assert (content / kind / "_index.md").is_file()
    sources = {p.stem: yaml.safe_load(p.read_text()) for p in (base / "sources").glob("*.yaml")}
    experts = {p.stem: yaml.safe_load(p.read_text()) for p in (base / "experts").glob("*.yaml")}
    reviewed = 0
    for path in sorted((base / "claims").glob("*.yaml")):
        claim = yaml.safe_load(path.read_text())
        head, body = _front_matter(content / "claims" / f"{path.stem}.md")
        assert head["title"] == claim["statement"]
        assert head["topics"] == sorted(set(claim["topics"]))
        if "review" in claim:
            reviewed += 1
            assert head["verdict"] == claim["review"]["verdict"]
            assert head["reviewed"] == str(claim["review"]["date"])
        else:
            assert "verdict" not in head
        for q in claim["quotes"]:
            assert f"> {q['text']}" in body
            assert f"[{experts[q['speaker']]['name']}](../experts/{q['speaker']}.html)" in body
            assert f"[{sources[q['source']]['title']}](../sources/{q['source']}.html)" in body
        for e in claim["evidence"]:
            assert f"| [{sources[e['source']]['title']}](../sources/{e['source']}.html) (" in body
        for r in claim["related"]:
            assert f"- {r['relation']}: [" in body and f"](../claims/{r['claim']}.html)" in body
    assert 0 < reviewed < 20
    # Each source page carries its archived text; the theme is the project's own.
    for sid in sources:
        snapshot = (base / "sources" / f"{sid}.txt").read_text()
        assert snapshot.split("\n\n")[0] in (content / "sources" / f"{sid}.md").read_text()
    theme = hugo / "themes" / "kbmin" / "layouts"
    for layout in ("_default/baseof.html", "_default/list.html", "claims/single.html",
                   "experts/single.html", "sources/single.html"):  # fmt: skip
        assert (theme / layout).is_file(), layout


def test_hugo_builds_the_project(project: tuple[Path, Path], tmp_path: Path) -> None:
    hugo_bin = shutil.which("hugo")
    if hugo_bin is None:
        pytest.fail("hugo is missing: apt-get install hugo")
    base, hugo = project
    public = tmp_path / "public"
    proc = subprocess.run(
        [hugo_bin, "--quiet", "--source", str(hugo), "--destination", str(public),
         "--cacheDir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for kind in ("claims", "experts", "sources"):
        records = sorted(p.stem for p in (base / kind).glob("*.yaml"))
        assert sorted(p.stem for p in (public / kind).glob("*.html")) == records, kind
        assert (public / f"{kind}.html").is_file()  # the section's list page
    claim = yaml.safe_load((base / "claims" / "c000001.yaml").read_text())
    html = (public / "claims" / "c000001.html").read_text()
    assert claim["statement"] in html
    assert f'<span class="badge v-{claim["review"]["verdict"]}">' in html
    assert f"<p>{claim['quotes'][0]['text']}</p>" in html
    assert '<a href="../claims/' in html
    listing = (public / "claims.html").read_text()
    assert all(f"/claims/c{c:06d}.html" in listing for c in range(20))
    assert (public / "topics.html").is_file() and list((public / "topics").glob("*.html"))


def test_without_hugo_it_says_so_and_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, str(BENCH / "compare.py"), "20", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={"PATH": str(empty)},
    )
    assert proc.returncode == 2
    assert "hugo is not installed" in proc.stderr
    assert not (tmp_path / "out").exists()
