"""docs/format.md documents every key of every record kind and every check code, up to date."""

from __future__ import annotations

import re

import pytest

from kb import docs
from kb.checks import CODES
from kb.model import DIRECTNESS, EVIDENCE_LEVELS, RELATIONS, SNAPSHOT_SCOPES, STANCES, VERDICTS
from kb.reading import schema as S

TEXT = docs.FORMAT_MD.read_text(encoding="utf-8")


def test_check_codes_section_is_up_to_date() -> None:
    """The generated section matches the docstrings in kb/checks/."""
    assert docs.render(TEXT) == TEXT, (
        "docs/format.md is out of date with the check docstrings: run `python -m kb.docs`"
    )
    assert docs.main(["--check"]) == 0


def test_every_code_has_a_section_with_its_severity() -> None:
    """Each code appears once as a heading, followed by its default severity."""
    for name, c in CODES.items():
        sections = re.findall(
            rf"^#### `{re.escape(name)}`\n\nDefault severity: \*\*(\w+)\*\*", TEXT, re.M
        )
        assert sections == [c.severity.value], name


@pytest.mark.parametrize(
    ("section", "keys"),
    [
        ("## `kb.yaml`", S.CONFIG_KEYS),
        ("## Claim", S.CLAIM_KEYS),
        ("### Quote", S.QUOTE_KEYS),
        ("### Origin", S.ORIGIN_KEYS),
        ("### Evidence", S.EVIDENCE_KEYS),
        ("### Related", S.RELATED_KEYS),
        ("### Review", S.REVIEW_KEYS),
        ("## Person", S.EXPERT_KEYS),
        ("### Role", S.ROLE_KEYS),
        ("## Source", ("id", "type", "title", "URL", "DOI", *S.SOURCE_KB_KEYS)),
        ("### Name", S.NAME_KEYS),
    ],
)
def test_every_key_is_documented_in_its_section(section: str, keys: tuple[str, ...]) -> None:
    """Every key the loader accepts is listed, as `key`, in the section of its record kind."""
    start = TEXT.index(section)
    end = min(
        (i for h in ("\n## ", "\n### ") if (i := TEXT.find(h, start + len(section))) != -1),
        default=len(TEXT),
    )
    body = TEXT[start:end]
    missing = [k for k in keys if f"`{k}`" not in body]
    assert not missing, f"{section} does not document {missing}"


@pytest.mark.parametrize(
    "values", [STANCES, DIRECTNESS, RELATIONS, tuple(VERDICTS), EVIDENCE_LEVELS, SNAPSHOT_SCOPES]
)
def test_every_allowed_value_is_documented(values: tuple[str, ...]) -> None:
    """Every allowed value of an enumerated key is spelled out."""
    missing = [v for v in values if f"`{v}`" not in TEXT]
    assert not missing


def test_csl_is_said_to_be_accepted_whole() -> None:
    """Sources accept every CSL-JSON variable; the reference says so."""
    assert "Every CSL-JSON variable is accepted" in TEXT
    assert len(S.csl_fields()) > 90
