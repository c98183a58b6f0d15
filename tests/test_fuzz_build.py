"""Mutated knowledge bases: every problem prints as one inert line, and what loads also builds.

tests/test_fuzz_yaml.py mutates records and checks that loading and checking give only problems.
This module takes the same kind of mutations (a value swapped for one of another type or for an
attack string, a key deleted, a text cut short) two steps further: every problem must print as
one line with no control character in any output format, and a knowledge base that has no
errors after the mutation must render and export without an exception, into pages where the
data stays inert.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kb.checks import run_checks
from kb.cli.report import print_problems
from kb.errors import Problem, Severity, printable
from kb.graph import build_graph
from kb.reading.load import load_kb
from kb.site.render import render_site

VALID = Path(__file__).resolve().parent / "data" / "valid"
FILES = {
    p.relative_to(VALID).as_posix(): p.read_bytes()
    for p in sorted(VALID.rglob("*"))
    if p.is_file() and ".kb-cache" not in p.parts
}
RECORDS = sorted(n for n in FILES if n.endswith(".yaml"))

# KB_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_build.py digs deeper than the suite's default.
EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

ATTACKS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% for x in y %}",
    "</script><!--",
    "]]>",
    "\u2028\u2029",
    "\x00",
    "\x1b[2J\x1b]0;title\x07",
    "\u202eevil",
    "line\nbreak",
    "tab\there",
    "",
    " ",
    "../../etc/passwd",
    "%2e%2e%2f",
    'https://example.org/"><script>alert(1)</script>',
    '10.1000/"><b>',
    "2020-02-30",
    "…",
    "💥" * 3,
]
leaves = st.one_of(
    st.sampled_from(ATTACKS),
    st.text(max_size=40),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a parsed record."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*path, i))
    return out


def get(value: Any, path: tuple[Any, ...]) -> Any:
    """The value at `path`."""
    for step in path:
        value = value[step]
    return value


def put(value: Any, path: tuple[Any, ...], new: Any, delete: bool = False) -> Any:
    """A copy of `value` with the value at `path` replaced (or deleted)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    value = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del value[head]
    else:
        value[head] = put(value[head], rest, new, delete)
    return value


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """One valid record with one to three mutations, as YAML text."""
    name = draw(st.sampled_from(RECORDS))
    record = yaml.safe_load(FILES[name].decode("utf-8"))
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        path = draw(st.sampled_from(paths(record)))
        old = get(record, path)
        # text for text is the likeliest to load, and so to reach the renderer: drawn most
        how = draw(st.sampled_from(["attack", "attack", "attack", "swap", "delete", "cut"]))
        if how == "delete" and path:
            record = put(record, path, None, delete=True)
        elif how == "cut" and isinstance(old, str):
            record = put(record, path, old[: draw(st.integers(0, len(old)))])
        elif how == "attack" and isinstance(old, str):
            record = put(record, path, old + draw(st.sampled_from(ATTACKS)))
        else:
            record = put(record, path, draw(values))
    text = yaml.safe_dump(record, allow_unicode=True, sort_keys=False)
    return name, text.encode("utf-8", "surrogatepass")


