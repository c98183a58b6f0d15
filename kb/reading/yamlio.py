"""Read YAML safely with libyaml's C parser, keeping the line and column of every key and value.

The document is built from parser events with an explicit stack, so that no input can make it
recurse: anchors and aliases are refused (no "billion laughs"), nesting deeper than MAX_DEPTH stops
the read, and a key given twice is reported instead of silently replaced.

The places are kept compactly (see Marks): two ints per key and value, in document order, and a
place is found when asked for by walking the value in that same order.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from kb.reading.yamlmarks import (
    _END,
    _ITEM,
    _MAP,
    _SEQ,
    KEY,
    Mark,
    Marks,
    Path_,
    _replay,
    _shared,
)

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
    marks: Marks = field(default_factory=Marks)
    issues: list[Issue] = field(default_factory=list)
    # False when the text has no backslash: then no value can hold a control character, as
    # only an escape in a double-quoted scalar can write one (the reader refuses them raw).
    escapes: bool = True
    # What the loader built from this document (kb.reading.load: kind, id, record, problems),
    # kept with
    # it in a long-running caller's parse cache so that an unchanged file is not built again.
    built: Any = None

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


# Plain scalars that may be more than text, already read: what each reads as. Most are keys
# (`text`, `title`, `origin` start as a boolean or a null might). Only values read without error.
_RESOLVED: dict[str, Any] = {}
_RESOLVED_MAX = 4096
_intern = sys.intern
_SHORT = 24  # texts this short are interned: in a large base most are repeated many times


def _plain(event: ev.ScalarEvent) -> Any:
    """Read a plain scalar that may resolve to null, bool, int or float; remember what it was."""
    value = _scalar(event)
    if len(_RESOLVED) < _RESOLVED_MAX:
        _RESOLVED[event.value] = value
    return value


_MAX_INT_BITS = 4000 * 3  # about 3600 decimal digits, under Python's 4300-digit str() limit


def _cut(text: str, limit: int = 40) -> str:
    """Quote a scalar for a message, cut so that a huge value makes a short message."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 1]) + "…"


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
    doc = Document(escapes="\\" in text)
    issues = doc.issues
    state = _State()
    other: yaml.YAMLError | None = None  # a complaint placed at the last mark read
    loader = None
    try:
        loader = _Loader(text)  # a lone surrogate raises here
        _walk(loader.get_event, doc, state)
    except _Alias as exc:
        issues.append(
            Issue(
                "yaml-alias",
                f"YAML anchors and aliases are refused ({exc.what}): write the value out in full",
                exc.mark.line + 1,
                exc.mark.column + 1,
            )
        )
    except _Unsupported as exc:
        issues.append(Issue("yaml-syntax", str(exc), exc.mark.line + 1, exc.mark.column + 1))
    except yaml.MarkedYAMLError as exc:
        issues.append(_syntax_issue(text, exc))
    except yaml.reader.ReaderError as exc:
        # libyaml counts this position in bytes of UTF-8; lines and columns count characters
        line, col = _line_col(text.encode("utf-8")[: exc.position].decode("utf-8", "ignore"))
        issues.append(
            Issue("bad-encoding", f"character not allowed in YAML: {exc.reason}", line, col)
        )
    except UnicodeEncodeError as exc:  # a lone surrogate: only from a str, never from a file
        line, col = _line_col(text[: exc.start])
        issues.append(Issue("bad-encoding", "a lone surrogate is not a character", line, col))
    except yaml.YAMLError as exc:  # any other libyaml complaint, e.g. its own nesting limit
        other = exc
    finally:
        if loader is not None:
            loader.dispose()
    _finish(doc, state, other)
    return doc


@dataclass(slots=True)
class _State:
    """What reading a document leaves behind, also when it breaks off."""

    ints: list[int] = field(default_factory=list)  # see Marks
    tokens: list[str | int] = field(default_factory=list)  # the shape (see Marks)
    extras: list[Any] = field(default_factory=list)
    firsts: dict[str, int] | None = None  # of the mapping open when reading stopped
    key: Any = None
    depth: int = 0
    documents: int = 0


