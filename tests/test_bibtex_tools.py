"""The BibTeX and biblatex exports in the tools that read them: biber (biblatex's backend,
`--validate-datamodel`) and pybtex's `plain` style (BibTeX's standard style, in Python).

biber is a Debian package that .ci/run installs: a missing biber fails these tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from citedata import write_kb
from pybtex.database import parse_string
from pybtex.style.formatting.plain import Style

from kb.export import biblatex, bibtex
from kb.pipeline import open_base

ROOT = Path(__file__).resolve().parent.parent
# Values `kb check` accepts that once broke the .bib files (issue 20, item 7)
HOSTILE = {
    "brace": {"type": "book", "title": "A lone } brace and a { lone one", "publisher": "P",
              "author": [{"family": "Brace", "given": "Bo"}], "issued": "2020"},
    "nonchar": {"type": "book", "title": "A noncharacter \ufdd0 here", "publisher": "P",
                "author": [{"family": "Odd", "given": "Ann"}], "issued": "2021"},
    "and-names": {"type": "article-journal", "title": "Three authors", "container-title": "J",
                  "issued": "2022", "author": [
                      {"family": "Smith and Sons", "given": "Ann"},
                      {"family": "Jones", "given": "Bob AND Carol"},
                      {"family": "Lee, Jr", "given": "Dee, Ed"}]},
    "noted": {"type": "book", "title": "A book with a curator's note", "publisher": "P",
              "author": [{"family": "Noted", "given": "Nat"}], "issued": "2019",
              "note": "CURATOR-ONLY remark: the page numbers were not checked"},
}  # fmt: skip


def _top_level_names(value: str) -> list[str]:
    """Split a name list at ` and ` outside braces, as BibTeX and biber do."""
    names, depth, start = [], 0, 0
    for m in re.finditer(r"[{}]|\s+and\s+", value, re.I):
        if m.group(0) in "{}":
            depth += 1 if m.group(0) == "{" else -1
        elif depth == 0:
            names.append(value[start : m.start()])
            start = m.end()
    return [*names, value[start:]]


def _biber() -> str:
    found = shutil.which("biber")
    assert found, "biber is not installed (.ci/run installs Debian's biber)"
    return found


def _validate(tmp: Path, text: bytes) -> tuple[str, str]:
    """Run biber's data model validation; return its log and the file biber wrote back."""
    bib = tmp / "kb.bib"
    bib.write_bytes(text)
    done = subprocess.run(
        [_biber(), "--tool", "--validate-datamodel", bib.name],
        cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    out = tmp / "kb_bibertool.bib"
    return done.stdout + done.stderr, out.read_text("utf-8") if out.exists() else ""


def test_biber_validates_the_biblatex_export_of_the_bundled_base(tmp_path: Path) -> None:
    base = open_base(ROOT)
    log, back = _validate(tmp_path, biblatex.export(base.kb, base.graph, base.problems))
    problems = [line for line in log.splitlines() if re.search(r"\b(WARN|ERROR)\b", line)]
    assert problems == []
    assert len(re.findall(r"^@\w+\{", back, re.M | re.I)) == len(base.kb.sources)


def test_pybtex_plain_formats_every_entry_of_the_bundled_base() -> None:
    base = open_base(ROOT)
    text = bibtex.export(base.kb, base.graph, base.problems).decode("utf-8")
    data = parse_string(text, "bibtex")
    assert sorted(data.entries) == sorted(base.kb.sources)
    style = Style()
    for key, entry in data.entries.items():
        formatted = list(style.format_entries([entry]))  # raises on a missing required field
        assert formatted and formatted[0].text.render_as("text"), key
    # an entry that could not keep its type says why, in a comment BibTeX skips
    assert re.search(r"^% kb: [a-z0-9-]+: type \w+ needs [a-z, ]+; written as misc$", text, re.M)


def test_curator_notes_are_never_in_a_reference(tmp_path: Path) -> None:
    base = open_base(write_kb(tmp_path, HOSTILE))
    for module in (bibtex, biblatex):
        text = module.export(base.kb, base.graph, base.problems).decode("utf-8")
        assert "CURATOR-ONLY" not in text
        assert not re.search(r"^\s*note\s*=", text, re.M)


def test_hostile_values_stay_valid_for_biber_and_bibtex(tmp_path: Path) -> None:
    base = open_base(write_kb(tmp_path / "kb", HOSTILE))
    assert not base.errors
    log, back = _validate(tmp_path, biblatex.export(base.kb, base.graph, base.problems))
    assert not re.search(r"\b(ERROR|syntax error)\b", log), log
    assert len(re.findall(r"^@\w+\{", back, re.M | re.I)) == len(HOSTILE)  # no entry skipped
    authors = re.search(r"@article\{and-names,.*?author\s*=\s*\{(.*?)\},\n", back, re.S | re.I)
    assert authors is not None
    assert len(_top_level_names(authors.group(1))) == 3  # braced parts do not split
    text = bibtex.export(base.kb, base.graph, base.problems).decode("utf-8")
    assert "\ufdd0" not in text
    data = parse_string(text, "bibtex")
    people = data.entries["and-names"].persons["author"]
    assert len(people) == 3
    assert str(people[0]).startswith("{Smith and Sons}")
    assert "Bob AND Carol" in str(people[1]) and "Dee, Ed" in str(people[2])
    title = data.entries["brace"].fields["title"]
    assert title.count("{") == title.count("}")  # every brace balanced
    assert r"\textbraceright{}" in title and r"\textbraceleft{}" in title


@pytest.mark.parametrize("module", [bibtex, biblatex])
def test_every_entry_of_the_corpus_is_written(module: object, tmp_path: Path) -> None:
    from refcorpus import corpus

    base = open_base(write_kb(tmp_path, corpus()))
    text = module.export(base.kb, base.graph, base.problems).decode("utf-8")  # type: ignore[attr-defined]
    data = parse_string(text, "bibtex")
    assert sorted(data.entries) == sorted(corpus())
