"""Random and mutated input gives problems, never an exception.

Each example writes a knowledge base (the valid fixture, with one file replaced or added) and runs
the whole pipeline over it: load_kb, build_graph, run_checks, the graph summary and every
claim's fingerprint. Every problem must carry a registered code, a severity and a place in a file
of the knowledge base, at line and column 1 or more.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.checks import CODES, run_checks
from kb.errors import Problem, Severity
from kb.graph import build_graph, summary
from kb.model import DIRECTNESS, RELATIONS, STANCES, VERDICTS
from kb.reading import schema as S
from kb.reading.load import load_kb
from kb.text.fingerprint import fingerprint

VALID = Path(__file__).resolve().parent / "data" / "valid"
FILES = {
    p.relative_to(VALID).as_posix(): p.read_bytes() for p in sorted(VALID.rglob("*")) if p.is_file()
}
RECORDS = sorted(name for name in FILES if name.endswith(".yaml"))
PLACES = [*RECORDS, "claims/new.yaml", "sources/new.yaml", "experts/new.yaml", "sources/new.txt"]

# KB_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_yaml.py digs deeper than the suite's default.
EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Random YAML trees are slower to draw.
FUZZ_SLOW = settings(FUZZ, max_examples=max(1, EXAMPLES * 3 // 5))

# Words that steer random YAML into the loader's deeper paths.
KEYS = sorted(
    {
        *S.CLAIM_KEYS, *S.QUOTE_KEYS, *S.EVIDENCE_KEYS, *S.RELATED_KEYS, *S.REVIEW_KEYS,
        *S.EXPERT_KEYS, *S.ROLE_KEYS, *S.CONFIG_KEYS, *S.SOURCE_KB_KEYS, *S.NAME_KEYS,
        "author", "issued", "URL", "DOI", "page", "container-title", "categories", "custom",
    }
)  # fmt: skip
WORDS = [
    *STANCES, *DIRECTNESS, *RELATIONS, *VERDICTS, "unknown", "excerpt", "full", "rct", "news",
    "example-news", "doe-lecture", "smith-2020", "jane-doe", "ed-itor", "nmda-blockade",
    "rapid-onset", "2020-03-15", "2020-13", "https://example.org/", "javascript:x",
    "10.1000/x", "example-news.txt", "../x.txt", "the effect appears within hours", "…", "...",
    "error", "warning", "off", "quote-drift", "Article-Journal", "webpage",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=10))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=15,
)
records = st.dictionaries(keys, values, max_size=6)


_BASE: Path | None = None


def _base() -> Path:
    """A copy of the valid fixture, made once per process and restored after every example."""
    global _BASE
    if _BASE is None:
        _BASE = Path(tempfile.mkdtemp(prefix="kb-fuzz-"))
        atexit.register(shutil.rmtree, _BASE, True)
        for name, data in FILES.items():
            (_BASE / name).parent.mkdir(parents=True, exist_ok=True)
            (_BASE / name).write_bytes(data)
    return _BASE


def run_pipeline(name: str, data: bytes) -> list[Problem]:
    """Run everything over the valid fixture with `name` replaced (or added); check problems."""
    root = _base()
    path = root / name
    path.write_bytes(data)
    try:
        kb, problems = load_kb(root)
        graph = build_graph(kb)
        problems = [*problems, *run_checks(kb, graph)]
        summary(graph)
        for claim in kb.claims.values():
            fingerprint(kb, claim)
    finally:
        if name in FILES:
            path.write_bytes(FILES[name])
        else:
            path.unlink()
    for p in problems:
        assert isinstance(p, Problem)
        assert p.code in CODES, p
        assert p.severity in (Severity.ERROR, Severity.WARNING), p
        assert p.loc.line >= 1 and p.loc.col >= 1, p
        assert p.message, p
        assert not Path(p.loc.path).is_absolute() and ".." not in Path(p.loc.path).parts, p
        assert p.loc.path in FILES or p.loc.path == name, p
    return problems


def dump(value: Any) -> bytes:
    """Write a value as YAML the way a person might."""
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False).encode("utf-8")


def test_the_valid_fixture_is_clean() -> None:
    """The base every example mutates has no problem of its own."""
    assert run_pipeline("kb.yaml", FILES["kb.yaml"]) == []


@FUZZ
@given(place=st.sampled_from(PLACES), data=st.binary(max_size=400))
def test_random_bytes(place: str, data: bytes) -> None:
    """Arbitrary bytes in any record (or snapshot) file."""
    run_pipeline(place, data)


@FUZZ
@given(place=st.sampled_from([*PLACES, "kb.yaml"]), text=st.text(max_size=400))
def test_random_text(place: str, text: str) -> None:
    """Arbitrary Unicode text, saved as UTF-8."""
    run_pipeline(place, text.encode("utf-8"))


@FUZZ_SLOW
@given(place=st.sampled_from([*PLACES, "kb.yaml"]), record=records)
def test_random_yaml_records(place: str, record: dict[str, Any]) -> None:
    """Well-formed YAML of random shape, keyed with the format's own words."""
    run_pipeline(place, dump(record))


@FUZZ
@given(
    name=st.sampled_from(RECORDS),
    at=st.integers(min_value=0, max_value=10_000),
    noise=st.binary(min_size=1, max_size=20),
)
def test_inserted_bytes(name: str, at: int, noise: bytes) -> None:
    """A valid record with random bytes inserted somewhere."""
    data = FILES[name]
    at %= len(data) + 1
    run_pipeline(name, data[:at] + noise + data[at:])


@FUZZ
@given(name=st.sampled_from(RECORDS), at=st.integers(min_value=0, max_value=10_000))
def test_truncated(name: str, at: int) -> None:
    """A valid record cut short anywhere, even inside a UTF-8 sequence."""
    data = FILES[name]
    run_pipeline(name, data[: at % (len(data) + 1)])


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a parsed record."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    value = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del value[head]
    else:
        value[head] = _replace(value[head], rest, new, delete)
    return value


@FUZZ_SLOW
@given(name=st.sampled_from(RECORDS), data=st.data())
def test_mutated_records(name: str, data: st.DataObject) -> None:
    """A valid record with one value deleted, or swapped for a value of another type."""
    record = yaml.safe_load(FILES[name].decode("utf-8"))
    path = data.draw(st.sampled_from(_paths(record)), label="path")
    delete = bool(path) and data.draw(st.booleans(), label="delete")
    new = None if delete else data.draw(values, label="new value")
    run_pipeline(name, dump(_replace(record, path, new, delete)))


SOUP = [
    "", "  ", "- ", "? ", ": ", "#", "&a ", "*a", "!!int ", "[", "]", "{", "}", ",", "'", '"',
    "\t", "---", "...", "text: ", "quotes:", "  - text: x", "source: ", "|", ">", "\\",
    "%YAML 1.1", "<<: ", "= ",
]  # fmt: skip


@FUZZ
@given(lines=st.lists(st.sampled_from(SOUP), max_size=30))
def test_yaml_punctuation_soup(lines: list[str]) -> None:
    """YAML's own punctuation in random order: the parser's error paths."""
    text = "".join(s if i % 3 else s + "\n" for i, s in enumerate(lines))
    run_pipeline("claims/new.yaml", text.encode("utf-8"))
