"""The compact marks of the YAML reader give every place that a plain dict of marks would.

`reference` below is the straightforward reader the compact one replaced: it records each mark
in a dict keyed by path as it reads. For varied documents (keys given twice, keys written as
"<key>" or "<duplicate>", flow and block style, documents cut short or broken anywhere), the
compact reader must give the same value, the same issues and the same marks, found one by one
or listed. Last, Document.escapes: without a backslash, no value can hold a control character.
"""

from __future__ import annotations

import marshal
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from yaml import events as ev

import kb.reading.yamlio as Y
from kb.reading.yamlio import Issue, read_yaml
from kb.reading.yamlmarks import DUPLICATE, KEY, Marks

Marks_ = dict[tuple[Any, ...], tuple[int, int]]


def reference(text: str) -> tuple[Any, Marks_, list[Issue]]:
    """Read `text` as the reader did before its marks were compact: (value, marks, issues)."""
    value: Any = None
    marks: Marks_ = {}
    issues: list[Issue] = []
    stack: list[list[Any]] = []  # [container, path, pending key]
    no_key = object()

    def place(new: Any, mark: Any) -> tuple[Any, ...] | None:
        nonlocal value
        at = (mark.line + 1, mark.column + 1)
        if not stack:
            value = new
            marks[()] = at
            return ()
        frame = stack[-1]
        container, path, pending = frame
        if isinstance(container, list):
            container.append(new)
            marks[(*path, len(container) - 1)] = at
            return (*path, len(container) - 1)
        if pending is no_key:
            if isinstance(new, (dict, list)):
                raise Y._Unsupported(
                    "a mapping key must be a plain value, not a list or mapping", mark
                )
            key = "null" if new is None else str(new).lower() if isinstance(new, bool) else str(new)
            if key in container:
                first = marks.get((*path, key, KEY), (0, 0))
                issues.append(
                    Issue(
                        "duplicate-key",
                        f"key {key!r} is given twice in one mapping (first at line {first[0]}); "
                        "YAML would silently keep only the last one",
                        *at,
                    )
                )
                frame[2] = Y._Skip(key)
            else:
                frame[2] = key
                marks[(*path, key, KEY)] = at
            return None
        frame[2] = no_key
        if isinstance(pending, Y._Skip):
            return (*path, pending.key, DUPLICATE)
        container[pending] = new
        marks[(*path, pending)] = at
        return (*path, pending)

    loader = None
    documents = 0
    try:
        loader = yaml.CSafeLoader(text)
        while (event := loader.get_event()) is not None:
            if isinstance(event, ev.ScalarEvent):
                if event.anchor is not None:
                    raise Y._Alias(event.start_mark, f"anchor &{event.anchor}")
                place(Y._scalar(event), event.start_mark)
            elif isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
                if event.anchor is not None:
                    raise Y._Alias(event.start_mark, f"anchor &{event.anchor}")
                if event.tag not in Y._COLLECTION_TAGS[type(event)]:
                    raise Y._Unsupported(f"unsupported YAML tag {event.tag!r}", event.start_mark)
                m: Any = event.start_mark
                if len(stack) >= Y.MAX_DEPTH:
                    issues.append(
                        Issue(
                            "yaml-too-deep",
                            f"nesting deeper than {Y.MAX_DEPTH} levels is refused",
                            m.line + 1,
                            m.column + 1,
                        )
                    )
                    break
                new: Any = {} if isinstance(event, ev.MappingStartEvent) else []
                path = place(new, m)
                if path is None:
                    raise Y._Unsupported("a mapping key must be a plain value", m)
                stack.append([new, path, no_key])
            elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, ev.AliasEvent):
                raise Y._Alias(event.start_mark, f"alias *{event.anchor}")
            elif isinstance(event, ev.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    m = event.start_mark
                    issues.append(
                        Issue(
                            "yaml-syntax",
                            "a second YAML document ('---') is not allowed: one record per file",
                            m.line + 1,
                            m.column + 1,
                        )
                    )
                    break
    except Y._Alias as exc:
        issues.append(
            Issue(
                "yaml-alias",
                f"YAML anchors and aliases are refused ({exc.what}): write the value out in full",
                exc.mark.line + 1,
                exc.mark.column + 1,
            )
        )
    except Y._Unsupported as exc:
        issues.append(Issue("yaml-syntax", str(exc), exc.mark.line + 1, exc.mark.column + 1))
    except yaml.MarkedYAMLError as exc:
        issues.append(Y._syntax_issue(text, exc))
    except yaml.reader.ReaderError as exc:
        line, col = Y._line_col(text.encode("utf-8")[: exc.position].decode("utf-8", "ignore"))
        issues.append(
            Issue("bad-encoding", f"character not allowed in YAML: {exc.reason}", line, col)
        )
    except UnicodeEncodeError as exc:
        line, col = Y._line_col(text[: exc.start])
        issues.append(Issue("bad-encoding", "a lone surrogate is not a character", line, col))
    except yaml.YAMLError as exc:
        line, col = max(marks.values(), default=(1, 1))
        issues.append(Issue("yaml-syntax", f"invalid YAML: {exc}".splitlines()[0], line, col))
    finally:
        if loader is not None:
            loader.dispose()
    return value, marks, issues


def _absent(marks: Marks_) -> list[tuple[Any, ...]]:
    """Paths next to the recorded ones that may or may not be recorded themselves."""
    out: list[tuple[Any, ...]] = [(KEY,), (0,), ("a",), (DUPLICATE,)]
    for p in marks:
        out += [(*p, 0), (*p, 5), (*p, -1), (*p, "a"), (*p, "zz"), (*p, KEY), (*p, DUPLICATE)]
        if p:
            out += [(*p[:-1], "zz"), (*p[:-1], 99)]
    return out


def same_as_reference(text: str) -> None:
    """read_yaml(text) gives what the reference gives: value, issues, and every mark."""
    value, marks, issues = reference(text)
    doc = read_yaml(text)
    assert doc.value == value
    assert doc.issues == issues
    assert dict(doc.marks.items()) == marks
    assert list(doc.marks) == list(marks)  # the same order too
    assert len(doc.marks) == len(marks)
    assert doc.marks == marks
    for path, mark in marks.items():
        assert doc.marks.get(path) == mark, path
        assert doc.marks[path] == mark, path
        assert path in doc.marks
    for path in _absent(marks):
        assert doc.marks.get(path) == marks.get(path), path
        assert (path in doc.marks) == (path in marks), path
    # sent from the helper process as marshal, and rebuilt
    parts = marshal.loads(marshal.dumps(doc.marks.parts()))
    value2 = marshal.loads(marshal.dumps(doc.value))
    assert Marks.from_parts(value2, *parts) == marks


CASES = [
    "",
    "# nothing\n",
    "~\n",
    "plain\n",
    "a: 1\n",
    "a:\n  b: 1\n  c:\n    - x\n    - y: 2\n",
    "a: {b: 1, c: [x, y]}\n",
    "- a\n- [b, {c: d}]\n- - e\n  - f\n",
    "a: 1\nb: 2\na: 3\n",
    "a: 1\na: {b: 2, b: 3}\na: [x, {c: 1, c: 2}]\nd: 4\n",
    "x: {a: {b: 1}, a: {b: 2, c: {d: 1, d: 2}}, a: 3}\ny: 1\n",
    "a:\n  - b: 1\n    b: [2, 3]\n  - b: 4\n",
    "1: a\n'1': b\ntrue: c\n'true': d\nnull: e\n~: f\n",
    "'<key>': 1\n",
    "a: {'<key>': 5}\n",
    "a: {'<key>': 5}\na: 2\n",
    "a:\n  '<key>': 5\na: 2\n",
    "a: {'<key>': {'<key>': 1}, '<duplicate>': [1]}\nb: {x: 1, x: {'<key>': 2}}\n",
    "a: 1\na: {'<duplicate>': 1, x: 2}\na: {x: 3}\n",
    "'<duplicate>': {a: 1}\n'<duplicate>': {a: 2}\n",
    "a: 1\nb:",
    "a: 1\nb:\n  c:",
    "a: {b: [1, 2",
    "a:\n  b: 1\n  c: [",
    "a: 1\na:\n  b: [1,",
    "a: !!int x\n",
    "a: [1, !!int x]\n",
    "a: &x 1\n",
    "a: [1, *x]\n",
    "a: 1\n---\nb: 2\n",
    "? [1, 2]\n: 3\n",
    "a: b: c\n",
    "a: 1\n b: 2\n",
    "a: \ud800\n",
    "a: \x01\n",
    "a: " + "[" * 60 + "]" * 60,
    "a:\r\n  - x\r\n",
    "éé: ü\nü: [é, {é: ü}]\n",
    "a: 1\n\ufeffb: 2\n",
]


@pytest.mark.parametrize("text", CASES)
def test_table(text: str) -> None:
    same_as_reference(text)


@pytest.mark.parametrize("text", CASES)
def test_table_cut_anywhere(text: str) -> None:
    for end in range(len(text)):
        same_as_reference(text[:end])


def test_low_depth_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Y, "MAX_DEPTH", 2)
    for text in CASES:
        same_as_reference(text)


