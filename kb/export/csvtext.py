"""Text for CSV files (claims.csv, claim-topics.csv): a byte-order mark and defused cells."""

from __future__ import annotations

BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START = frozenset(_FORMULA)


def cell(value: object) -> str:
    """Text for a cell; a leading = + - @ is quoted so spreadsheets do not run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in _FORMULA else text
