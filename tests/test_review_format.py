"""`kb review` writes rationales that read back exactly as given."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.reading.edit import edit_file, folded

WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


def _written(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text("statement: S.\n", encoding="utf-8")
    edit_file(
        path, lambda doc: doc.update(review={"verdict": "accurate", "rationale": folded(text)})
    )
    return path.read_text(encoding="utf-8")


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=40).map(" ".join))
def test_rationale_round_trips(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """Folded or quoted, the text YAML reads back is the text given."""
    written = _written(tmp_path_factory.mktemp("r"), text)
    assert yaml.safe_load(written)["review"]["rationale"] == text


def test_long_rationale_is_folded_for_reading(tmp_path: Path) -> None:
    """A long plain rationale becomes a `>-` block of short lines."""
    text = " ".join(["word"] * 60)
    lines = _written(tmp_path, text).splitlines()
    assert lines[3] == "  rationale: >-"
    assert len(lines) > 4 and all(len(line) <= 96 for line in lines)


def test_kb_new_refuses_a_folder_linked_outside(make_kb, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`kb new` does not write through a claims/ link that leads outside the base."""
    from kb.cli import main

    root = make_kb({"kb.yaml": "title: t\n"})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "claims").symlink_to(outside)
    assert main(["-C", str(root), "new", "claim", "x"]) == 2
    assert list(outside.iterdir()) == []
