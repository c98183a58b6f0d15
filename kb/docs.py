"""Write the check-code section of docs/format.md from the registry's docstrings.

`python -m kb.docs` rewrites the section in place; `python -m kb.docs --check` exits 1 when it is
out of date (the test suite runs the same comparison).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from kb.checks import CODES

FORMAT_MD = Path(__file__).resolve().parent.parent / "docs" / "format.md"
BEGIN = "<!-- begin codes: written by `python -m kb.docs` from the docstrings in kb/checks/ -->"
END = "<!-- end codes -->"
FAMILIES = ("loading", "references", "quotes", "evidence", "upkeep", "citing")


def codes_markdown() -> str:
    """Return every check code as Markdown: by family, in source order, with its severity."""
    out: list[str] = []
    for family in FAMILIES:
        codes = [c for c in CODES.values() if c.family == family]
        # in source order: the family's own module first, then codes found elsewhere (while loading)
        codes.sort(
            key=lambda c: (not c.func.__module__.endswith(family), c.func.__code__.co_firstlineno)
        )
        out.append(f"### {family.capitalize()}\n")
        for c in codes:
            out.append(f"#### `{c.code}`\n\nDefault severity: **{c.severity.value}**.\n\n{c.doc}\n")
    extra = sorted(c.code for c in CODES.values() if c.family not in FAMILIES)
    if extra:
        raise ValueError(f"check codes in no known family: {extra}")
    return "\n".join(out)


def render(text: str) -> str:
    """Return `text` with the part between the BEGIN and END markers regenerated."""
    head, begin, rest = text.partition(BEGIN)
    _old, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{FORMAT_MD} lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n\n{codes_markdown()}\n{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite docs/format.md, or with --check report whether it is up to date."""
    args = sys.argv[1:] if argv is None else list(argv)
    current = FORMAT_MD.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in args:
        if wanted != current:
            print(f"{FORMAT_MD} is out of date: run `python -m kb.docs`", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        FORMAT_MD.write_text(wanted, encoding="utf-8")
        print(f"wrote {FORMAT_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
