"""Golden files: a few pages of the tiny golden knowledge base, byte for byte.

The input is tests/data/golden/kb/; the expected output is tests/data/golden/expected/. After a
deliberate change to the templates or the data, regenerate and review the diff:

    KB_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import os

import pytest
from sitecrawl import DATA, GOLDEN_KB, render

EXPECTED = DATA / "golden" / "expected"
GOLDEN_FILES = (
    "claims/nmda-blockade.html",
    "sources/example-news.html",
    "audit.html",
    "search-index.js",
    "graph-data.js",
)


@pytest.fixture(scope="module")
def site() -> dict[str, bytes]:
    """The golden knowledge base, rendered without citations and without a build date."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SOURCE_DATE_EPOCH", raising=False)
        return render(GOLDEN_KB)


@pytest.mark.parametrize("path", GOLDEN_FILES)
def test_golden(path: str, site: dict[str, bytes]) -> None:
    """The rendered file equals its golden copy (KB_UPDATE_GOLDEN=1 rewrites the copy)."""
    expected = EXPECTED / path
    if os.environ.get("KB_UPDATE_GOLDEN"):
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_bytes(site[path])
    assert expected.exists(), f"no golden file {expected}; run KB_UPDATE_GOLDEN=1 pytest {__file__}"
    assert site[path] == expected.read_bytes(), f"{path} differs from its golden copy"