def _finish(doc: Document, state: _State, other: yaml.YAMLError | None) -> None:
    """Make the document's marks, and report a complaint placed at the last mark read."""
    ints, extras = state.ints, state.extras
    if state.firsts is not None and type(state.key) is str:  # broke off after a key
        extras.append((state.depth, state.key, ints[-2], ints[-1]))  # keep the key's place
        del ints[-2:]
        ints.append(-len(extras))
    if extras or other is not None or not doc.ok:
        doc.marks = Marks(doc.value, _packed(ints), extras)
    else:  # read completely: the structure stands for the value (see Marks)
        doc.marks = Marks(None, _packed(ints), shape=_shared(tuple(state.tokens)))
    if other is not None:
        line, col = max(doc.marks.values(), default=(1, 1))
        doc.issues.append(Issue("yaml-syntax", f"invalid YAML: {other}".splitlines()[0], line, col))


def _walk(get: Any, doc: Document, state: _State) -> None:
    """Build the document from the parser's events (`get`), its marks in `state` (events are
    typed loosely in the stubs). The hot loop: scalars are handled inline."""
    issues, ints, extras = doc.issues, state.ints, state.extras
    put, tok = ints.append, state.tokens.append
    # Around the open mapping or list `cur`: the (cur, firsts) of each enclosing one.
    stack: list[tuple[Any, dict[str, int] | None]] = []
    cur: Any = None  # the open mapping or list; None at the top
    # In an open mapping: where in `ints` the mark of each of its keys is; None in a list.
    firsts: dict[str, int] | None = None
    key: Any = None  # in a mapping: None, or the key read (str), or _Skip(key) if given twice
    try:
        while (event := get()) is not None:
            kind = type(event)
            if kind is _SCALAR:
                if event.anchor is not None:
                    raise _Alias(event.start_mark, f"anchor &{event.anchor}")
                value = event.value
                if event.tag is not None:
                    value = _scalar(event)
                elif not event.style and value and value[0] in _MAY_RESOLVE:
                    value = _RESOLVED[value] if value in _RESOLVED else _plain(event)
                elif len(value) <= _SHORT:  # keys, ids, words: one str each, not one per file
                    value = _intern(value)
                mark = event.start_mark
                if firsts is not None:
                    if key is None:  # this scalar is a key
                        if type(value) is not str:
                            value = _key_text(value)
                        if value in firsts:
                            issues.append(
                                _duplicate(cur, value, firsts[value], ints, extras, stack, mark)
                            )
                            key = _Skip(value)
                        else:
                            firsts[value] = len(ints)
                            put(mark.line)
                            put(mark.column)
                            tok(value)
                            key = value
                    elif type(key) is str:
                        cur[key] = value
                        put(mark.line)
                        put(mark.column)
                        key = None
                    else:  # the value of a key given twice: dropped
                        extras.append((len(stack), key.key, value))
                        put(-len(extras))
                        key = None
                elif cur is not None:
                    cur.append(value)
                    put(mark.line)
                    put(mark.column)
                    tok(_ITEM)
                else:
                    doc.value = value
                    put(mark.line)
                    put(mark.column)
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                cur, firsts = stack.pop()
                key = None
                tok(_END)
            elif kind is _MAPPING_START or kind is _SEQUENCE_START:
                opened = _open(event, doc, state, stack, cur, firsts, key)
                if opened is None:
                    break
                cur, firsts = opened
                key = None
            elif kind is ev.AliasEvent:
                raise _Alias(event.start_mark, f"alias *{event.anchor}")
            elif kind is ev.DocumentStartEvent and not _first_document(event, doc, state):
                break
    finally:
        state.firsts, state.key, state.depth = firsts, key, len(stack)


