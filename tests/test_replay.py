"""The result of `kb check` kept between runs (kb.fast.replay): replayed only while no file the
loader reads or lists changed, exactly as a full run prints it; any edit, new, deleted or
touched file makes a full run; a damaged, forged or copied result is never used.

The stamps of files changed in the last seconds are not trusted (kb.reading.files._trusted),
and the files of these tests are all that new: most tests let the replay trust them
(`trusting`); one counts every file as just changed and checks that nothing is kept."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import RunKB

import kb.fast.replay as replay
import kb.pipeline as pipeline
import kb.reading.files as files
from kb.fast.replay import FILE_NAME


@pytest.fixture()
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust the stamps of files however recently changed (every edit below changes a size)."""
    monkeypatch.setattr(files, "_RACY_NS", -(10**18))


@pytest.fixture()
def full_runs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Count the runs that open and check the base (a replay opens nothing)."""
    runs: list[Path] = []
    real = pipeline.open_base

    def counting(root: Path) -> pipeline.Base:
        runs.append(root)
        return real(root)

    monkeypatch.setattr(pipeline, "open_base", counting)
    return runs


def _runs(run_kb: RunKB, root: Path) -> list[tuple[int, str, str]]:
    """`kb check` in each format, and --strict: (exit code, stdout, stderr) of each."""
    out = []
    for args in (["--format", "text"], ["--format", "json"], ["--format", "github"], ["--strict"]):
        r = run_kb("-C", root, "check", *args)
        out.append((r.code, r.out, r.err))
    return out


@pytest.mark.usefixtures("trusting")
def test_an_untouched_base_is_replayed_exactly(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path]
) -> None:
    first = _runs(run_kb, synthetic)
    assert len(full_runs) == 1  # the first run stored its result; the others replayed it
    assert (synthetic / ".kb-cache" / FILE_NAME).is_file()
    assert '"code": "unreviewed"' in first[1][1] and first[3][0] == 1  # warnings: --strict fails
    said = "no file changed since the last check"  # the text format says where it came from
    assert said not in first[0][2] and said in first[3][2]
    (synthetic / ".kb-cache" / FILE_NAME).unlink()
    assert _runs(run_kb, synthetic) == first  # every format and exit code, as a full run gives
    assert len(full_runs) == 2


def _edit(root: Path, kind: str) -> None:
    claim = sorted((root / "claims").glob("*.yaml"))[2]
    if kind == "claim":  # its quote is no longer in the snapshot
        claim.write_text(claim.read_text().replace('- text: "', '- text: "Never said ', 1))
    elif kind == "new-claim":
        (root / "claims" / "c9.yaml").write_text("statement: New\nreview: {verdict: nope}\n")
    elif kind == "deleted-claim":
        claim.unlink()
    elif kind == "snapshot":
        snap = sorted((root / "sources").glob("*.txt"))[0]
        snap.write_text("Nothing of what was quoted.\n")
    elif kind == "source":
        source = sorted((root / "sources").glob("*.yaml"))[0]
        source.write_text(source.read_text().replace("title: ", "titel: ", 1))
    elif kind == "expert":
        sorted((root / "experts").glob("*.yaml"))[0].write_text("name: [not, text]\n")
    elif kind == "config":
        with (root / "kb.yaml").open("a") as f:
            f.write("severity: {unreviewed: off}\n")
    elif kind == "stray":
        (root / "sources" / "notes.md").write_text("a stray file\n")
    elif kind == "link":  # a claim replaced by a link to a file outside the base
        outside = root.parent / "outside.yaml"
        outside.write_text(claim.read_text())
        claim.unlink()
        claim.symlink_to(outside)
    elif kind == "kb.yml":
        (root / "kb.yml").write_text("title: Two\n")


EDITS = ["claim", "new-claim", "deleted-claim", "snapshot", "source", "expert", "config"]


@pytest.mark.usefixtures("trusting")
@pytest.mark.parametrize("kind", [*EDITS, "stray", "link", "kb.yml"])
def test_any_change_makes_a_full_run(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path], kind: str
) -> None:
    before = run_kb("-C", synthetic, "check", "--format", "json")
    _edit(synthetic, kind)
    after = run_kb("-C", synthetic, "check", "--format", "json")
    assert len(full_runs) == 2, kind
    if kind != "kb.yml":  # kb.yml is not read while kb.yaml is there: the same problems
        assert after.out != before.out, kind
    # what a run without any stored result finds
    shutil.rmtree(synthetic / ".kb-cache")
    assert run_kb("-C", synthetic, "check", "--format", "json").out == after.out
    # and the new result is replayed next time
    assert run_kb("-C", synthetic, "check", "--format", "json").out == after.out
    assert len(full_runs) == 3


@pytest.mark.usefixtures("trusting")
def test_a_hidden_file_changes_nothing(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path]
) -> None:
    """Editors' swap files in the record folders are not read: they do not stop the replay."""
    before = run_kb("-C", synthetic, "check")
    (synthetic / "claims" / ".c000002.yaml.swp").write_bytes(b"\0" * 100)
    again = run_kb("-C", synthetic, "check")
    assert (again.code, again.out) == (before.code, before.out)
    assert len(full_runs) == 1


