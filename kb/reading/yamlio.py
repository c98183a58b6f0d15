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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar, overload

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
# marks[(*path, KEY)] is where the key of path is written; marks[(*path, DUPLICATE, ...)] are
# places inside the dropped value of a key given again at path
KEY = "<key>"
DUPLICATE = "<duplicate>"


@dataclass(slots=True)
class Issue:
    """A problem met while reading: code, message, 1-based line and column."""

    code: str
    message: str
    line: int
    col: int


Path_ = tuple[Any, ...]
Mark = tuple[int, int]
_T = TypeVar("_T")


class Marks(Mapping[Path_, Mark]):
    """The 1-based (line, column) of every value and key of a document, by path.

    `marks[("quotes", 0, "text")]` is where that value starts, `marks[("quotes", 0, "text", KEY)]`
    where its key is, `marks[()]` where the document's value starts. The value of a key given
    twice is read but dropped: its own place is not kept, those inside it are, under
    `(*path, key, DUPLICATE, ...)`. Where two paths are the same tuple (a key written as
    "<key>"), the place read later is the one kept.

    Kept compactly and found when asked for: `ints` holds the 0-based line and column of each
    value and each key (before its value) in document order, as bytes when every one is under
    256 (most record files), else as an array; a place is found by walking the document's
    structure to it and counting the places of what comes before.

    A document read completely and without a key given twice keeps only its structure, not its
    value: `shape` is a tuple of tokens in document order (see _shape_of), and documents of the
    same structure share one (most records of a base have one of a few), so that the parsed
    value can be dropped once the records are built from it. Otherwise `value` is kept and
    walked: a dropped value is a negative int -(i + 1) where it was read, and `extras[i]` is
    (depth of its mapping, key, value); a key read last, whose value never came (the document
    broke off), is such an int too, with extras[i] = (depth, key, line, col). The value must
    not be changed after reading.
    """

    __slots__ = ("_all", "extras", "ints", "shape", "value")

    def __init__(
        self,
        value: Any = None,
        ints: Sequence[int] | None = None,
        extras: Sequence[Any] | None = None,
        shape: tuple[str | int, ...] | None = None,
    ) -> None:
        self.shape = shape
        self.value: Any = None if shape is not None else value  # the shape stands for it
        self.ints: Sequence[int] = b"" if ints is None else ints
        self.extras: Sequence[Any] = extras or ()  # no list kept per file for nothing
        # every mark as a dict: made once asked for when a place cannot be found by the walk
        self._all: dict[Path_, Mark] | None = None

    def parts(self) -> tuple[Any, ...]:
        """What `from_parts` needs besides the value, in types marshal can send."""
        ints = self.ints
        if type(ints) is bytes:
            return "B", ints, self.extras, self.shape
        assert isinstance(ints, array)
        return ints.typecode, ints.tobytes(), self.extras, self.shape

    @classmethod
    def from_parts(
        cls,
        value: Any,
        typecode: str,
        ints: bytes,
        extras: Sequence[Any],
        shape: tuple[str | int, ...] | None,
    ) -> Marks:
        """Rebuild marks from the document's value and `parts()`."""
        stream: Sequence[int] = ints
        if typecode != "B":
            stream = array(typecode)
            stream.frombytes(ints)
        return cls(value, stream, extras, None if shape is None else _shared(shape))

    @overload
    def get(self, path: Path_, /) -> Mark | None: ...
    @overload
    def get(self, path: Path_, /, default: Mark | _T) -> Mark | _T: ...
    def get(self, path: Path_, /, default: Any = None) -> Any:
        """Where the value at `path` (or the key, if the path ends with KEY) is written."""
        found = self._find(path)
        return default if found is None else found

    def __getitem__(self, path: Path_) -> Mark:
        found = self._find(path)
        if found is None:
            raise KeyError(path)
        return found

    def __contains__(self, path: object) -> bool:
        return isinstance(path, tuple) and self._find(path) is not None

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._every())

    def __len__(self) -> int:
        return len(self._every())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Marks):
            return self._every() == other._every()
        if isinstance(other, Mapping):
            return self._every() == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"Marks({self._every()!r})"

    def _every(self) -> dict[Path_, Mark]:
        """Every mark, in the order read (kept when there were dropped values)."""
        if self._all is not None:
            return self._all
        out: dict[Path_, Mark] = {}
        ints = self.ints
        if self.shape is not None:
            if ints:
                _replay_shape(self.shape, ints, out)
            return out
        if ints:
            out[()] = (ints[0] + 1, ints[1] + 1)
            _replay(self.value, (), ints, 2, 1, self.extras, out)
        if self.extras:
            self._all = out
        return out

    def _find(self, path: Path_) -> Mark | None:
        ints = self.ints
        if self.extras or not ints:  # rare: a key given twice, or a file that broke off
            return self._every().get(path)
        if not path:
            return (ints[0] + 1, ints[1] + 1)
        of_key = path[-1] == KEY
        steps = path[:-1] if of_key else path
        if KEY in steps or DUPLICATE in steps:  # a key written as "<key>" (or "<duplicate>")
            return self._slow(path)
        if self.shape is not None:
            return self._find_in_shape(path, steps, of_key)
        v = self.value
        at = 0  # where v's own mark is in ints
        key_at = -1  # where the key of v is, when v is in a mapping
        for step in steps:
            kind = type(v)
            if kind is dict:
                if step not in v:
                    return None
                at += 2
                for k, child in v.items():
                    if k == step:
                        v = child
                        break
                    at += 4 if type(child) not in _CONTAINERS else 4 + _size(child)
                key_at = at
                at += 2
            elif kind is list:
                if not isinstance(step, int) or not 0 <= step < len(v):
                    return None
                at += 2
                for child in islice(v, step):
                    at += 2 if type(child) not in _CONTAINERS else 2 + _size(child)
                v = v[step]
                key_at = -1
            else:
                return None
        if not of_key:
            return (ints[at] + 1, ints[at + 1] + 1)
        if type(v) is dict and KEY in v:  # the place of its value "<key>" replaced the key's
            return self._slow(path)
        return None if key_at < 0 else (ints[key_at] + 1, ints[key_at + 1] + 1)

    def _find_in_shape(self, path: Path_, steps: Path_, of_key: bool) -> Mark | None:
        """`_find` by the shape: the same walk over tokens instead of the value."""
        shape, ints = self.shape, self.ints
        assert shape is not None
        if KEY in shape:  # a key written as "<key>": its places may replace others'
            return self._slow(path)
        n = len(shape)
        t = 0 if n else -1  # the open token of the value walked into; -1: a scalar
        at = 0  # where that value's own mark is in ints
        key_at = -1  # where its key is, when it is in a mapping
        for step in steps:
            if t < 0:
                return None
            kind = shape[t]
            t += 1
            at += 2
            if kind == _MAP:
                while True:
                    tok = shape[t]
                    if type(tok) is not str:
                        return None  # the mapping's end: no such key
                    t += 1
                    opens = shape[t] in _OPENS
                    if tok == step:
                        key_at = at
                        at += 2
                        if not opens:
                            t = -1
                        break
                    at += 2
                    if opens:
                        t, at = _skip(shape, t, at)
                    else:
                        at += 2
            else:
                if not isinstance(step, int) or step < 0:
                    return None
                for _ in range(step):
                    tok = shape[t]
                    if tok == _END:
                        return None
                    if tok == _ITEM:
                        t += 1
                        at += 2
                    else:
                        t, at = _skip(shape, t, at)
                tok = shape[t]
                if tok == _END:
                    return None
                if tok == _ITEM:
                    t = -1
                key_at = -1
        if not of_key:
            return (ints[at] + 1, ints[at + 1] + 1)
        return None if key_at < 0 else (ints[key_at] + 1, ints[key_at + 1] + 1)

    def _slow(self, path: Path_) -> Mark | None:
        if self._all is None:
            self._all = self._every()
        return self._all.get(path)


