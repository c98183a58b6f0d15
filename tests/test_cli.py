"""The command line: exit codes, output formats, --explain and --list, new, review and graph."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb.checks import CODES
from kb.pipeline import check_kb
from kb.reading.load import load_kb

DATA = Path(__file__).resolve().parent / "data"
TEXT_LINE = re.compile(
    r"(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): "
    r".+ \[(?P<code>[a-z-]+)\]"
)
GITHUB_LINE = re.compile(
    r"::(?P<sev>error|warning) file=(?P<path>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"title=(?P<code>[a-z-]+)::.+ \[(?P=code)\]"
)

MakeKB = Callable[[dict[str, str | bytes]], Path]  # the make_kb fixture (conftest.py)
RunKB = Callable[..., Any]  # the run_kb fixture (conftest.py)


@pytest.fixture
def valid(tmp_path: Path) -> Path:
    """A writable copy of the valid fixture."""
    return Path(shutil.copytree(DATA / "valid", tmp_path / "valid"))


@pytest.fixture
def failures(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DATA / "failures", tmp_path / "failures"))


WARNINGS_ONLY = {
    "sources/s.yaml": "type: book\ntitle: S\nevidence_level: rct\n",
    "claims/c.yaml": "statement: C.\nevidence: [{source: s, stance: supports}]\n",
}


class TestExitCodes:
    def test_valid_exits_0_even_strict(self, run_kb: RunKB, valid: Path) -> None:
        r = run_kb("-C", valid, "check", "--strict")
        assert (r.code, r.out) == (0, "")
        assert r.err.strip() == "0 error(s), 0 warning(s)"

    def test_errors_exit_1(self, run_kb: RunKB, failures: Path) -> None:
        assert run_kb("-C", failures, "check").code == 1

    def test_warnings_exit_0_unless_strict(self, run_kb: RunKB, make_kb: MakeKB) -> None:
        root = make_kb(WARNINGS_ONLY)
        r = run_kb("-C", root, "check")
        assert r.code == 0
        assert r.out == "claims/c.yaml:1:12: warning: claim c has not been reviewed [unreviewed]\n"
        assert r.err.strip() == "0 error(s), 1 warning(s)"
        assert run_kb("-C", root, "check", "--strict").code == 1

    def test_severity_override_decides_the_exit(self, run_kb: RunKB, make_kb: MakeKB) -> None:
        root = make_kb({**WARNINGS_ONLY, "kb.yaml": "severity:\n  unreviewed: error\n"})
        assert run_kb("-C", root, "check").code == 1
        root = make_kb({**WARNINGS_ONLY, "kb.yaml": "severity:\n  unreviewed: 'off'\n"})
        r = run_kb("-C", root, "check", "--strict")
        assert (r.code, r.out) == (0, "")

    def test_an_error_turned_warning_passes(self, run_kb: RunKB, make_kb: MakeKB) -> None:
        root = make_kb(
            {
                **WARNINGS_ONLY,
                "kb.yaml": "severity: {bad-doi: warning, unreviewed: 'off'}\n",
                "sources/s.yaml": "type: book\ntitle: S\nevidence_level: rct\nDOI: doi:x\n",
            }
        )
        r = run_kb("-C", root, "check")
        assert r.code == 0 and "warning: DOI 'doi:x'" in r.out
        assert run_kb("-C", root, "check", "--strict").code == 1

    def test_current_directory(
        self, run_kb: RunKB, failures: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(failures)
        here = run_kb("check")
        monkeypatch.chdir(failures.parent)
        assert here.code == 1
        assert here.out == run_kb("-C", "failures", "check").out

    @pytest.mark.parametrize(
        "args",
        [
            ["check", "--format", "xml"],
            ["check", "--no-such-option"],
            ["no-such-command"],
            [],
            ["new", "claim"],
            ["new", "thing", "x"],
            ["review", "c"],
        ],
    )
    def test_bad_usage_exits_2(self, run_kb: RunKB, valid: Path, args: list[str]) -> None:
        r = run_kb("-C", valid, *args)
        assert r.code == 2

    def test_C_to_a_missing_dir_or_a_file(self, run_kb: RunKB, tmp_path: Path) -> None:
        r = run_kb("-C", tmp_path / "nope", "check")
        assert r.code == 2 and "is not a directory" in r.err
        (tmp_path / "f").write_text("x")
        assert run_kb("-C", tmp_path / "f", "check").code == 2

    def test_help_exits_0_with_an_example(self, run_kb: RunKB) -> None:
        for cmd in ("init", "check", "graph", "new", "review", "quote"):
            r = run_kb(cmd, "--help")
            assert r.code == 0 and ("example:" in r.out or "examples:" in r.out), cmd
        r = run_kb("--help")
        assert r.code == 0 and "kb -C my-kb check" in r.out


class TestFormats:
    def test_text(self, run_kb: RunKB, failures: Path) -> None:
        r = run_kb("-C", failures, "check")
        lines = r.out.splitlines()
        assert lines
        for line in lines:
            m = TEXT_LINE.fullmatch(line)
            assert m, line
            assert (failures / m["path"]).exists(), line
        assert "claims/yaml-alias.yaml:1:12: error: YAML anchors and aliases are refused" in r.out
        assert re.fullmatch(r"\d+ error\(s\), \d+ warning\(s\)\n", r.err)

    def test_json(self, run_kb: RunKB, failures: Path) -> None:
        text = run_kb("-C", failures, "check").out.splitlines()
        r = run_kb("-C", failures, "check", "--format", "json")
        assert r.code == 1
        items = json.loads(r.out)
        assert isinstance(items, list) and len(items) == len(text)
        for item, line in zip(items, text, strict=True):
            assert set(item) == {"path", "line", "col", "severity", "code", "message"}
            assert isinstance(item["line"], int) and isinstance(item["col"], int)
            assert item["code"] in CODES
            assert line == (
                f"{item['path']}:{item['line']}:{item['col']}: {item['severity']}: "
                f"{item['message']} [{item['code']}]"
            )

    def test_json_of_a_clean_kb_is_an_empty_array(self, run_kb: RunKB, valid: Path) -> None:
        r = run_kb("-C", valid, "check", "--format", "json")
        assert (r.code, json.loads(r.out)) == (0, [])

    def test_github(self, run_kb: RunKB, failures: Path) -> None:
        r = run_kb("-C", failures, "check", "--format", "github")
        assert r.code == 1
        lines = r.out.splitlines()
        assert len(lines) == len(run_kb("-C", failures, "check").out.splitlines())
        for line in lines:
            assert GITHUB_LINE.fullmatch(line), line
        assert "::error file=claims/yaml-alias.yaml,line=1,col=12,title=yaml-alias::" in r.out
        assert "::warning file=claims/unreviewed.yaml,line=1,col=12,title=unreviewed::" in r.out

    def test_github_escapes_properties_and_newlines(self, run_kb: RunKB, make_kb: MakeKB) -> None:
        root = make_kb({"claims/a,b.yaml": "statement: x\n"})
        r = run_kb("-C", root, "check", "--format", "github")
        assert "::error file=claims/a%2Cb.yaml,line=1,col=1,title=bad-id::" in r.out


class TestExplainAndList:
    def test_explain_prints_the_docstring(self, run_kb: RunKB) -> None:
        r = run_kb("check", "--explain", "quote-drift")
        assert r.code == 0
        assert r.out.startswith("quote-drift (warning by default; quotes)\n\n")
        assert CODES["quote-drift"].doc in r.out

    def test_explain_an_unknown_code(self, run_kb: RunKB) -> None:
        r = run_kb("check", "--explain", "quote-drfit")
        assert r.code == 2
        assert "no check code 'quote-drfit' (did you mean 'quote-drift'?)" in r.err

    def test_list(self, run_kb: RunKB) -> None:
        r = run_kb("check", "--list")
        assert r.code == 0
        listed = {line.split()[0]: line.split()[1] for line in r.out.splitlines()}
        assert listed == {name: c.severity.value for name, c in CODES.items()}


class TestNew:
    @pytest.mark.parametrize("kind", ["claim", "expert", "source"])
    def test_template_loads_without_errors(self, run_kb: RunKB, tmp_path: Path, kind: str) -> None:
        (tmp_path / "kb.yaml").write_text("title: T\n")
        r = run_kb("-C", tmp_path, "new", kind, "my-record")
        path = tmp_path / f"{kind}s" / "my-record.yaml"
        assert r.code == 0 and str(path) in r.out
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# ")  # a commented template
        assert "docs/format.md" in text or kind == "source"
        kb, problems = load_kb(tmp_path)
        assert problems == []
        records = {"claim": kb.claims, "expert": kb.experts, "source": kb.sources}[kind]
        assert list(records) == ["my-record"]
        _, _, checked = check_kb(tmp_path)
        assert all(p.severity.value == "warning" for p in checked), checked

    def test_refuses_to_overwrite(self, run_kb: RunKB, valid: Path) -> None:
        path = valid / "claims" / "nmda-blockade.yaml"
        before = path.read_bytes()
        r = run_kb("-C", valid, "new", "claim", "nmda-blockade")
        assert r.code == 2 and "already exists" in r.err
        assert path.read_bytes() == before

    def test_refuses_when_a_yml_exists(self, run_kb: RunKB, make_kb: MakeKB) -> None:
        root = make_kb({"claims/x.yml": "statement: X.\n"})
        assert run_kb("-C", root, "new", "claim", "x").code == 2
        assert not (root / "claims" / "x.yaml").exists()

    def test_a_folder_that_cannot_be_made_is_bad_usage(self, run_kb: RunKB, tmp_path: Path) -> None:
        (tmp_path / "kb.yaml").write_text("title: T\n")
        (tmp_path / "claims").write_text("a file where the folder should be")
        r = run_kb("-C", tmp_path, "new", "claim", "x")
        assert r.code == 2 and "cannot write" in r.err

    @pytest.mark.parametrize("ident", ["Bad", "../x", "a_b", "-a", ""])
    def test_refuses_a_bad_id(self, run_kb: RunKB, tmp_path: Path, ident: str) -> None:
        assert run_kb("-C", tmp_path, "new", "claim", ident).code == 2
        assert not (tmp_path / "claims").exists() or not any((tmp_path / "claims").iterdir())


class TestReview:
    def review(self, run_kb: RunKB, root: Path, *extra: str) -> Any:
        return run_kb(
            "-C", root, "review", "rapid-onset", "--verdict", "needs-context",
            "--reviewer", "jane-doe", *extra,
        )  # fmt: skip

    def test_writes_the_block_and_keeps_the_rest(
        self, run_kb: RunKB, valid: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
        path = valid / "claims" / "nmda-blockade.yaml"
        before = path.read_text(encoding="utf-8")
        r = run_kb(
            "-C", valid, "review", "nmda-blockade", "--verdict", "mostly-accurate",
            "--reviewer", "jane-doe", "--rationale", 'Says "first": one study.',
        )  # fmt: skip
        assert r.code == 0
        after = path.read_text(encoding="utf-8")
        head = before[: before.index("review:")]
        assert after.startswith(head)  # every line before, comments included, unchanged
        assert after.startswith("# The first step of the mechanism.\n")
        kb, problems = load_kb(valid)
        review = kb.claims["nmda-blockade"].review  # type: ignore[index]
        assert problems == [] and review is not None
        assert (review.verdict, review.reviewer, review.date) == (
            "mostly-accurate",
            "jane-doe",
            "2026-01-01",
        )
        assert review.rationale == 'Says "first": one study.'
        assert review.fingerprint and review.fingerprint.startswith("s:")  # part by part
        assert [h.verdict for h in review.history] == ["accurate"]
        assert run_kb("-C", valid, "check", "--strict").code == 0

    def test_keeps_the_old_rationale_and_explicit_date(self, run_kb: RunKB, valid: Path) -> None:
        assert self.review(run_kb, valid, "--date", "2026-02-03").code == 0
        review = load_kb(valid)[0].claims["rapid-onset"].review  # type: ignore[index]
        assert review is not None and review.date == "2026-02-03"
        assert review.rationale == "One small trial; the animal result is not the human one."

    def test_an_edit_makes_the_review_stale_until_reviewed_again(
        self, run_kb: RunKB, valid: Path
    ) -> None:
        path = valid / "claims" / "rapid-onset.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("the effect appears within hours", "the effect appears"))
        r = run_kb("-C", valid, "check")
        assert r.code == 0
        assert re.search(
            r"^claims/rapid-onset\.yaml:\d+:\d+: warning: .*\[stale-review\]$", r.out, re.M
        )
        assert run_kb("-C", valid, "check", "--strict").code == 1
        assert self.review(run_kb, valid).code == 0
        assert run_kb("-C", valid, "check", "--strict").code == 0

    def test_a_snapshot_edit_makes_the_review_stale(self, run_kb: RunKB, valid: Path) -> None:
        (valid / "sources" / "doe-lecture.txt").write_text(
            "So, the drug blocks NMDA receptors - that's the first step. Edited.\n"
        )
        r = run_kb("-C", valid, "check")
        assert "claims/nmda-blockade.yaml" in r.out and "[stale-review]" in r.out
        assert "rapid-onset" not in r.out  # it does not quote that source

    def test_a_claim_with_no_review_gets_one_at_the_end(
        self, run_kb: RunKB, make_kb: MakeKB
    ) -> None:
        root = make_kb(
            {
                "experts/r.yaml": "name: R\n",
                "claims/c.yaml": "statement: C.  # a comment\r\ntopics: [t]",  # CRLF, no last EOL
            }
        )
        r = run_kb("-C", root, "review", "c", "--verdict", "unverifiable", "--reviewer", "r")
        assert r.code == 0
        data = (root / "claims" / "c.yaml").read_bytes()
        assert data.startswith(b"statement: C.  # a comment\r\ntopics: [t]\r\nreview:\r\n")
        assert b"\n" not in data.replace(b"\r\n", b"")
        assert load_kb(root)[0].claims["c"].verdict == "unverifiable"  # type: ignore[index]

    def test_a_byte_order_mark_is_kept(self, run_kb: RunKB, make_kb: MakeKB) -> None:
        root = make_kb({"experts/r.yaml": "name: R\n", "claims/c.yaml": "\ufeffstatement: C.\n"})
        assert (
            run_kb("-C", root, "review", "c", "--verdict", "accurate", "--reviewer", "r").code == 0
        )
        data = (root / "claims" / "c.yaml").read_bytes()
        assert data.startswith(b"\xef\xbb\xbfstatement: C.\nreview:\n")
        assert load_kb(root)[1] == []

    def test_a_fingerprint_of_digits_is_written_as_text(
        self, run_kb: RunKB, make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Unquoted, 012345670123 would read back as the octal number 5744185427."""
        import kb.text.fingerprint  # kb.cli.review imports it when it runs

        monkeypatch.setattr(kb.text.fingerprint, "fingerprint", lambda kb, claim: "012345670123")
        root = make_kb({"experts/r.yaml": "name: R\n", "claims/c.yaml": "statement: C.\n"})
        assert (
            run_kb("-C", root, "review", "c", "--verdict", "accurate", "--reviewer", "r").code == 0
        )
        review = load_kb(root)[0].claims["c"].review  # type: ignore[index]
        assert review is not None and review.fingerprint == "012345670123"

    def test_a_review_in_the_middle_is_replaced_in_place(
        self, run_kb: RunKB, make_kb: MakeKB
    ) -> None:
        root = make_kb(
            {
                "experts/r.yaml": "name: R\n",
                "claims/c.yaml": "statement: C.\nreview:\n  verdict: accurate\n  # old note\n\n"
                "# Topics of the claim:\ntopics: [t]\n",
            }
        )
        assert (
            run_kb("-C", root, "review", "c", "--verdict", "misleading", "--reviewer", "r").code
            == 0
        )
        text = (root / "claims" / "c.yaml").read_text()
        assert text.startswith("statement: C.\nreview:\n  verdict: misleading\n")
        assert text.endswith("\n# Topics of the claim:\ntopics: [t]\n")
        assert "# old note" in text
        kb = load_kb(root)[0]
        assert kb.claims["c"].topics == ("t",)  # type: ignore[index]
        review = kb.claims["c"].review  # type: ignore[index]
        assert review is not None and review.reviewer == "r"
        assert [h.verdict for h in review.history] == ["accurate"]  # the old one, kept

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["nope", "--verdict", "accurate", "--reviewer", "ed-itor"], "no claim 'nope'"),
            (["rapid-onset", "--verdict", "accurate", "--reviewer", "ed-iter"], "(did you mean"),
            (["rapid-onset", "--verdict", "great", "--reviewer", "ed-itor"], "invalid choice"),
            (
                ["rapid-onset", "--verdict", "accurate", "--reviewer", "ed-itor", "--date", "2026"],
                "must be YYYY-MM-DD",
            ),
        ],
    )
    def test_refusals_change_nothing(
        self, run_kb: RunKB, valid: Path, args: list[str], message: str
    ) -> None:
        def files() -> dict[Path, bytes]:  # the base's files (not kb's cache: kb.fast.stored)
            return {p: p.read_bytes() for p in valid.rglob("*") if p.is_file()
                    and ".kb-cache" not in p.relative_to(valid).parts}  # fmt: skip

        before = files()
        r = run_kb("-C", valid, "review", *args)
        assert r.code == 2 and message in r.err
        assert files() == before


def test_graph(run_kb: RunKB, valid: Path) -> None:
    r = run_kb("-C", valid, "graph")
    assert r.code == 0
    assert r.out.startswith("9 nodes, 15 edges\nnodes: 2 claim, 2 expert, 3 source, 2 topic\n")
    assert "most connected sources:\n     5  example-news\n" in r.out
    r = run_kb("-C", valid, "graph", "--top", "1")
    assert "most connected claims:\n     8  rapid-onset\nmost connected sources:" in r.out


def test_graph_of_a_broken_kb_still_prints(run_kb: RunKB, failures: Path) -> None:
    r = run_kb("-C", failures, "graph")
    assert r.code == 0 and re.match(r"\d+ nodes, \d+ edges\n", r.out)
