"""Typed reading of one YAML record: every bad key or value becomes a problem at its place."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from kb.errors import Loc, Problem
from kb.model import Located, Path_
from kb.reading import problems as L

# What a record's text may not hold: C0 controls but tab, line feed and carriage return; and the
# two non-characters XML refuses (kb.cli.report refuses them on the command line too).
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_control = NOT_TEXT.search


@cache
def _key_set(allowed: tuple[str, ...]) -> frozenset[str]:
    return frozenset(allowed)


class RecordReader:
    """Read values out of one parsed file, reporting problems with their line and column.

    `escapes` is False when the file's text has no backslash: no value can hold a control
    character then (see yamlio.Document), and texts are not searched for one.
    """

    __slots__ = ("escapes", "problems", "subject", "where")

    def __init__(
        self, where: Located, problems: list[Problem], subject: str | None, escapes: bool = True
    ) -> None:
        self.where = where
        self.problems = problems
        self.subject = subject
        self.escapes = escapes

    def loc(self, path: Path_) -> Loc:
        """Where the value at `path` is."""
        return self.where.at(*path)

    def report(self, p: Problem) -> None:
        """Keep a problem, tagged with the record it is about."""
        if self.subject and p.subject is None:
            p = Problem(p.loc, p.code, p.message, p.severity, self.subject)
        self.problems.append(p)

    def mapping(
        self,
        value: Any,
        path: Path_,
        what: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> dict[str, Any] | None:
        """Check that `value` is a mapping with only `allowed` keys and every `required` one."""
        if not isinstance(value, dict):
            got = "an empty file" if value is None and not path else L.type_name(value)
            self.report(L.not_a_mapping(self.loc(path), what, got))
            return None
        allowed = tuple(allowed)
        allowed_set = _key_set(allowed)
        if not value.keys() <= allowed_set:
            for key in value:
                if key not in allowed_set:
                    self.report(L.unknown_key(self.where.key_at(*path, key), key, what, allowed))
        for key in required:
            if value.get(key) in (None, ""):
                loc = self.where.key_at(*path, key) if key in value else self.loc(path)
                self.report(L.missing_key(loc, key, what))
        return value

    def text(self, m: dict[str, Any], key: str, path: Path_, numbers: bool = False) -> str | None:
        """Return m[key] as text, or None when absent or of the wrong type (reported)."""
        v = m.get(key)
        if v is None:
            return None
        if isinstance(v, str):
            if len(v) > L.TEXT_MAX:
                self._bounded(v, (*path, key), key)
            if not self.escapes or _control(v) is None:
                return v
            return self._printable(v, (*path, key), key)
        if numbers and isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        self.report(L.bad_type(self.loc((*path, key)), key, "text", v))
        return None

    def _bounded(self, v: str, path: Path_, key: str) -> None:
        """Report a text value longer than kb shows (the value is kept: the build stops)."""
        limit = L.TEXT_MAX_LONG if key in L.LONG_TEXT_KEYS else L.TEXT_MAX
        if len(v) > limit:
            found = L.value_too_long(self.loc(path), key, len(v), limit)
            same = (found.loc, found.code)
            if not any((q.loc, q.code) == same for q in self.problems):  # read twice: once
                self.report(found)

    def _printable(self, v: str, path: Path_, key: str) -> str | None:
        """Return `v`, or None (reported) when it holds a control character no output can carry.

        A file cannot hold them raw (that is bad-encoding too), but escapes such as "\\0"
        or "\\e" can write them: a NUL is invalid in XML and BibTeX, an ESC sequence would act
        on a terminal. Tab, line feed and carriage return are text.
        """
        if not self.escapes:
            return v
        bad = _control(v)
        if bad is None:
            return v
        self.report(
            L.bad_encoding(
                self.loc(path),
                f"{key!r} holds the control character U+{ord(bad.group()):04X} "
                "(written as an escape): it is not allowed in text",
            )
        )
        return None

    def enum(
        self, m: dict[str, Any], key: str, path: Path_, allowed: Iterable[str], default: str | None
    ) -> str | None:
        """Return m[key] if it is one of `allowed`; report it otherwise."""
        v = self.text(m, key, path)
        if v is None:
            return default
        allowed = tuple(allowed)
        if v not in allowed:
            self.report(L.bad_value(self.loc((*path, key)), key, v, allowed))
            return default
        return v

    def boolean(self, m: dict[str, Any], key: str, path: Path_) -> bool:
        """Return m[key] as true/false (default false)."""
        v = m.get(key)
        if v is None:
            return False
        if isinstance(v, bool):
            return v
        self.report(L.bad_type(self.loc((*path, key)), key, "true or false", v))
        return False

    def date(self, m: dict[str, Any], key: str, path: Path_) -> str | None:
        """Return m[key] as an ISO date string, or None (a bad one is reported)."""
        v = m.get(key)
        if v is None:
            return None
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str) or not L.check_date(v):
            self.report(L.bad_date(self.loc((*path, key)), key, v))
            return None
        return v

    def items(self, m: dict[str, Any], key: str, path: Path_) -> list[tuple[Path_, Any]]:
        """Return the items of the list m[key] with their paths; a single value is an error.

        A key written with no value (`quotes:`, as `kb new` writes it above its commented
        examples) is an empty list."""
        v = m.get(key)
        if v is None or v == "":
            return []
        if not isinstance(v, list):
            self.report(L.bad_type(self.loc((*path, key)), key, "a list", v))
            return []
        return [((*path, key, i), item) for i, item in enumerate(v)]

    def text_list(self, m: dict[str, Any], key: str, path: Path_) -> tuple[str, ...]:
        """Return a list of texts; a single text is accepted as a list of one."""
        v = m.get(key)
        if isinstance(v, str):
            if v.strip():
                self._bounded(v, (*path, key), key)
                text = self._printable(v, (*path, key), key)
                return (text,) if text is not None else ()
            self.report(L.bad_type(self.loc((*path, key)), key, "a list of text", v))
            return ()
        out: list[str] = []
        for p, item in self.items(m, key, path):
            if isinstance(item, str) and item.strip():
                self._bounded(item, p, key)
                if (text := self._printable(item, p, key)) is not None:
                    out.append(text)
            else:
                self.report(L.bad_type(self.loc(p), key, "a list of text", item))
        return tuple(out)
