"""The loader and the checks on small knowledge bases: places, messages and severities."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import fail_helper

from kb.errors import Problem, Severity
from kb.pipeline import check_kb
from kb.reading.load import load_kb
from kb.reading.yamlio import MAX_BYTES

MakeKB = Callable[[dict[str, str | bytes]], Path]  # the make_kb fixture (conftest.py)

# A claim that raises nothing by itself: evidence from a primary source, and a review.
OK_TAIL = "evidence: [{source: s, stance: supports}]\nreview: {verdict: accurate, reviewer: r}\n"
BASE = {
    "sources/s.yaml": "type: article-journal\ntitle: S\nevidence_level: rct\n",
    "experts/r.yaml": "name: R\n",
}


def problems(make_kb: MakeKB, files: dict[str, str | bytes]) -> list[Problem]:
    root = make_kb({**BASE, **files})
    return check_kb(root)[2]


def places(found: list[Problem]) -> list[tuple[str, str, int, int]]:
    return [(p.code, p.loc.path, p.loc.line, p.loc.col) for p in found]


def test_the_base_is_clean(make_kb: MakeKB) -> None:
    assert problems(make_kb, {"claims/c.yaml": "statement: C.\n" + OK_TAIL}) == []


@pytest.mark.parametrize(
    ("claim", "where", "message"),
    [
        ("quotes:\n  - source: s\n", (3, 5), "a quote needs a 'text' key"),
        ("quotes:\n  - text: x\n", (3, 5), "a quote needs a 'source' key"),
        ("quotes:\n  - {text: x, source: s, origin: unknown}\n", None, ""),
        ("related:\n  - claim: c\n", (3, 5), "a related item needs a 'relation' key"),
    ],
)
def test_missing_keys_in_nested_records(
    make_kb: MakeKB, claim: str, where: tuple[int, int], message: str
) -> None:
    found = problems(make_kb, {"claims/c.yaml": "statement: C.\n" + claim + OK_TAIL})
    found = [p for p in found if p.code == "missing-key"]
    assert places(found) == ([("missing-key", "claims/c.yaml", *where)] if where else [])
    assert all(message in p.message for p in found)


def test_an_origin_needs_source_and_text(make_kb: MakeKB) -> None:
    claim = "statement: C.\nquotes:\n  - {text: x, source: s, origin: {source: s}}\n" + OK_TAIL
    found = [p for p in problems(make_kb, {"claims/c.yaml": claim}) if p.code == "missing-key"]
    assert places(found) == [("missing-key", "claims/c.yaml", 3, 34)]
    assert found[0].message == "an origin (or the word unknown or first-hand) needs a 'text' key"


def test_missing_keys_everywhere(make_kb: MakeKB) -> None:
    found = problems(
        make_kb,
        {
            "claims/c.yaml": "statement: ''\nevidence: [{source: s}]\nreview: {reviewer: r}\n",
            "experts/e.yaml": "credentials: MD\nroles: [{organization: Yale}]\n",
            "sources/t.yaml": "title: T\nauthor: [{given: Ann}, {suffix: Jr}]\n",
            "sources/u.yaml": "type: book\n",
        },
    )
    got = {(p.loc.path, p.loc.line, p.message) for p in found if p.code == "missing-key"}
    assert got == {
        ("claims/c.yaml", 1, "a claim needs a 'statement' key"),
        ("claims/c.yaml", 2, "an evidence item needs a 'stance' key"),
        ("claims/c.yaml", 3, "a review needs a 'verdict' key"),
        ("experts/e.yaml", 1, "an expert needs a 'name' key"),
        ("experts/e.yaml", 2, "a role needs a 'title' key"),
        ("sources/t.yaml", 1, "a source needs a 'type' key"),
        ("sources/t.yaml", 2, "a name (or give 'given' or 'literal') needs a 'family' key"),
    }


def test_unknown_keys_suggest_the_closest(make_kb: MakeKB) -> None:
    found = problems(
        make_kb,
        {
            "claims/c.yaml": "statement: C.\nquotes:\n  - txt: x\n    source: s\n" + OK_TAIL,
            "sources/t.yaml": "type: book\ntitle: T\ncontainer_title: X\nfoo: 1\n",
        },
    )
    msgs = {
        (p.loc.path, p.loc.line, p.loc.col): p.message for p in found if p.code == "unknown-key"
    }
    assert msgs == {
        ("claims/c.yaml", 3, 5): "unknown key 'txt' in a quote (did you mean 'text'?)",
        ("sources/t.yaml", 3, 1): "unknown key 'container_title' in a source "
        "(did you mean 'container-title'?)",
        ("sources/t.yaml", 4, 1): "unknown key 'foo' in a source",
    }


def test_not_a_mapping(make_kb: MakeKB) -> None:
    found = problems(
        make_kb,
        {
            "claims/empty.yaml": "",
            "claims/text.yaml": "just some text\n",
            "claims/c.yaml": "statement: C.\nquotes: [a quote]\n" + OK_TAIL,
        },
    )
    got = {(p.loc.path, p.loc.line, p.loc.col, p.message) for p in found}
    assert got == {
        ("claims/c.yaml", 2, 10, "a quote must be a mapping of keys to values, not text"),
        (
            "claims/empty.yaml",
            1,
            1,
            "a claim must be a mapping of keys to values, not an empty file",
        ),
        ("claims/text.yaml", 1, 1, "a claim must be a mapping of keys to values, not text"),
    }


def test_types_values_dates(make_kb: MakeKB) -> None:
    found = problems(
        make_kb,
        {
            "claims/c.yaml": "statement: [not, text]\n"
            "evidence: [{source: s, stance: support}]\n"
            "review: {verdict: accurate, reviewer: r, date: 2026-13-01}\n",
            "sources/t.yaml": "type: articel\ntitle: T\nissued: 20 May 2010\n"
            "author: Ann Li\nretracted: 'no'\npage: 12\nvolume: [1]\n",
        },
    )
    got = {(p.code, p.loc.path, p.loc.line) for p in found}
    assert {
        ("bad-type", "claims/c.yaml", 1),
        ("bad-value", "claims/c.yaml", 2),
        ("bad-date", "claims/c.yaml", 3),
        ("bad-value", "sources/t.yaml", 1),
        ("bad-date", "sources/t.yaml", 3),
        ("bad-type", "sources/t.yaml", 4),
        ("bad-type", "sources/t.yaml", 5),
        ("bad-type", "sources/t.yaml", 7),
    } <= got
    by_line = {(p.loc.path, p.loc.line): p.message for p in found}
    assert "did you mean 'supports'?" in by_line[("claims/c.yaml", 2)]
    assert (
        "(did you mean 'article'?); allowed: article, article-journal,"
        in by_line[("sources/t.yaml", 1)]
    )
    assert not any(p.loc.line == 6 for p in found if p.loc.path == "sources/t.yaml")  # page: 12


def test_a_title_may_be_a_number(make_kb: MakeKB) -> None:
    root = make_kb({"sources/t.yaml": "type: book\ntitle: 1984\n"})
    kb, found = load_kb(root)
    assert found == [] and kb.sources["t"].title == "1984"  # type: ignore[index]


@pytest.mark.parametrize("date", ["2010", "2010-08", "2010-08-20", "2024-02-29"])
def test_good_dates(make_kb: MakeKB, date: str) -> None:
    found = problems(make_kb, {"sources/t.yaml": f"type: book\ntitle: T\nissued: {date}\n"})
    assert [p.code for p in found if p.loc.path == "sources/t.yaml"] == ["orphan-source"]


@pytest.mark.parametrize("date", ["2010-8-20", "2023-02-29", "2010-00", "10-08-2010", "yesterday"])
def test_bad_dates(make_kb: MakeKB, date: str) -> None:
    found = problems(make_kb, {"sources/t.yaml": f"type: book\ntitle: T\nissued: {date}\n"})
    assert [(p.code, p.loc.line, p.loc.col) for p in found if p.code.startswith("bad")] == [
        ("bad-date", 3, 9)
    ]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a?b=c#d", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("file:///etc/passwd", False),
        ("/relative/path", False),
        ("example.org", False),
        ("https://", False),
        ("https://exa mple.org", False),
    ],
)
def test_urls(make_kb: MakeKB, url: str, ok: bool) -> None:
    found = problems(make_kb, {"sources/t.yaml": f"type: webpage\ntitle: T\nURL: '{url}'\n"})
    assert [p.code for p in found if p.code == "bad-url"] == ([] if ok else ["bad-url"])


@pytest.mark.parametrize(
    ("doi", "ok"),
    [
        ("10.1126/science.1190287", True),
        ("10.1000/xyz(123)", True),
        ("https://doi.org/10.1126/science.1190287", True),  # read as the bare DOI
        ("doi:10.1126/x", True),
        ("10.1000.10/123", True),  # a subdivided registrant code
        ("10.978.86123/45678", True),  # an ISBN-A
        ("https://example.org/10.1126/x", False),
        ("10.12/x", False),
        ("10.1126/", False),
    ],
)
def test_dois(make_kb: MakeKB, doi: str, ok: bool) -> None:
    found = problems(make_kb, {"sources/t.yaml": f"type: book\ntitle: T\nDOI: '{doi}'\n"})
    assert [p.code for p in found if p.code == "bad-doi"] == ([] if ok else ["bad-doi"])


def test_ids(make_kb: MakeKB) -> None:
    found = problems(
        make_kb,
        {
            "claims/Upper.yaml": "statement: U.\n",
            "claims/-dash.yaml": "statement: D.\n",
            "claims/" + "a" * 81 + ".yaml": "statement: Long.\n",
            "claims/" + "a" * 80 + ".yaml": "statement: Long enough.\n" + OK_TAIL,
            "claims/dup.yaml": "statement: One.\n" + OK_TAIL,
            "claims/dup.yml": "statement: Two.\n",
            "experts/x.yaml": "id: y\nname: X\n",
        },
    )
    got = sorted((p.code, p.loc.path) for p in found if p.code != "orphan-expert")
    assert got == [
        ("bad-id", "claims/-dash.yaml"),
        ("bad-id", "claims/Upper.yaml"),
        ("bad-id", "claims/" + "a" * 81 + ".yaml"),
        ("duplicate-id", "claims/dup.yml"),
        ("id-mismatch", "experts/x.yaml"),
    ]


def test_files_that_are_not_records(make_kb: MakeKB) -> None:
    root = make_kb(
        {
            **BASE,
            "claims/notes.md": "notes",
            "claims/sub/c.yaml": "statement: C.\n",
            "claims/.hidden.yaml": "not: read\n",
            "experts/photo.jpg": b"\xff\xd8",
            "sources/unused.txt": "a snapshot nobody names",
            "claims/c.yaml": "statement: C.\n" + OK_TAIL,
        }
    )
    found = check_kb(root)[2]
    assert [(p.code, p.loc.path, p.severity) for p in found] == [
        ("stray-file", "claims/notes.md", Severity.WARNING),
        ("stray-file", "claims/sub", Severity.WARNING),
        ("stray-file", "experts/photo.jpg", Severity.WARNING),
        ("stray-file", "sources/unused.txt", Severity.WARNING),
    ]
    assert "no source names it" in found[-1].message


def test_links_outside_the_knowledge_base_are_refused(make_kb: MakeKB, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text("statement: Secret.\n")
    root = make_kb({**BASE, "claims/c.yaml": "statement: C.\n" + OK_TAIL})
    os.symlink(outside / "secret.yaml", root / "claims" / "secret.yaml")
    os.symlink(outside, root / "experts-link")
    (root / "experts").rename(root / "experts-real")
    os.symlink(outside, root / "experts")
    kb, found = load_kb(root)
    assert {(p.code, p.loc.path) for p in found} == {
        ("unsafe-path", "claims/secret.yaml"),
        ("unsafe-path", "experts"),
    }
    assert "secret" not in kb.claims


def test_a_link_inside_the_knowledge_base_is_read(make_kb: MakeKB) -> None:
    root = make_kb({**BASE, "claims/c.yaml": "statement: C.\n" + OK_TAIL})
    os.symlink(root / "claims" / "c.yaml", root / "claims" / "d.yaml")
    kb, found = load_kb(root)
    assert found == [] and set(kb.claims) == {"c", "d"}


class TestSnapshots:
    def test_default_name_sha_and_crlf(self, make_kb: MakeKB) -> None:
        import hashlib

        data = b"Line one.\r\nLine two.\r\n"
        digest = hashlib.sha256(data).hexdigest()
        root = make_kb(
            {
                "sources/t.yaml": f"type: book\ntitle: T\nsnapshot_sha256: {digest.upper()}\n",
                "sources/t.txt": data,
            }
        )
        kb, found = load_kb(root)
        src = kb.sources["t"]  # type: ignore[index]
        assert found == []
        assert src.snapshot == "t.txt" and src.snapshot_text == "Line one.\nLine two.\n"
        assert src.snapshot_sha256 == digest

    def test_named_snapshot(self, make_kb: MakeKB) -> None:
        root = make_kb(
            {
                "sources/t.yaml": "type: book\ntitle: T\nsnapshot: other.txt\n",
                "sources/other.txt": "x",
            }
        )
        kb, found = load_kb(root)
        assert found == [] and kb.sources["t"].snapshot_text == "x"  # type: ignore[index]

    def test_named_snapshot_that_does_not_exist(self, make_kb: MakeKB) -> None:
        root = make_kb({"sources/t.yaml": "type: book\ntitle: T\nsnapshot: gone.txt\n"})
        assert places(load_kb(root)[1]) == [("bad-value", "sources/t.yaml", 3, 11)]

    @pytest.mark.parametrize("name", ["../t.txt", "/etc/passwd", "sub/t.txt", ".hidden", "a\\b"])
    def test_unsafe_snapshot_names(self, make_kb: MakeKB, name: str) -> None:
        root = make_kb({"sources/t.yaml": f"type: book\ntitle: T\nsnapshot: '{name}'\n"})
        assert places(load_kb(root)[1]) == [("unsafe-path", "sources/t.yaml", 3, 11)]

    def test_changed(self, make_kb: MakeKB) -> None:
        root = make_kb(
            {"sources/t.yaml": "type: book\ntitle: T\nsnapshot_sha256: abc\n", "sources/t.txt": "x"}
        )
        found = load_kb(root)[1]
        assert places(found) == [("snapshot-changed", "sources/t.yaml", 3, 18)]

    def test_bad_encoding_and_too_large(self, make_kb: MakeKB) -> None:
        root = make_kb(
            {
                "sources/t.yaml": "type: book\ntitle: T\n",
                "sources/t.txt": b"ok\nnot \xff ok",
                "sources/u.yaml": "type: book\ntitle: U\n",
                "sources/u.txt": b"",
            }
        )
        with (root / "sources" / "u.txt").open("wb") as fh:
            fh.truncate(MAX_BYTES + 1)
        assert places(load_kb(root)[1]) == [
            ("bad-encoding", "sources/t.txt", 2, 5),
            ("file-too-large", "sources/u.txt", 1, 1),
        ]


class TestQuoteChecks:
    FILES: ClassVar[dict[str, str | bytes]] = {
        "sources/a.yaml": "type: webpage\ntitle: A\nevidence_level: news\n",
        "sources/a.txt": "He said the drug works. The drug works fast.\n",
        "sources/o.yaml": "type: speech\ntitle: O\nsnapshot_scope: excerpt\n",
        "sources/o.txt": "An excerpt: the drug works, he said.\n",
        "experts/he.yaml": "name: He\n",
    }

    def check(self, make_kb: MakeKB, quote: str) -> list[Problem]:
        """The quote problems of a claim with this quote (orphans of the fixture, and the review's
        attribution rating, which tests/test_attribution.py tests, left out)."""
        claim = f"statement: C.\nquotes:\n{quote}" + OK_TAIL
        found = problems(make_kb, {**self.FILES, "claims/c.yaml": claim})
        return [p for p in found if not p.code.startswith(("orphan", "attribution"))]

    def test_found_once(self, make_kb: MakeKB) -> None:
        assert self.check(make_kb, "  - {text: works fast, source: a}\n") == []

    def test_ambiguous_then_picked_by_prefix(self, make_kb: MakeKB) -> None:
        found = self.check(make_kb, "  - {text: the drug works, source: a}\n")
        assert [(p.code, p.loc.line, p.loc.col) for p in found] == [("quote-ambiguous", 3, 12)]
        assert "appears 2 times in sources/a.txt" in found[0].message
        assert self.check(make_kb, "  - {text: the drug works, source: a, prefix: He said}\n") == []

    def test_an_origin_is_checked_in_its_own_snapshot(self, make_kb: MakeKB) -> None:
        quote = (
            "  - text: the drug works fast\n    source: a\n    speaker: he\n"
            "    origin: {source: o, text: the drug worked}\n"
        )
        found = self.check(make_kb, quote)
        assert [(p.code, p.loc.line, p.loc.col, p.severity) for p in found] == [
            ("quote-drift", 3, 11, Severity.WARNING),
            ("quote-not-found", 6, 31, Severity.WARNING),  # o is only an excerpt
        ]
        assert "dropped 'works'" not in found[0].message
        assert "changed 'works fast' to" not in found[0].message
        assert "that snapshot is only an excerpt" in found[1].message

    def test_full_snapshot_not_found_is_an_error(self, make_kb: MakeKB) -> None:
        found = self.check(make_kb, "  - {text: the drug fails, source: a}\n")
        assert [(p.code, p.severity) for p in found] == [("quote-not-found", Severity.ERROR)]

    def test_origin_unknown_is_an_answer_not_a_gap(self, make_kb: MakeKB) -> None:
        quote = "  - {text: works fast, source: a, speaker: he, origin: unknown}\n"
        assert [p.code for p in self.check(make_kb, quote)] == ["origin-unknown"]
        quote = "  - {text: works fast, source: a, speaker: he}\n"
        assert [p.code for p in self.check(make_kb, quote)] == ["quote-untraced"]


class TestSeverityOverrides:
    CLAIM: ClassVar[dict[str, str | bytes]] = {
        "claims/c.yaml": "statement: C.\nevidence: [{source: s, stance: supports}]\n"
    }

    def test_defaults(self, make_kb: MakeKB) -> None:
        found = problems(make_kb, {**self.CLAIM, "experts/r.yaml": "name: R\n"})
        assert {(p.code, p.severity) for p in found} == {
            ("unreviewed", Severity.WARNING),
            ("orphan-expert", Severity.WARNING),
        }

    def test_kb_yaml_overrides(self, make_kb: MakeKB) -> None:
        config = "severity:\n  unreviewed: error\n  orphan-expert: off\n  bad-date: warning\n"
        found = problems(
            make_kb,
            {
                "kb.yaml": config,
                "claims/c.yaml": self.CLAIM["claims/c.yaml"] + "topics: [x]\n",
                "sources/t.yaml": "type: book\ntitle: T\nissued: 2010-13\n",
            },
        )
        got = {(p.code, p.severity) for p in found}
        assert got == {
            ("unreviewed", Severity.ERROR),
            ("bad-date", Severity.WARNING),
            ("orphan-source", Severity.WARNING),
        }

    def test_bad_overrides_are_reported(self, make_kb: MakeKB) -> None:
        config = "severity:\n  unreviewd: off\n  orphan-expert: silent\n"
        found = problems(make_kb, {"kb.yaml": config, **self.CLAIM})
        got = {(p.code, p.loc.path, p.loc.line): p.message for p in found if p.code == "bad-value"}
        assert set(got) == {("bad-value", "kb.yaml", 2), ("bad-value", "kb.yaml", 3)}
        assert "did you mean 'unreviewed'?" in got[("bad-value", "kb.yaml", 2)]
        assert "allowed: error, warning, off" in got[("bad-value", "kb.yaml", 3)]
        assert any(p.code == "unreviewed" for p in found)  # the misspelt override did nothing

    @pytest.mark.parametrize(
        ("config", "code", "line"),
        [
            ("severity: [unreviewed]\n", "bad-type", 1),
            ("base_url: ftp://example.org\n", "bad-url", 1),
            ("title: T\ncolour: red\n", "unknown-key", 2),
            ("- a list\n", "not-a-mapping", 1),
            ("title: [\n", "yaml-syntax", 2),
        ],
    )
    def test_bad_kb_yaml(self, make_kb: MakeKB, config: str, code: str, line: int) -> None:
        found = problems(make_kb, {"kb.yaml": config, **self.CLAIM})
        assert [(p.code, p.loc.line) for p in found if p.loc.path == "kb.yaml"] == [(code, line)]

    def test_config_values(self, make_kb: MakeKB) -> None:
        root = make_kb({"kb.yaml": "title: My KB\nbase_url: https://x.org/\nstyle: ama\n"})
        config = load_kb(root)[0].config
        assert (config.title, config.base_url, config.style) == ("My KB", "https://x.org/", "ama")


def test_evidence_from_unknown_sources_only_is_not_also_secondary(make_kb: MakeKB) -> None:
    claim = "statement: C.\nevidence: [{source: nope, stance: supports}]\n"
    claim += "review: {verdict: accurate, reviewer: r}\n"
    found = problems(make_kb, {"claims/c.yaml": claim})
    assert [p.code for p in found if p.loc.path == "claims/c.yaml"] == ["unknown-source"]


def test_evidence_with_no_level_is_secondary(make_kb: MakeKB) -> None:
    claim = "statement: C.\nevidence: [{source: t, stance: supports}]\n"
    claim += "review: {verdict: accurate, reviewer: r}\n"
    found = problems(make_kb, {"claims/c.yaml": claim, "sources/t.yaml": "type: book\ntitle: T\n"})
    assert [(p.code, p.message) for p in found if p.loc.path == "claims/c.yaml"] == [
        ("secondary-only", "claim c rests only on secondary sources (no level)")
    ]


def test_every_problem_in_one_pass(make_kb: MakeKB) -> None:
    """Many broken files: every one reported, none stops the others."""
    files: dict[str, str | bytes] = {f"claims/c{i}.yaml": "statement: [\n" for i in range(20)}
    files.update({f"claims/d{i}.yaml": "statment: typo\n" for i in range(20)})
    found = problems(make_kb, files)
    assert sum(p.code == "yaml-syntax" for p in found) == 20
    assert sum(p.code == "unknown-key" for p in found) == 20


class TestHelperProcess:
    """Large bases are parsed in two processes; the result must be that of a serial load."""

    FILES: ClassVar[dict[str, str | bytes]] = {
        **BASE,
        **{f"claims/c{i:02}.yaml": f"statement: C{i}.\n" + OK_TAIL for i in range(12)},
        "claims/dup.yaml": "statement: A.\nstatement: B.\n",
        "claims/syntax.yaml": "statement: [unclosed\n",
        "claims/latin.yaml": b"statement: caf\xe9\n",
        "claims/zz.yaml": "statement: Z.\nquotes:\n  - {text: x}\n" + OK_TAIL,
        "claims/notes.txt": "stray\n",
    }

    def load(self, root: Path, monkeypatch: pytest.MonkeyPatch, helper: bool) -> tuple[object, ...]:
        import kb.fast.parsehelper as ph
        import kb.reading.files as kf

        monkeypatch.setattr(ph, "may_fork", lambda files: helper and hasattr(os, "fork"))
        cache: kf.ParseCache = {}
        kb, found = load_kb(root, cache, helper=ph.start)
        marks = {cid: c.where.marks for cid, c in kb.claims.items()}
        return kb.claims, kb.sources, kb.experts, kb.digests, marks, found, cache

    def test_same_as_serial(self, make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch) -> None:
        root = make_kb(self.FILES)
        serial = self.load(root, monkeypatch, helper=False)
        assert serial[5]  # the problems above are all reported
        import kb.fast.parsehelper as ph
        import kb.reading.files as kf

        used: list[int] = []
        unpack = ph.ParseHelper._unpack

        def spy(helper: ph.ParseHelper, chunk: int) -> list[kf.Reading | None] | None:
            used.append(len((got := unpack(helper, chunk)) or ()))
            return got

        monkeypatch.setattr(ph.ParseHelper, "_unpack", spy)
        monkeypatch.setattr(ph.ParseHelper, "_claim", lambda helper: None)  # the helper reads all
        assert self.load(root, monkeypatch, helper=True) == serial
        assert sum(used) >= 5 or not hasattr(os, "fork")  # the helper's readings were used

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork()")
    @pytest.mark.parametrize("failure", ["raise", "exit", "garble", "hang"])
    def test_a_failing_helper_falls_back(
        self, make_kb: MakeKB, monkeypatch: pytest.MonkeyPatch, failure: str
    ) -> None:
        root = make_kb(self.FILES)
        serial = self.load(root, monkeypatch, helper=False)

        fail_helper(monkeypatch, failure)  # a hanging helper is waited for 1 s, then read past
        assert self.load(root, monkeypatch, helper=True) == serial


def test_a_long_running_callers_cache_gives_what_a_fresh_load_gives(tmp_path: Path) -> None:
    """The parse cache of `kb serve` keeps each file's built record: after an edit, a load
    through it gives the same records and problems as a load from nothing."""
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(Path(__file__).parent / "data" / "failures", root)
    cache: dict[str, object] = {}

    def same_as_fresh() -> None:
        kept, kept_problems = load_kb(root, cache)  # type: ignore[arg-type]
        fresh, fresh_problems = load_kb(root)
        assert [p.text() for p in kept_problems] == [p.text() for p in fresh_problems]
        for kind in ("claims", "experts", "sources"):
            assert getattr(kept, kind) == getattr(fresh, kind), kind

    same_as_fresh()
    same_as_fresh()  # every record now comes from the cache
    edited = root / "claims" / "bad-type.yaml"
    edited.write_text(edited.read_text() + "\nunknown_field: 1\n", encoding="utf-8")
    (root / "claims" / "bad-date.yaml").unlink()
    same_as_fresh()
    assert any("unknown_field" in p.text() for p in load_kb(root, cache)[1])  # type: ignore[arg-type]