def _open(
    event: Any,
    doc: Document,
    state: _State,
    stack: list[tuple[Any, dict[str, int] | None]],
    cur: Any,
    firsts: dict[str, int] | None,
    key: Any,
) -> tuple[Any, dict[str, int] | None] | None:
    """A mapping or list starts: place it in the open one (or at the top), push that one on
    `stack`, and return the new (cur, firsts); None when it would nest too deep (reported)."""
    kind = type(event)
    mark = event.start_mark
    if event.anchor is not None:
        raise _Alias(mark, f"anchor &{event.anchor}")
    if event.tag is not None and event.tag not in _COLLECTION_TAGS[kind]:
        raise _Unsupported(f"unsupported YAML tag {event.tag!r}", mark)
    if len(stack) >= MAX_DEPTH:
        doc.issues.append(
            Issue(
                "yaml-too-deep",
                f"nesting deeper than {MAX_DEPTH} levels is refused",
                mark.line + 1,
                mark.column + 1,
            )
        )
        return None
    ints, extras = state.ints, state.extras
    new: Any = {} if kind is _MAPPING_START else []
    if firsts is not None:
        if key is None:
            raise _Unsupported("a mapping key must be a plain value, not a list or mapping", mark)
        if type(key) is str:
            cur[key] = new
            ints += (mark.line, mark.column)
        else:  # the value of a key given twice: dropped, but what is in it is read
            extras.append((len(stack), key.key, new))
            ints.append(-len(extras))
    elif cur is not None:
        cur.append(new)
        ints += (mark.line, mark.column)
    else:
        doc.value = new
        ints += (mark.line, mark.column)
    stack.append((cur, firsts))
    if kind is _MAPPING_START:
        state.tokens.append(_MAP)
        return new, {}
    state.tokens.append(_SEQ)
    return new, None


def _first_document(event: Any, doc: Document, state: _State) -> bool:
    """Count a document's start; False (reported) at a second one."""
    state.documents += 1
    if state.documents > 1:
        m = event.start_mark
        doc.issues.append(
            Issue(
                "yaml-syntax",
                "a second YAML document ('---') is not allowed: one record per file",
                m.line + 1,
                m.column + 1,
            )
        )
        return False
    return True


def _packed(ints: list[int]) -> Sequence[int]:
    """`ints` in as few bytes as they fit in: one each under 256, else two, else four."""
    try:
        return bytes(ints)
    except ValueError:
        pass
    try:
        return array("H", ints)
    except OverflowError:
        return array("i", ints)


def _syntax_issue(text: str, exc: yaml.MarkedYAMLError) -> Issue:
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
            return deep[0]
    if exc.context:
        what = f"{exc.context}: {what}"
    return Issue("yaml-syntax", f"invalid YAML: {what}", line, col)


def _key_text(value: Any) -> str:
    """A mapping key as text: `1` is "1", `true` is "true", `null` is "null"."""
    return (
        "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    )


def _duplicate(
    mapping: dict[str, Any],
    key: str,
    first: int,
    ints: list[int],
    extras: list[Any],
    stack: list[Any],
    mark: Any,
) -> Issue:
    """The issue of `key` given again in `mapping`; `first` is where its first key mark is."""
    line = ints[first] + 1
    value = mapping[key]
    if type(value) is dict and KEY in value:  # the place of its "<key>" replaced the key's
        inside: dict[Path_, Mark] = {}
        _replay(value, (), ints, first + 4, len(stack) + 1, extras, inside)
        line = inside[(KEY,)][0]
    return Issue(
        "duplicate-key",
        f"key {key!r} is given twice in one mapping (first at line {line}); "
        "YAML would silently keep only the last one",
        mark.line + 1,
        mark.column + 1,
    )


_SCALAR = ev.ScalarEvent
_MAPPING_START, _MAPPING_END = ev.MappingStartEvent, ev.MappingEndEvent
_SEQUENCE_START, _SEQUENCE_END = ev.SequenceStartEvent, ev.SequenceEndEvent


class _Alias(Exception):
    def __init__(self, mark: Any, what: str) -> None:
        super().__init__(what)
        self.mark = mark
        self.what = what


def _line_col(before: str) -> tuple[int, int]:
    """Return the 1-based line and column just after `before`."""
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
