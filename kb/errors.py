"""Problems found in a knowledge base, and where they are."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# Characters that must not reach a terminal raw: C0 and C1 controls (escape sequences, line
# breaks that would forge a problem line), bidi overrides that reorder what is shown, and the
# unpaired surrogates by which Python carries file names that are not UTF-8.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str) -> str:
    """Escape control, bidi and surrogate characters, so that text prints as one inert line."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class Severity(enum.StrEnum):
    """How bad a problem is; `off` silences a check."""

    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


@dataclass(frozen=True, slots=True, order=True)
class Loc:
    """A place in a file: path relative to the knowledge base root, 1-based line and column."""

    path: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of a check, at one place, with a stable code."""

    loc: Loc
    code: str
    message: str
    severity: Severity = Severity.ERROR
    subject: str | None = None  # graph node id of the record it is about, e.g. "claim:nmda"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order problems by place, then code and message."""
        return (self.loc.path, self.loc.line, self.loc.col, self.code, self.message)

    def text(self) -> str:
        """Render as `path:line:col: severity: message [code]`."""
        return printable(f"{self.loc}: {self.severity.value}: {self.message} [{self.code}]")

    def as_dict(self) -> dict[str, object]:
        """Render as a JSON-ready mapping."""
        return {
            "path": self.loc.path,
            "line": self.loc.line,
            "col": self.loc.col,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
        }


class KBError(Exception):
    """A failure that stops a command (bad usage, unwritable output); never bad content."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
