"""kb.yaml `style` and `styles`: which citation styles a build formats and offers."""

from __future__ import annotations

from kb.fast.pending import _citations
from kb.reading.load import load_kb

SOURCE = "type: book\ntitle: A Book\nauthor: [{family: Li, given: Na}]\nissued: 2010\n"


def test_styles_are_validated_and_include_the_default(make_kb) -> None:  # type: ignore[no-untyped-def]
    root = make_kb({"kb.yaml": "style: ama\nstyles: [mla, harvard]\n", "sources/b.yaml": SOURCE})
    kb, problems = load_kb(root)
    assert kb.config.styles == ("ama", "mla")
    [bad] = [p for p in problems if p.code == "bad-value"]
    assert (bad.loc.path, bad.loc.line) == ("kb.yaml", 2)
    assert "harvard" in bad.message


def test_unknown_default_style_is_reported(make_kb) -> None:  # type: ignore[no-untyped-def]
    kb, problems = load_kb(make_kb({"kb.yaml": "style: apaa\n"}))
    assert kb.config.style == "apa"
    assert any(p.code == "bad-value" and "did you mean 'apa'" in p.message for p in problems)


def test_a_build_formats_only_the_configured_styles(make_kb) -> None:  # type: ignore[no-untyped-def]
    kb, _ = load_kb(make_kb({"kb.yaml": "styles: [vancouver]\n", "sources/b.yaml": SOURCE}))
    citations = _citations(kb)
    assert sorted(citations) == ["apa", "vancouver"]
    assert "Li" in citations["vancouver"]["b"].reference_text
