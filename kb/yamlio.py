"""Read YAML safely with libyaml's C parser, keeping the line and column of every key and value.

The document is built from parser events with an explicit stack, so that no input can make it
recurse: anchors and aliases are refused (no "billion laughs"), nesting deeper than MAX_DEPTH stops
the read, and a key given twice is reported instead of silently replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 50
MAX_BYTES = 5 * 1024 * 1024

_resolver = Resolver()
_constructor = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# Plain scalars kept as written: strings, dates, and `=` and `<<` (YAML 1.1's value and merge
# keys, which would otherwise resolve to tags no record uses).
_PLAIN_TAGS = {_STR, _TIMESTAMP, "tag:yaml.org,2002:value", "tag:yaml.org,2002:merge"}
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null": _constructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": _constructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": _constructor.construct_yaml_int,
    "tag:yaml.org,2002:float": _constructor.construct_yaml_float,
}
_COLLECTION_TAGS = {
    ev.MappingStartEvent: {None, "!", "tag:yaml.org,2002:map"},
    ev.SequenceStartEvent: {None, "!", "tag:yaml.org,2002:seq"},
}
KEY = "<key>"  # marks[(*path, KEY)] is where the key of path is written


@dataclass(slots=True)
class Issue:
    """A problem met while reading: code, message, 1-based line and column."""

    code: str
    message: str
    line: int
    col: int


@dataclass(slots=True)
class Document:
    """The value of a YAML file, where each piece of it was, and what went wrong."""

    value: Any = None
    marks: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file was read completely."""
        return not any(i.code in _FATAL for i in self.issues)


# Issues after which the value is incomplete and must not be used (a duplicate key is not one).
_FATAL = frozenset({"yaml-syntax", "yaml-alias", "yaml-too-deep", "bad-encoding", "file-too-large"})


def decode(data: bytes) -> tuple[str | None, Issue | None]:
    """Decode UTF-8 (a byte-order mark is dropped); name the line and column of a bad byte."""
    data = data.removeprefix(b"\xef\xbb\xbf")  # so that offsets below are into `data`
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        # the column counts characters, as every other column does, not bytes
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        return None, Issue(
            "bad-encoding",
            f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded; save the file as UTF-8",
            line,
            col,
        )
    return text, None


# First characters of a plain scalar that may resolve to null, bool, int, float or timestamp.
_MAY_RESOLVE = frozenset("yYnNtTfFoO~0123456789+-.")


def _scalar(event: ev.ScalarEvent) -> Any:
    tag = event.tag
    if tag in (None, "!"):
        value = event.value
        if event.style or tag == "!" or not value or value[0] not in _MAY_RESOLVE:
            return value  # quoted, block, or plain text that no implicit type starts with
        tag = _resolver.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    if tag in _PLAIN_TAGS:  # dates stay as written; the schema checks their form
        return event.value
    build = _SCALAR_TAGS.get(tag)
    if build is None:
        raise _Unsupported(f"unsupported YAML tag {tag!r}", event.start_mark)
    try:
        built: Any = build(ScalarNode(tag, event.value))
    except Exception as exc:  # PyYAML's constructors on `!!int x`, `!!bool maybe`, `!!int ''`
        raise _Unsupported(f"{_cut(event.value)} is not a valid {tag}", event.start_mark) from exc
    if isinstance(built, int) and built.bit_length() > _MAX_INT_BITS:
        # 0x.., 0b.. and 1:2:3 forms are not bounded by Python's 4300-digit limit on decimal
        # text, but such an int cannot be printed (str() raises ValueError) anywhere later.
        raise _Unsupported(f"number {_cut(event.value)} is too long", event.start_mark)
    return built


_MAX_INT_BITS = 4000 * 3  # about 3600 decimal digits, under Python's 4300-digit str() limit


def _cut(text: str, limit: int = 40) -> str:
    """Quote a scalar for a message, cut so that a huge value makes a short message."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 1]) + "…"


def _events(text: str) -> Iterator[Any]:
    """Yield the parser's events (the same as yaml.parse, with one call per event)."""
    loader = _Loader(text)
    try:
        get = loader.get_event
        while (event := get()) is not None:
            yield event
    finally:
        loader.dispose()


class _Unsupported(Exception):
    def __init__(self, what: str, mark: Any) -> None:
        super().__init__(what)
        self.mark = mark


@dataclass(slots=True)
class _Skip:
    """The value of a duplicate key: read, then dropped (the first one is kept)."""

    key: str


