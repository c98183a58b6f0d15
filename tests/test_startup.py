"""Start-up: `kb --version`, `kb --help` and a command's --help load no heavy module.

The command modules (kb/cli/) import the loader, the checks, networkx, jinja2 and the
renderer inside their handlers; a fresh interpreter shows which modules each run loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kb.urls

ROOT = Path(__file__).resolve().parent.parent

# What the parser and its help need: the command modules and the small tables they list.
ALLOWED_KB = {
    "kb",
    "kb.cli",
    "kb.cli.browse",
    "kb.cli.build",
    "kb.cli.capture",
    "kb.cli.cite",
    "kb.cli.commands",
    "kb.cli.export",
    "kb.cli.importing",
    "kb.cli.report",
    "kb.cli.review",
    "kb.cli.serve",
    "kb.cli.show",
    "kb.cli.snapshot",
    "kb.cli.start",
    "kb.cli.writing",
    "kb.cite",
    "kb.cite.csl",
    "kb.cite.styles",
    "kb.codes",
    "kb.errors",
    "kb.model",
    "kb.reading",
    "kb.reading.schema",
    "kb.reading.templates",
    "kb.text",
    "kb.text.nearest",
    "kb.text.quotes",
    "kb.urls",
}

PROBE = """
import json, sys
before = set(sys.modules)
from kb.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(set(sys.modules) - before)}), file=sys.stderr)
"""


def _loaded(*argv: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=False
    )
    result = json.loads(run.stderr.strip().splitlines()[-1])
    assert result["code"] == 0, run.stderr
    assert run.stdout.strip(), "nothing printed"
    return list(result["loaded"])


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("--help",),
        ("build", "--help"),
        ("check", "--help"),
        ("export", "--help"),
        ("cite", "--help"),
        ("serve", "--help"),
    ],
)
def test_help_and_version_load_nothing_heavy(argv: tuple[str, ...]) -> None:
    loaded = _loaded(*argv)
    ours = {m for m in loaded if m == "kb" or m.startswith("kb.")}
    # the command modules, and the text helpers (pure Python, no library) capture uses
    light = {m for m in ours if m.startswith(("kb.cli.", "kb.text."))}
    assert ours - light <= ALLOWED_KB, sorted(ours - light - ALLOWED_KB)
    others = {m.partition(".")[0] for m in loaded if m not in ours}
    assert others <= set(sys.stdlib_module_names), sorted(others - set(sys.stdlib_module_names))
    for heavy in ("networkx", "jinja2", "yaml", "ruamel", "kb.checks", "kb.site", "kb.graph"):
        assert heavy not in loaded


def test_a_command_still_loads_what_it_needs() -> None:
    """The probe sees imports: `kb check --list` loads the checks (inside its handler)."""
    loaded = _loaded("check", "--list")
    assert "kb.checks" in loaded


def test_light_tables_match_the_modules_they_stand_for() -> None:
    """The help's tables are the ones the commands use."""
    from kb.export import EXPORT_DIR, FORMATS

    assert {k: (f, a) for k, (f, _, a) in FORMATS.items()} == kb.urls.EXPORT_FILES
    assert EXPORT_DIR == kb.urls.EXPORT_DIR