class Page(HTMLParser):
    """What a page runs: script elements and event-handler attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not a.get("src"):
                self.bad.append("a script without src")
        for k, v in attrs:
            if k.startswith("on"):
                self.bad.append(f"{tag} {k}")
            if k in ("href", "src") and re.match(r"\s*(javascript|data|vbscript):", v or "", re.I):
                self.bad.append(f"{tag} {k}={v}")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.bad.append(f"inline script {data[:40]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def check_problem_output(problems: list[Problem]) -> None:
    """Each format prints one inert line per problem (or valid JSON), in strict UTF-8."""
    import io

    for p in problems:
        line = p.text()
        assert printable(line) == line and "\n" not in line, line
    for fmt in ("text", "json", "github"):
        buf = io.StringIO()
        print_problems(problems, fmt, buf)
        out = buf.getvalue()
        out.encode("utf-8")  # strict: no lone surrogate
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out), fmt
        if fmt == "json":
            assert len(json.loads(out)) == len(problems)
        else:
            assert len(out.splitlines()) == len(problems), fmt


def build_in_memory(root: Path) -> tuple[list[Problem], dict[str, bytes] | None]:
    """Load and check; when there is no error, render (and export, once kb.export has it)."""
    kb, problems = load_kb(root)
    graph = build_graph(kb)
    problems = [*problems, *run_checks(kb, graph)]
    if any(p.severity is Severity.ERROR for p in problems):
        return problems, None
    files = render_site(kb, graph, problems, {})
    try:
        from kb.export import export_files  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        files.update(export_files(kb, graph, problems))
    return problems, files


def check_site(files: dict[str, bytes]) -> None:
    """Pages run only the site's own scripts; data scripts parse; exports parse."""
    for path, data in files.items():
        if path.endswith(".html"):
            page = Page()
            page.feed(data.decode("utf-8"))
            assert page.bad == [], (path, page.bad)
        elif path.endswith(".js") and not path.startswith("static/"):
            text = data.decode("utf-8")
            assert not re.search("[<>\u2028\u2029]", text), path
            json.loads(text.partition(" = ")[2].removesuffix(";\n"))
        elif path.endswith((".json", ".jsonld")):
            json.loads(data)
        elif path.endswith(".graphml"):
            import xml.etree.ElementTree as ET

            ET.fromstring(data)


@FUZZ
@given(case=mutated())
def test_mutated_records_print_inert_problems_and_build(tmp_path: Path, case: Any) -> None:
    """Mutate, load, check, print every format; render and export when nothing is an error."""
    name, data = case
    root = tmp_path / "kb"
    if not root.exists():
        for file, content in FILES.items():
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            (root / file).write_bytes(content)
    (root / name).write_bytes(data)
    try:
        problems, files = build_in_memory(root)
    finally:
        (root / name).write_bytes(FILES[name])
    check_problem_output(problems)
    event("built" if files is not None else "stopped by errors")
    if files is not None:
        check_site(files)


@FUZZ
@given(text=st.text(min_size=1, max_size=60), field=st.sampled_from(["statement", "topics"]))
def test_any_text_in_a_claim_builds(tmp_path: Path, text: str, field: str) -> None:
    """Any Unicode at all as a claim's statement or topic: a problem, or a site that is inert."""
    root = tmp_path / "kb"
    if not root.exists():
        for file, content in FILES.items():
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            (root / file).write_bytes(content)
    name = "claims/nmda-blockade.yaml"
    record = yaml.safe_load(FILES[name].decode("utf-8"))
    record[field] = [text] if field == "topics" else text
    (root / name).write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    try:
        problems, files = build_in_memory(root)
    finally:
        (root / name).write_bytes(FILES[name])
    check_problem_output(problems)
    if files is not None:
        check_site(files)
        topic_pages = [p for p in files if p.startswith("topics/")]
        assert all(re.fullmatch(r"topics/[a-z0-9-]{1,64}\.html", p) for p in topic_pages)


REFERENCES = {"source", "speaker", "claim", "reviewer", "stance", "relation", "verdict", "type"}


def poison(value: Any, attack: str, key: str = "") -> Any:
    """Append `attack` to every string inside `value` but ids and enumerations (keys stay)."""
    if isinstance(value, str):
        return value if key in REFERENCES else value + attack
    if isinstance(value, list):
        return [poison(v, attack, key) for v in value]
    if isinstance(value, dict):
        return {k: poison(v, attack, k) for k, v in value.items()}
    return value


def test_every_string_poisoned_at_once_prints_inert(tmp_path: Path) -> None:
    """Each record with a terminal attack in every value: refused at load, inert in every format."""
    attack = "\x1b[2J\x1b]0;pwned\x07\u202e\nclaims/forged.yaml:1:1: error: forged [bad-id]"
    root = tmp_path / "kb"
    for file, content in FILES.items():
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_bytes(content)
    for name in RECORDS:
        record = poison(yaml.safe_load(FILES[name].decode("utf-8")), attack)
        (root / name).write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    problems, _ = build_in_memory(root)
    assert sum(p.code == "bad-encoding" for p in problems) > 5, "the loader let escapes through"
    check_problem_output(problems)
