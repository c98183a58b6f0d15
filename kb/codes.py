"""The registry of check codes: each code is one function whose docstring documents it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kb.errors import Loc, Problem, Severity

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Code:
    """A stable check code, its default severity, its family and its documentation."""

    code: str
    severity: Severity
    family: str
    func: Callable[..., Any]
    runs: bool  # True: run by run_checks over the whole graph; False: called where it is found

    @property
    def doc(self) -> str:
        """The full documentation, from the function's docstring."""
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        """The first paragraph of the documentation, on one line."""
        return " ".join(self.doc.split("\n\n")[0].split())


CODES: dict[str, Code] = {}


def code(
    name: str, family: str, severity: Severity = Severity.ERROR, runs: bool = False
) -> Callable[[F], F]:
    """Register the decorated function as the one that reports check code `name`."""

    def register(func: F) -> F:
        if name in CODES:
            raise ValueError(f"check code {name} registered twice")
        CODES[name] = Code(name, severity, family, func, runs)
        func.code = name  # type: ignore[attr-defined]
        return func

    return register


def problem(name: str, loc: Loc, message: str, subject: str | None = None) -> Problem:
    """Make a problem of a registered code with its default severity."""
    return Problem(loc, name, message, CODES[name].severity, subject)


def apply_severity(problems: Iterable[Problem], overrides: Mapping[str, Severity]) -> list[Problem]:
    """Apply `kb.yaml` severity overrides, drop what is `off`, and sort by place."""
    out: list[Problem] = []
    for p in problems:
        sev = overrides.get(p.code, p.severity)
        if sev is Severity.OFF:
            continue
        out.append(p if sev is p.severity else Problem(p.loc, p.code, p.message, sev, p.subject))
    out.sort(key=Problem.sort_key)
    return out


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest choice, or an empty string."""
    import difflib

    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