# Random documents: mappings are lists of pairs, so that a key can be given twice.
KEYS = ["a", "b", "a", "'a'", "1", "true", "null", "~", "'<key>'", "<key>", "'<duplicate>'", "é"]
SCALARS = ["x", "'q'", '"d d"', "1", "-2", "1.5", "true", "null", "~", "2020-01-02", "é", "''"]
Node = Any
leaf = st.sampled_from(SCALARS)
nodes: st.SearchStrategy[Node] = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.tuples(st.just("seq"), st.booleans(), st.lists(inner, max_size=4)),
        st.tuples(
            st.just("map"),
            st.booleans(),
            st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=5),
        ),
    ),
    max_leaves=20,
)


def flow(node: Node) -> str:
    if isinstance(node, str):
        return node
    kind, _, items = node
    if kind == "seq":
        return "[" + ", ".join(flow(i) for i in items) + "]"
    return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in items) + "}"


def block(node: Node, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(node, str) or node[1] or not node[2]:  # a scalar, or a container in flow style
        return [pad + flow(node)]
    kind, _, items = node
    lines: list[str] = []
    for item in items:
        head, value = ("-", item) if kind == "seq" else (f"{item[0]}:", item[1])
        if isinstance(value, str) or value[1] or not value[2]:
            lines.append(f"{pad}{head} {flow(value)}")
        else:
            lines.append(pad + head)
            lines += block(value, indent + 2)
    return lines


NOISE = ["", "[", "{", "]", ": ", "\n  ", "- ", "&x ", "*x", "!!int ", "---\n"]


def document(node: Node) -> str:
    return "\n".join(block(node, 0)) + "\n"


# KB_FUZZ_EXAMPLES=5000 pytest tests/test_yamlio_marks.py digs deeper than the suite's default.
EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "300"))
SLOW = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(nodes)
@example(("map", False, [("a", "1"), ("a", ("map", False, [("b", "1"), ("b", "2")]))]))
def test_random_documents(node: Node) -> None:
    same_as_reference(document(node))


