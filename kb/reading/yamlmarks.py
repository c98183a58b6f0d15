"""Where each key and value of a YAML document was written, kept compactly.

Two ints (line, column) per key and value, in document order, and the document's shape as a
sequence of tokens; a place is found when asked for by walking the value in that same order.
kb.reading.yamlio fills these as it reads.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any, TypeVar, overload

# marks[(*path, KEY)] is where the key of path is written; marks[(*path, DUPLICATE, ...)] are
# places inside the dropped value of a key given again at path
KEY = "<key>"
DUPLICATE = "<duplicate>"


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
