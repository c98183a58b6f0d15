"""`kb review` writes rationales that read back exactly as given."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.cli.commands import _folded

WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=40).map(" ".join))
def test_rationale_round_trips(text: str) -> None:
    """Folded or quoted, the text YAML reads back is the text given."""
    block = "review:\n" + "\n".join(_folded("rationale", text)) + "\n"
    assert yaml.safe_load(block)["review"]["rationale"] == text


def test_long_rationale_is_folded_for_reading() -> None:
    """A long plain rationale becomes a `>-` block of short lines."""
    text = " ".join(["word"] * 60)
    lines = _folded("rationale", text)
    assert lines[0] == "  rationale: >-"
    assert all(len(line) <= 96 for line in lines)


def test_kb_new_refuses_a_folder_linked_outside(make_kb, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`kb new` does not write through a claims/ link that leads outside the base."""
    from kb.cli import main

    root = make_kb({"kb.yaml": "title: t\n"})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "claims").symlink_to(outside)
    assert main(["-C", str(root), "new", "claim", "x"]) == 2
    assert list(outside.iterdir()) == []