# The tokens of a shape: a mapping or a list opens (its own place is counted there), one ends,
# a list holds a scalar; a str is a key of the open mapping, and its value is a scalar unless
# an opening token follows it.
_MAP, _SEQ, _END, _ITEM = 0, 1, 2, 3
_OPENS = (_MAP, _SEQ)
# Shapes read so far, each kept once (a long-running process starts a new set when full).
_SHAPES: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
_SHAPES_MAX = 50_000


def _shared(shape: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The one copy of `shape` kept for every document of that structure."""
    kept = _SHAPES.get(shape)
    if kept is None:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        kept = _SHAPES[shape] = shape
    return kept


def _skip(shape: tuple[str | int, ...], t: int, at: int) -> tuple[int, int]:
    """Step over the mapping or list opened at `shape[t]`, whose own mark is at `ints[at]`;
    return the token and the place after it."""
    depth = 0
    n = len(shape)
    while t < n:
        tok = shape[t]
        t += 1
        if type(tok) is str:
            at += 2 if t < n and shape[t] in _OPENS else 4
        elif tok == _ITEM:
            at += 2
        elif tok == _END:
            depth -= 1
            if not depth:
                break
        else:
            depth += 1
            at += 2
    return t, at


def _replay_shape(
    shape: tuple[str | int, ...], ints: Sequence[int], out: dict[Path_, Mark]
) -> None:
    """Put every place of a document read with this shape into `out`, in the order read."""
    out[()] = (ints[0] + 1, ints[1] + 1)
    at = 2
    n = len(shape)
    path: Path_ = ()
    stack: list[tuple[Path_, int]] = []
    index = 0  # in an open list: the index of the next item
    t = 1  # shape[0] opens the document's mapping or list
    while t < n:
        tok = shape[t]
        t += 1
        if type(tok) is str:
            out[(*path, tok, KEY)] = (ints[at] + 1, ints[at + 1] + 1)
            out[(*path, tok)] = (ints[at + 2] + 1, ints[at + 3] + 1)
            at += 4
            if t < n and shape[t] in _OPENS:
                t += 1
                stack.append((path, index))
                path, index = (*path, tok), 0
        elif tok == _ITEM:
            out[(*path, index)] = (ints[at] + 1, ints[at + 1] + 1)
            at += 2
            index += 1
        elif tok == _END:
            if stack:
                path, index = stack.pop()  # and in a list, the index after the one closed
        else:
            out[(*path, index)] = (ints[at] + 1, ints[at + 1] + 1)
            at += 2
            stack.append((path, index + 1))
            path, index = (*path, index), 0


_CONTAINERS = (dict, list)


def _size(v: Any) -> int:
    """How many ints the places inside the mapping or list `v` take (read without a duplicate)."""
    if type(v) is dict:
        n = 4 * len(v)
        for child in v.values():
            if type(child) in _CONTAINERS:
                n += _size(child)
        return n
    n = 2 * len(v)
    for child in v:
        if type(child) in _CONTAINERS:
            n += _size(child)
    return n


def _replay(
    v: Any,
    path: Path_,
    ints: Sequence[int],
    at: int,
    depth: int,
    extras: Sequence[Any],
    out: dict[Path_, Mark],
) -> int:
    """Put the places inside `v` (read from `ints[at:]`) into `out`; return where they end.

    `depth` is the number of mappings and lists open around the places inside `v`, counting v.
    The order is the reader's, so that a path read twice keeps the later place.
    """
    if type(v) is dict:
        for k, child in v.items():
            at = _replay_extras(path, ints, at, depth, extras, out)
            out[(*path, k, KEY)] = (ints[at] + 1, ints[at + 1] + 1)
            out[(*path, k)] = (ints[at + 2] + 1, ints[at + 3] + 1)
            at += 4
            if type(child) in _CONTAINERS:
                at = _replay(child, (*path, k), ints, at, depth + 1, extras, out)
        return _replay_extras(path, ints, at, depth, extras, out)
    if type(v) is not list:
        return at
    for i, child in enumerate(v):
        out[(*path, i)] = (ints[at] + 1, ints[at + 1] + 1)
        at += 2
        if type(child) in _CONTAINERS:
            at = _replay(child, (*path, i), ints, at, depth + 1, extras, out)
    return at


def _replay_extras(
    path: Path_,
    ints: Sequence[int],
    at: int,
    depth: int,
    extras: Sequence[Any],
    out: dict[Path_, Mark],
) -> int:
    """Replay the dropped values (and a last key without a value) read at `at` in this mapping."""
    while at < len(ints) and ints[at] < 0:
        extra = extras[-ints[at] - 1]
        if extra[0] != depth:
            break  # one of an enclosing mapping's
        at += 1
        if len(extra) == 4:
            out[(*path, extra[1], KEY)] = (extra[2] + 1, extra[3] + 1)
        elif type(extra[2]) in _CONTAINERS:
            at = _replay(extra[2], (*path, extra[1], DUPLICATE), ints, at, depth + 1, extras, out)
    return at


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
    ints: list[int] = []  # see Marks
    put = ints.append
    tokens: list[str | int] = []  # the shape (see Marks)
    tok = tokens.append
    extras: list[Any] = []
    # Around the open mapping or list `cur`: the (cur, firsts) of each enclosing one.
    stack: list[tuple[Any, dict[str, int] | None]] = []
    cur: Any = None  # the open mapping or list; None at the top
    # In an open mapping: where in `ints` the mark of each of its keys is; None in a list.
    firsts: dict[str, int] | None = None
    key: Any = None  # in a mapping: None, or the key read (str), or _Skip(key) if given twice
    documents = 0
    other: yaml.YAMLError | None = None  # a complaint placed at the last mark read
    loader = None
    try:
        loader = _Loader(text)  # a lone surrogate raises here
        get: Any = loader.get_event  # events are typed loosely in the stubs
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
                mark = event.start_mark
                if event.anchor is not None:
                    raise _Alias(mark, f"anchor &{event.anchor}")
                if event.tag is not None and event.tag not in _COLLECTION_TAGS[kind]:
                    raise _Unsupported(f"unsupported YAML tag {event.tag!r}", mark)
                if len(stack) >= MAX_DEPTH:
                    issues.append(
                        Issue(
                            "yaml-too-deep",
                            f"nesting deeper than {MAX_DEPTH} levels is refused",
                            mark.line + 1,
                            mark.column + 1,
                        )
                    )
                    break
                new: Any = {} if kind is _MAPPING_START else []
                if firsts is not None:
                    if key is None:
                        raise _Unsupported(
                            "a mapping key must be a plain value, not a list or mapping", mark
                        )
                    if type(key) is str:
                        cur[key] = new
                        put(mark.line)
                        put(mark.column)
                    else:  # the value of a key given twice: dropped, but what is in it is read
                        extras.append((len(stack), key.key, new))
                        put(-len(extras))
                    key = None
                elif cur is not None:
                    cur.append(new)
                    put(mark.line)
                    put(mark.column)
                else:
                    doc.value = new
                    put(mark.line)
                    put(mark.column)
                stack.append((cur, firsts))
                cur = new
                if kind is _MAPPING_START:
                    firsts = {}
                    tok(_MAP)
                else:
                    firsts = None
                    tok(_SEQ)
            elif kind is ev.AliasEvent:
                raise _Alias(event.start_mark, f"alias *{event.anchor}")
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    m: Any = event.start_mark
                    issues.append(
                        Issue(
                            "yaml-syntax",
                            "a second YAML document ('---') is not allowed: one record per file",
                            m.line + 1,
                            m.column + 1,
                        )
                    )
                    break
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
    if firsts is not None and type(key) is str:  # broke off after a key: keep the key's place
        extras.append((len(stack), key, ints[-2], ints[-1]))
        del ints[-2:]
        put(-len(extras))
    if extras or other is not None or not doc.ok:
        doc.marks = Marks(doc.value, _packed(ints), extras)
    else:  # read completely: the structure stands for the value (see Marks)
        doc.marks = Marks(None, _packed(ints), shape=_shared(tuple(tokens)))
    if other is not None:
        line, col = max(doc.marks.values(), default=(1, 1))
        issues.append(Issue("yaml-syntax", f"invalid YAML: {other}".splitlines()[0], line, col))
    return doc


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