def read_yaml(text: str) -> Document:
    """Read one YAML document; never raises on bad content, every problem is in `issues`."""
    doc = Document()
    marks = doc.marks
    # Each frame: [container, path, pending_key]; pending_key is a sentinel until a key is read.
    stack: list[list[Any]] = []
    no_key = object()
    documents = 0

    def place(value: Any, mark: Any) -> tuple[Any, ...] | None:
        """Attach a new value to its parent; return its path, or None if it is a mapping key."""
        at = (mark.line + 1, mark.column + 1)
        if not stack:
            doc.value = value
            marks[()] = at
            return ()
        frame = stack[-1]
        container, path, pending = frame
        if isinstance(container, list):
            p = (*path, len(container))
            container.append(value)
            marks[p] = at
            return p
        if pending is no_key:
            if isinstance(value, (dict, list)):
                raise _Unsupported(
                    "a mapping key must be a plain value, not a list or mapping", mark
                )
            key = (
                "null"
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
            if key in container:
                first = marks.get((*path, key, KEY), (0, 0))
                doc.issues.append(
                    Issue(
                        "duplicate-key",
                        f"key {key!r} is given twice in one mapping (first at line {first[0]}); "
                        "YAML would silently keep only the last one",
                        *at,
                    )
                )
                frame[2] = _Skip(key)
            else:
                frame[2] = key
                marks[(*path, key, KEY)] = at
            return None
        frame[2] = no_key
        if isinstance(pending, _Skip):
            return (*path, pending.key, "<duplicate>")
        container[pending] = value
        p = (*path, pending)
        marks[p] = at
        return p

    try:
        for event in _events(text):
            if isinstance(event, ev.ScalarEvent):
                if event.anchor is not None:
                    raise _Alias(event.start_mark, f"anchor &{event.anchor}")
                place(_scalar(event), event.start_mark)
            elif isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
                if event.anchor is not None:
                    raise _Alias(event.start_mark, f"anchor &{event.anchor}")
                if event.tag not in _COLLECTION_TAGS.get(type(event), ()):
                    raise _Unsupported(f"unsupported YAML tag {event.tag!r}", event.start_mark)
                if len(stack) >= MAX_DEPTH:
                    m: Any = event.start_mark
                    doc.issues.append(
                        Issue(
                            "yaml-too-deep",
                            f"nesting deeper than {MAX_DEPTH} levels is refused",
                            m.line + 1,
                            m.column + 1,
                        )
                    )
                    return doc
                container: Any = {} if isinstance(event, ev.MappingStartEvent) else []
                path = place(container, event.start_mark)
                if path is None:
                    raise _Unsupported(
                        "a mapping key must be a plain value, not a list or mapping",
                        event.start_mark,
                    )
                stack.append([container, path, no_key])
            elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, ev.AliasEvent):
                raise _Alias(event.start_mark, f"alias *{event.anchor}")
            elif isinstance(event, ev.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    m = event.start_mark
                    doc.issues.append(
                        Issue(
                            "yaml-syntax",
                            "a second YAML document ('---') is not allowed: one record per file",
                            m.line + 1,
                            m.column + 1,
                        )
                    )
                    return doc
    except _Alias as exc:
        doc.issues.append(
            Issue(
                "yaml-alias",
                f"YAML anchors and aliases are refused ({exc.what}): write the value out in full",
                exc.mark.line + 1,
                exc.mark.column + 1,
            )
        )
    except _Unsupported as exc:
        doc.issues.append(Issue("yaml-syntax", str(exc), exc.mark.line + 1, exc.mark.column + 1))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        if "nesting depth" in what and mark is not None and 0 < mark.index < len(text):
            # libyaml 0.2.5+ (PyYAML 6.0.4 wheels) scans flow brackets ahead and stops at its own
            # limit of 1000 before any event reaches ours: read the text up to there instead, so
            # the refusal is yaml-too-deep where level 51 opens, as with any other nesting.
            cut = read_yaml(text[: mark.index])
            deep = [i for i in cut.issues if i.code == "yaml-too-deep"]
            if deep:
                doc.issues.append(deep[0])
                return doc
        if exc.context:
            what = f"{exc.context}: {what}"
        doc.issues.append(Issue("yaml-syntax", f"invalid YAML: {what}", line, col))
    except yaml.reader.ReaderError as exc:
        # libyaml counts this position in bytes of UTF-8; lines and columns count characters
        line, col = _line_col(text.encode("utf-8")[: exc.position].decode("utf-8", "ignore"))
        doc.issues.append(
            Issue("bad-encoding", f"character not allowed in YAML: {exc.reason}", line, col)
        )
    except UnicodeEncodeError as exc:  # a lone surrogate: only from a str, never from a file
        line, col = _line_col(text[: exc.start])
        doc.issues.append(Issue("bad-encoding", "a lone surrogate is not a character", line, col))
    except yaml.YAMLError as exc:  # any other libyaml complaint, e.g. its own nesting limit
        line, col = _last_mark(text, marks)
        doc.issues.append(Issue("yaml-syntax", f"invalid YAML: {exc}".splitlines()[0], line, col))
    return doc


class _Alias(Exception):
    def __init__(self, mark: Any, what: str) -> None:
        super().__init__(what)
        self.mark = mark
        self.what = what


def _last_mark(text: str, marks: dict[tuple[Any, ...], tuple[int, int]]) -> tuple[int, int]:
    return max(marks.values(), default=(1, 1))


def _line_col(before: str) -> tuple[int, int]:
    """Return the 1-based line and column just after `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
