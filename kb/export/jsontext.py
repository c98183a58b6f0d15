"""`json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)`, the same text faster.

With `indent`, the standard library encodes in Python, value by value. Here every list or
mapping that holds only strings, numbers, booleans, nulls and empty lists or mappings (most of
them: a problem, a CSL name, a date) is encoded by the C encoder, given separators that carry
the newline and the indentation of its level; only the containers around them are walked in
Python. Anything unusual (a key that is not a string, a type JSON does not know) falls back to
`json.dumps` itself, so the text, and any error, are always the standard library's.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

INDENT = 2
_FLAT = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({list, tuple, dict})  # written [] or {} at any level when empty
_DEEPEST = 100


class _Unusual(Exception):
    """A value the fast path does not handle: let json.dumps encode the whole document."""


def _flat_encoder(separator: str) -> Callable[[Any], str]:
    """Encode a list or mapping of scalars as json.dumps would, items joined by `separator`."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the standard encoder, in Python
        return json.JSONEncoder(
            ensure_ascii=False, sort_keys=True, separators=(separator, ": ")
        ).encode
    # What JSONEncoder.encode builds on each call, built once (no loop check: scalars only).
    try:
        c = make(None, None, encode_basestring, None, ": ", separator, True, False, True)
    except TypeError:  # another signature: let JSONEncoder call it
        return json.JSONEncoder(
            ensure_ascii=False, sort_keys=True, separators=(separator, ": ")
        ).encode
    return lambda value: "".join(c(value, 0))


class _Levels:
    """Per nesting level: the newline and indentation, and a C encoder that writes them."""

    def __init__(self) -> None:
        self.newline: list[str] = []
        self.encoders: list[Callable[[Any], str]] = []

    def at(self, level: int) -> tuple[str, Callable[[Any], str]]:
        if level > _DEEPEST:
            raise _Unusual  # deeper than any knowledge base goes, or a container inside itself
        while len(self.encoders) <= level:
            nl = "\n" + " " * (INDENT * len(self.encoders))
            self.encoders.append(_flat_encoder("," + nl))
            self.newline.append(nl)
        return self.newline[level], self.encoders[level]


_LEVELS = _Levels()


def dumps(value: Any) -> str:
    """Return exactly `json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)`."""
    out: list[str] = []
    try:
        _encode(value, 0, out)
    except _Unusual:
        return json.dumps(value, ensure_ascii=False, indent=INDENT, sort_keys=True)
    return "".join(out)


class Raw:
    """Text already encoded (by `encode_at`, at the depth where it goes), written as it is:
    a document is put together from pieces kept between builds."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def encode_at(value: Any, level: int) -> str | None:
    """Return the text `dumps` writes for `value` inside containers `level` deep, or None
    when the value is unusual (then only `dumps` of the whole document says what it is)."""
    out: list[str] = []
    try:
        _encode(value, level, out)
    except _Unusual:
        return None
    return "".join(out)


def _flat(values: Any) -> bool:
    return all(type(v) in _FLAT or (not v and type(v) in _CONTAINERS) for v in values)


def _encode(value: Any, level: int, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is dict:
        _mapping(value, level, out)
    elif kind is list or kind is tuple:
        _sequence(value, level, out)
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(json.dumps(value))
    elif kind is Raw:
        out.append(value.text)
    else:
        raise _Unusual


def _sequence(items: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
    if not items:
        out.append("[]")
        return
    inner, encoder = _LEVELS.at(level + 1)
    outer = _LEVELS.newline[level]
    if _flat(items):
        text = encoder(items)  # "[a,\n  b]": the brackets get their own lines
        out.append("[" + inner + text[1:-1] + outer + "]")
        return
    sep = "[" + inner
    for v in items:
        if type(v) is str:
            out.append(sep + encode_basestring(v))
        else:
            out.append(sep)
            _encode(v, level + 1, out)
        sep = "," + inner
    out.append(outer + "]")


def _mapping(mapping: dict[Any, Any], level: int, out: list[str]) -> None:
    if not mapping:
        out.append("{}")
        return
    inner, encoder = _LEVELS.at(level + 1)
    outer = _LEVELS.newline[level]
    if _flat(mapping.values()):
        # The C encoder sorts and converts keys as the Python one does (or says the same error).
        text = encoder(mapping)
        out.append("{" + inner + text[1:-1] + outer + "}")
        return
    sep = "{" + inner
    for k, v in sorted(mapping.items()):
        if type(k) is not str:
            raise _Unusual  # json.dumps turns numbers, booleans and null into keys, or refuses
        if type(v) is str:
            out.append(sep + encode_basestring(k) + ": " + encode_basestring(v))
        else:
            out.append(sep + encode_basestring(k) + ": ")
            _encode(v, level + 1, out)
        sep = "," + inner
    out.append(outer + "}")