@SLOW
@given(nodes, st.data())
def test_random_documents_cut_or_broken(node: Node, data: st.DataObject) -> None:
    text = document(node)
    at = data.draw(st.integers(0, len(text)))
    noise = data.draw(
        st.sampled_from(["", "[", "{", "]", ": ", "\n  ", "- ", "&x ", "*x", "!!int "])
    )
    same_as_reference(text[:at] + noise)
    same_as_reference(text[:at] + noise + text[at:])


@SLOW
@given(nodes, st.integers(1, 4))
def test_random_documents_near_the_depth_limit(node: Node, depth: int) -> None:
    original = Y.MAX_DEPTH
    Y.MAX_DEPTH = depth
    try:
        same_as_reference(document(node))
    finally:
        Y.MAX_DEPTH = original


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(t for v in value.values() for t in _texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [value] if isinstance(value, str) else []


CONTROL = "".join(map(chr, [*range(9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF]))


def test_escapes() -> None:
    """Only a backslash (an escape in double quotes) can write a control character."""
    assert read_yaml('a: "\\x01"\n').escapes
    assert read_yaml("a: x\\y\n").escapes
    assert not read_yaml("a: 'x'\nb: |\n  y\n").escapes


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet=st.sampled_from([*CONTROL, "a", " ", ":", "'", '"', "\n", "|", "\\", "x"])))
def test_no_backslash_no_control_character(text: str) -> None:
    doc = read_yaml(text)
    if doc.ok and not doc.escapes:
        assert not any(c in CONTROL for t in _texts(doc.value) for c in t)
