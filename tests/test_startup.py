"""Start-up: `kb --version` and `kb --help` load kb.cli alone, a command's --help loads its
own module and no heavy one, and `kb check` loads what checking needs and nothing of the site.

kb.cli lists the commands by name and loads only the module of the command given; the command
modules (kb/cli/) import the loader, the checks, networkx, jinja2 and the renderer inside their
handlers; the checks read the graph as plain dicts (kb.graph.Links). A fresh interpreter shows
which modules each run loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

import kb.urls
from kb.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
MakeKB = Callable[[Mapping[str, str | bytes]], Path]  # the make_kb fixture (conftest.py)

# What a command's --help needs besides the command modules: the small tables they list
# (verdicts, style names, export files, the templates `kb new` writes) and the errors.
ALLOWED_KB = {
    "kb",
    "kb.cli",
    "kb.codes",
    "kb.errors",
    "kb.model",
    "kb.reading",
    "kb.reading.templates",
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


def _loaded(*argv: str, code: int = 0) -> list[str]:
    """The modules `kb ARGV` loaded, in a fresh interpreter; it printed and exited with `code`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, check=False
    )
    result = json.loads(run.stderr.strip().splitlines()[-1])
    assert result["code"] == code, run.stderr
    assert run.stdout.strip() or code, "nothing printed"
    return list(result["loaded"])


@pytest.mark.parametrize(
    ("argv", "code"), [(("--version",), 0), (("--help",), 0), (("-C", "x", "--help"), 0), ((), 2)]
)
def test_version_and_help_load_the_command_line_alone(argv: tuple[str, ...], code: int) -> None:
    """No command module: `kb --help` (and `kb` alone) lists the commands from kb.cli's table."""
    loaded = _loaded(*argv, code=code)
    assert {m for m in loaded if m == "kb" or m.startswith("kb.")} == {"kb", "kb.cli"}
    others = {m.partition(".")[0] for m in loaded if not m.startswith("kb")}
    assert others <= set(sys.stdlib_module_names), sorted(others - set(sys.stdlib_module_names))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_commands_help_loads_nothing_heavy(command: str) -> None:
    loaded = _loaded(command, "--help")
    ours = {m for m in loaded if m == "kb" or m.startswith("kb.")}
    cli = {m for m in ours if m.startswith("kb.cli.")}
    assert f"kb.cli.{COMMANDS[command].module}" in cli
    assert ours - cli <= ALLOWED_KB, sorted(ours - cli - ALLOWED_KB)
    others = {m.partition(".")[0] for m in loaded if m not in ours}
    assert others <= set(sys.stdlib_module_names), sorted(others - set(sys.stdlib_module_names))


def test_a_mistyped_command_loads_no_command_module() -> None:
    loaded = _loaded("chek", code=2)
    assert not [m for m in loaded if m.startswith("kb.") and m != "kb.cli"]


def test_a_command_loads_its_own_module_only() -> None:
    cli = {m for m in _loaded("check", "--help") if m.startswith("kb.cli.")}
    assert cli == {"kb.cli.commands", "kb.cli.report"}


# What `kb check` has no use for: the graph library (the checks read kb.graph.Links), the site,
# the exports, the citations (pandoc, CSL), the build and its memory, the YAML writer of edits.
NOT_FOR_CHECK = (
    "networkx",
    "jinja2",
    "markupsafe",
    "ruamel",
    "kb.site",
    "kb.export",
    "kb.cite",
    "kb.output",
    "kb.build",
    "kb.fast.memory",
    "kb.reading.edit",
)