def test_files_changed_seconds_ago_are_not_trusted(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change in the same clock tick as the stamp could not be told apart later: a run over
    files changed within _RACY_NS of it keeps no result (here every file is that recent,
    however long the machine took to get here)."""
    monkeypatch.setattr(files, "_RACY_NS", 10**18)
    first = run_kb("-C", synthetic, "check")
    assert not (synthetic / ".kb-cache" / FILE_NAME).exists()
    assert run_kb("-C", synthetic, "check") == first
    assert len(full_runs) == 2


@pytest.mark.usefixtures("trusting")
@pytest.mark.parametrize("damage", ["garbage", "json", "problem", "deep", "directory", "link"])
def test_a_damaged_or_forged_result_is_ignored(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path], tmp_path: Path, damage: str
) -> None:
    want = run_kb("-C", synthetic, "check", "--format", "json")
    stored = synthetic / ".kb-cache" / FILE_NAME
    data = json.loads(stored.read_text())
    if damage == "garbage":
        stored.write_bytes(os.urandom(2000))
    elif damage == "json":
        stored.write_text(json.dumps({**data, "problems": "none"}))
    elif damage == "problem":  # a row this module does not write: a severity that is none
        forged = json.loads(stored.read_text())
        forged["problems"][0][5] = "fatal"
        stored.write_text(json.dumps(forged))
    elif damage == "deep":
        stored.write_text("[" * 100_000 + "]" * 100_000)
    elif damage == "directory":
        stored.unlink()
        stored.mkdir()
    else:  # a link to a result elsewhere that says nothing is wrong: not followed
        elsewhere = tmp_path / "elsewhere.json"
        elsewhere.write_text(json.dumps({**data, "problems": []}))
        stored.unlink()
        stored.symlink_to(elsewhere)
    got = run_kb("-C", synthetic, "check", "--format", "json")
    assert (got.code, got.out) == (want.code, want.out)
    assert len(full_runs) == 2 and "Traceback" not in got.err
    if damage in ("garbage", "json", "problem", "deep"):
        assert f"{FILE_NAME} is not a check result kb wrote" in got.err
        assert json.loads(stored.read_text()) == data  # made again
    else:
        assert f"{FILE_NAME} cannot be read" in got.err


@pytest.mark.usefixtures("trusting")
def test_a_result_that_came_with_a_copied_base_is_not_used(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path], tmp_path: Path
) -> None:
    """A received base's stored result could say that nothing is wrong: it is keyed by the
    files' inodes and change times, which a copy does not keep."""
    want = run_kb("-C", synthetic, "check", "--format", "json")
    copy = tmp_path / "received"
    shutil.copytree(synthetic, copy)
    stored = copy / ".kb-cache" / FILE_NAME
    stored.write_text(json.dumps({**json.loads(stored.read_text()), "problems": []}))
    got = run_kb("-C", copy, "check", "--format", "json")
    assert (got.code, got.out) == (want.code, want.out)
    assert len(full_runs) == 2


@pytest.mark.usefixtures("trusting")
def test_another_version_of_kb_makes_a_full_run(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    want = run_kb("-C", synthetic, "check", "--format", "json")
    monkeypatch.setattr(replay, "code_version", lambda: "other code")
    assert run_kb("-C", synthetic, "check", "--format", "json") == want
    assert len(full_runs) == 2


@pytest.mark.usefixtures("trusting")
def test_an_empty_base_still_says_so(tmp_path: Path, run_kb: RunKB) -> None:
    (tmp_path / "kb.yaml").write_text("title: Empty\n")
    for _ in range(2):
        r = run_kb("-C", tmp_path, "check")
        assert r.code == 0 and "no records yet" in r.err


@pytest.mark.usefixtures("trusting")
def test_kb_check_after_kb_build_replays_what_the_build_found(
    synthetic: Path, run_kb: RunKB, full_runs: list[Path], tmp_path: Path
) -> None:
    """The build's summary points to `kb check` for the whole list: it is the build's."""
    (synthetic / "claims" / "c9.yaml").write_text("statement: New\nreview: {verdict: nope}\n")
    built = run_kb("-C", synthetic, "build", "--out", tmp_path / "site")
    assert built.code == 1 and "bad-value" in built.err  # a build stopped by errors stores too
    after = run_kb("-C", synthetic, "check", "--format", "json")
    assert full_runs == []  # replayed
    shutil.rmtree(synthetic / ".kb-cache")
    assert run_kb("-C", synthetic, "check", "--format", "json") == after
    (synthetic / "claims" / "c9.yaml").unlink()
    assert run_kb("-C", synthetic, "build", "--out", tmp_path / "site").code == 0
    after = run_kb("-C", synthetic, "check", "--format", "json")
    assert len(full_runs) == 1
    shutil.rmtree(synthetic / ".kb-cache")
    assert run_kb("-C", synthetic, "check", "--format", "json") == after
