"""How the command line reports problems: text lines, JSON, GitHub annotations; exit codes."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kb.errors import KBError, Problem, Severity, printable


def print_problems(
    problems: Sequence[Problem], fmt: str = "text", stream: TextIO | None = None
) -> None:
    """Print problems as text lines, a JSON array, or GitHub workflow annotations."""
    out = stream or sys.stdout
    if fmt == "json":
        print(inert_json([p.as_dict() for p in problems]), file=out)
        return
    for p in problems:
        if fmt == "github":
            level = "error" if p.severity is Severity.ERROR else "warning"
            msg = _gh_escape(printable(f"{p.message} [{p.code}]"))
            print(
                f"::{level} file={_gh_escape(printable(p.loc.path), True)},line={p.loc.line},"
                f"col={p.loc.col},title={p.code}::{msg}",
                file=out,
            )
        else:
            print(p.text(), file=out)


# What json.dumps leaves raw but a terminal must not see: C1 controls, bidi overrides, line and
# paragraph separators, lone surrogates (C0 controls are already escaped). Same JSON, escaped.
_RAW_IN_JSON = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def inert_json(value: object) -> str:
    """JSON (indented, UTF-8 kept) that a terminal shows as it is: bidi overrides, C1 controls,
    line separators and lone surrogates escaped as `\\uXXXX` (the same JSON)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def exit_code(problems: Sequence[Problem], strict: bool) -> int:
    """1 when there are errors (or warnings under --strict), else 0."""
    bad = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return 1 if any(p.severity in bad for p in problems) else 0


def refuse_base_file(root: Path, output: Path) -> None:
    """Refuse (exit 2) an output file that is kb.yaml, or inside the base's record folders or
    its cache: what a command writes for the user never replaces what the user wrote."""
    from kb.reading.files import MARKERS, RECORD_FOLDERS

    try:
        base, target = root.resolve(), output.resolve()
    except (OSError, RuntimeError):
        return  # the write says why, if it fails
    if not target.parent.is_relative_to(base):
        return
    inside = target.parent.relative_to(base).parts
    if (not inside and target.name in MARKERS) or (
        inside and inside[0] in (*RECORD_FOLDERS, ".kb-cache")
    ):
        raise KBError(
            f"{output} is among the knowledge base's own files (kb.yaml, claims/, experts/, "
            "sources/, .kb-cache/): it is not written there; choose another output"
        )


def text_arg(value: str) -> str:
    """An option's text that goes into a record: refused (a usage error, exit 2, nothing
    written) when it holds a character `kb check` would refuse there."""
    import argparse

    from kb.reading.fields import NOT_TEXT  # here: only when such an option is given

    bad = NOT_TEXT.search(value)
    if bad is not None:
        raise argparse.ArgumentTypeError(
            f"holds the control character U+{ord(bad.group()):04X}, which a record's text "
            "may not hold"
        )
    return value