def test_check_loads_nothing_of_the_site(tmp_path: Path) -> None:
    """`kb check` on the bundled base: the loader and the checks, nothing heavy besides."""
    for name in ("claims", "experts", "sources"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "kb.yaml", tmp_path / "kb.yaml")
    for _ in range(2):  # the second run takes the readings from the store (kb.fast.stored)
        loaded = _loaded("-C", str(tmp_path), "check")
        assert "kb.checks" in loaded and "kb.reading.load" in loaded
        heavy = [m for m in loaded if m.partition(".")[0] in NOT_FOR_CHECK or m in NOT_FOR_CHECK]
        heavy += [m for m in loaded if m.startswith(tuple(f"{h}." for h in NOT_FOR_CHECK))]
        assert not heavy, sorted(set(heavy))


def test_a_loop_still_gets_the_graph_library(make_kb: MakeKB) -> None:
    """networkx is imported when there is a loop to report (kb.checks.evidence)."""
    root = make_kb(
        {
            "sources/a.yaml": "title: A\ntype: webpage\nderived_from: [b]\n",
            "sources/b.yaml": "title: B\ntype: webpage\nderived_from: [a]\n",
        }
    )
    loaded = _loaded("-C", str(root), "check", "--strict", code=1)
    assert "networkx" in loaded


def test_a_command_still_loads_what_it_needs() -> None:
    """The probe sees imports: `kb check --list` loads the checks (inside its handler)."""
    loaded = _loaded("check", "--list")
    assert "kb.checks" in loaded


def test_light_tables_match_the_modules_they_stand_for() -> None:
    """The help's tables are the ones the commands use."""
    from kb.export import EXPORT_DIR, FORMATS

    assert {k: (f, a) for k, (f, _, a) in FORMATS.items()} == kb.urls.EXPORT_FILES
    assert EXPORT_DIR == kb.urls.EXPORT_DIR


def test_the_table_lists_every_command_as_its_module_registers_it() -> None:
    """`kb --help` lists COMMANDS without loading a module: the same commands, order and
    summaries as the parser of every module."""
    import argparse

    from kb.cli import make_parser

    def listed(parser: argparse.ArgumentParser) -> list[tuple[str, str | None]]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return [(c.dest, c.help) for c in sub._choices_actions]

    table = [(name, c.summary) for name, c in COMMANDS.items()]
    assert listed(make_parser()) == table
    assert listed(make_parser(())) == table
    assert make_parser().format_help() == make_parser(()).format_help()


def _program(script: str, *argv: str | Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, argv)], capture_output=True, env=env, check=False
    )


RUN = "import sys; sys.argv[0] = 'kb'; from kb.cli import run; run()"


def test_the_program_ends_with_every_byte_written_and_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kb` as a program (kb.cli.run: the console script and `python -m kb`) ends without the
    interpreter's clean-up: what it printed is all there, through a pipe, with main()'s exit
    code."""
    from conftest import generate_kb

    from kb.cli import main

    base = generate_kb(tmp_path / "kb")
    ran = _program(RUN, "-C", base, "check", "--format", "json")
    capsys.readouterr()
    code = main(["-C", str(base), "check", "--format", "json"])
    assert ran.stdout.decode() == capsys.readouterr().out  # every byte, as printed in process
    assert ran.returncode == code == 0 and len(json.loads(ran.stdout)) > 50
    bad = _program(RUN, "-C", tmp_path / "missing", "check")
    assert bad.returncode == 2 and b"is not a directory" in bad.stderr
    module = subprocess.run(
        [sys.executable, "-m", "kb", "--version"],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert module.returncode == 0 and module.stdout.startswith(b"kb ")


def test_the_program_waits_for_a_thread_still_at_work(tmp_path: Path) -> None:
    """When another thread is alive as main() returns, the exit is the usual one, which waits
    for it: nothing it was writing is cut short."""
    done = tmp_path / "done"
    script = (
        "import sys, threading, time\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        f"    open({str(done)!r}, 'w').write('finished')\n"
        "threading.Thread(target=work).start()\n" + RUN.replace("; ", "\n")
    )
    ran = _program(script, "--version")
    assert ran.returncode == 0 and ran.stdout.startswith(b"kb ")
    assert done.read_text() == "finished"
