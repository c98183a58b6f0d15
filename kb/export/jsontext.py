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
from json.encoder import encode_basestring
from typing import Any

INDENT = 2
_FLAT = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({list, tuple, dict})  # written [] or {} at any level when empty
_DEEPEST = 100


class _Unusual(Exception):
    """A value the fast path does not handle: let json.dumps encode the whole document."""


class _Levels:
    """Per nesting level: the newline and indentation, and a C encoder that writes them."""

    def __init__(self) -> None:
        self.newline: list[str] = []
        self.encoders: list[json.JSONEncoder] = []

    def at(self, level: int) -> tuple[str, json.JSONEncoder]:
        if level > _DEEPEST:
            raise _Unusual  # deeper than any knowledge base goes, or a container inside itself
        while len(self.encoders) <= level:
            nl = "\n" + " " * (INDENT * len(self.encoders))
            sep = ("," + nl, ": ")
            self.encoders.append(
                json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=sep)
            )
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


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int or kind is float:
        return json.dumps(value) if kind is float else int.__repr__(value)
    raise _Unusual


def _encode(value: Any, level: int, out: list[str]) -> None:
    kind = type(value)
    if kind is dict:
        _mapping(value, level, out)
    elif kind is list or kind is tuple:
        _sequence(value, level, out)
    else:
        out.append(_scalar(value))


def _sequence(items: list[Any] | tuple[Any, ...], level: int, out: list[str]) -> None:
    if not items:
        out.append("[]")
        return
    inner, encoder = _LEVELS.at(level + 1)
    outer = _LEVELS.newline[level]
    if all(type(v) in _FLAT or (not v and type(v) in _CONTAINERS) for v in items):
        text = encoder.encode(items)  # "[a,\n  b]": the brackets get their own lines
        out.append("[" + inner + text[1:-1] + outer + "]")
        return
    out.append("[" + inner)
    for i, v in enumerate(items):
        if i:
            out.append("," + inner)
        _encode(v, level + 1, out)
    out.append(outer + "]")


def _mapping(mapping: dict[Any, Any], level: int, out: list[str]) -> None:
    if not mapping:
        out.append("{}")
        return
    if not all(type(k) is str for k in mapping):
        raise _Unusual  # json.dumps turns numbers, booleans and null into keys, or refuses
    inner, encoder = _LEVELS.at(level + 1)
    outer = _LEVELS.newline[level]
    if all(type(v) in _FLAT or (not v and type(v) in _CONTAINERS) for v in mapping.values()):
        text = encoder.encode(mapping)
        out.append("{" + inner + text[1:-1] + outer + "}")
        return
    out.append("{" + inner)
    first = True
    for k, v in sorted(mapping.items()):
        if first:
            first = False
        else:
            out.append("," + inner)
        out.append(encode_basestring(k) + ": ")
        _encode(v, level + 1, out)
    out.append(outer + "}")
