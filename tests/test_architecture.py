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


def test_no_module_over_500_lines_and_no_function_over_80() -> None:
    """Long units hide structure: a module of kb/ stays under 500 lines, a function under 80."""
    import ast

    long: list[str] = []
    for path in sorted((ROOT / "kb").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if text.count("\n") > 500:
            long.append(f"{rel}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > 80:
                    long.append(f"{rel}:{node.lineno} {node.name}(): {size} lines")
    assert not long, "split these: " + "; ".join(long)
