"""`kb pandoc`: a draft citing claims and sources, rendered by the bundled pandoc."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import RunKB
from sitecrawl import REPO

from kb.reading.load import load_kb

DRAFT = """\
# Ketamine

The mechanism was found early [@anis-1983]. The clinic puts it this way:
[@claim:nmda-blockade]. And then [@claim:glutamate-surge].

# References
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled base, with the draft."""
    root = tmp_path_factory.mktemp("kb")
    for name in ("claims", "experts", "sources"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "kb.yaml", root / "kb.yaml")
    (root / "draft.md").write_text(DRAFT, encoding="utf-8")
    return root


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    paragraphs = re.findall(r"<w:p[ >].*?</w:p>", xml, re.S)
    import html

    return html.unescape(
        "\n".join("".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", p)) for p in paragraphs)
    )


def _html_text(path: Path) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("fmt", ["docx", "html"])
@pytest.mark.parametrize(
    ("style", "intext", "anis"),
    [
        (
            "apa",
            "(Anis et al., 1983)",
            "Anis, N. A., Berry, S. C., Burton, N. R., & Lodge, D. (1983)",
        ),
        ("vancouver", "(1)", "1. Anis NA, Berry SC, Burton NR, Lodge D."),
    ],
)
def test_a_draft_renders_with_quotes_and_references(
    run_kb: RunKB, base: Path, fmt: str, style: str, intext: str, anis: str
) -> None:
    kb = load_kb(base)[0]
    out = base / f"draft-{style}.{fmt}"
    r = run_kb("-C", base, "pandoc", base / "draft.md", "--style", style, "-o", out,
               "--wrap=none")  # fmt: skip
    assert r.code == 0, r.err
    text = _docx_text(out) if fmt == "docx" else _html_text(out)
    text = " ".join(text.split())
    assert intext in text
    for cid in ("nmda-blockade", "glutamate-surge"):
        quote = kb.claims[cid].quotes[0].text  # type: ignore[index]
        assert f"“{quote}” (Robert C. Meisner, MD)" in text, cid
    assert anis in text  # the reference list, in the style
    assert "How Ketamine Treament Can Help Anxiety and Severe Depression" in text
    assert "claim:" not in text


def test_a_disputed_claim_stops_the_run(run_kb: RunKB, base: Path) -> None:
    draft = base / "disputed.md"
    draft.write_text("As the post says [@claim:fda-approval].\n", encoding="utf-8")
    out = base / "disputed.html"
    r = run_kb("-C", base, "pandoc", draft, "-o", out)
    assert r.code == 1
    assert r.err.startswith("kb pandoc: fda-approval is rated misleading")
    assert not out.exists()
    r = run_kb("-C", base, "pandoc", draft, "-o", out, "--allow-disputed")
    assert r.code == 0 and out.exists()


def test_an_unverified_quote_and_an_unknown_claim_stop_the_run(
    run_kb: RunKB, base: Path, tmp_path: Path
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(base, root)
    snap = root / "sources" / "nybh-ketamine.txt"
    snap.write_text(snap.read_text(encoding="utf-8").replace("in the brain.", "in the head."))
    r = run_kb("-C", root, "pandoc", root / "draft.md", "-o", root / "d.html")
    assert r.code == 1 and "nmda-blockade has a quote that is not verified" in r.err
    (root / "typo.md").write_text("[@claim:nmda-blokade]\n")
    r = run_kb("-C", root, "pandoc", root / "typo.md", "-o", root / "t.html")
    assert r.code == 1 and "no claim 'nmda-blokade' (did you mean 'nmda-blockade'?)" in r.err


def test_pandoc_never_writes_over_the_bases_own_files(run_kb: RunKB, base: Path) -> None:
    """`-o` (in any of pandoc's spellings) naming kb.yaml or a file in a record folder is
    refused before pandoc runs, and the file is as it was."""
    claim = next((base / "claims").glob("*.yaml"))
    before = {p: p.read_bytes() for p in (claim, base / "kb.yaml")}
    for args in (
        ["-o", str(claim)],
        [f"--output={base / 'kb.yaml'}"],
        [f"-o{base / 'sources' / 'x.html'}"],
    ):
        r = run_kb("-C", base, "pandoc", base / "draft.md", *args)
        assert r.code == 2 and "own files" in r.err, args
    assert {p: p.read_bytes() for p in before} == before
    assert not (base / "sources" / "x.html").exists()
