"""docs/architecture.md stays true: it names every module of kb/, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"


def _table_modules() -> set[str]:
    """The modules named in the first column of the table under "One line per module"."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## One line per module", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            named.update(re.findall(r"`([\w/]+\.py)`", first))
    return named


def test_every_module_of_kb_is_in_the_table() -> None:
    modules = {p.relative_to(ROOT / "kb").as_posix() for p in (ROOT / "kb").rglob("*.py")}
    modules -= {"__init__.py"}
    modules = {m for m in modules if not m.endswith("/__init__.py") or m == "cli/__init__.py"}
    missing = sorted(modules - _table_modules())
    assert not missing, f"docs/architecture.md does not describe {missing}"


def test_the_table_names_no_module_that_is_gone() -> None:
    gone = sorted(m for m in _table_modules() if not (ROOT / "kb" / m).is_file())
    assert not gone, f"docs/architecture.md names modules that do not exist: {gone}"
