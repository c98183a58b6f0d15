"""What keys each kind of record may have, and of what type."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

CLAIM_KEYS = ("id", "statement", "topics", "quotes", "evidence", "related", "review")
QUOTE_KEYS = ("text", "source", "speaker", "attribution", "prefix", "suffix", "locator", "origin")
ORIGIN_KEYS = ("source", "text")
EVIDENCE_KEYS = ("source", "stance", "directness", "locator", "note")
RELATED_KEYS = ("claim", "relation")
REVIEW_KEYS = (
    "verdict",
    "attribution",
    "reviewer",
    "date",
    "summary",
    "rationale",
    "searched",
    "fingerprint",
    "history",
)
SEARCH_KEYS = ("where", "what", "when")
PAST_REVIEW_KEYS = REVIEW_KEYS[:-1]  # an earlier review, in `history`, has no history
EXPERT_KEYS = ("id", "name", "kind", "affiliation", "credentials", "roles", "identifiers")
ROLE_KEYS = ("title", "organization", "source")
CONFIG_KEYS = ("title", "base_url", "style", "styles", "severity")
SOURCE_KB_KEYS = (
    "evidence_level",
    "snapshot",
    "snapshot_sha256",
    "snapshot_scope",
    "retracted",
    "derived_from",
    "snapshot_retrieved",
    "snapshot_from",
    "snapshot_original",
)
# Field names that Zotero and older exporters write in CSL-JSON, and the CSL variable each one
# means (the official schema still lists the first two). The one table of them: loading may map
# them at import, and formatting (kb.cite.csl.to_csl) maps them so that no style prints
# Zotero's short title where the journal belongs.
LEGACY_FIELDS: dict[str, str] = {
    "shortTitle": "title-short",
    "journalAbbreviation": "container-title-short",
}
NAME_KEYS = (
    "family",
    "given",
    "literal",
    "dropping-particle",
    "non-dropping-particle",
    "suffix",
    "comma-suffix",
    "static-ordering",
    "parse-names",
)


@cache
def csl_schema() -> dict[str, Any]:
    """Return the official CSL-JSON item schema (shipped in kb/data)."""
    text = resources.files("kb").joinpath("data/csl-data.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def csl_fields() -> dict[str, str]:
    """Map every CSL variable to its kind: names, date, number (text or number), text, other."""
    props: dict[str, Any] = csl_schema()["items"]["properties"]
    kinds: dict[str, str] = {}
    for key, spec in props.items():
        if key in ("id", "type"):
            continue
        if spec.get("type") == "array" and "name-variable" in spec.get("items", {}).get("$ref", ""):
            kinds[key] = "names"
        elif "date-variable" in spec.get("$ref", ""):
            kinds[key] = "date"
        elif spec.get("type") == ["string", "number"]:
            kinds[key] = "number"
        elif spec.get("type") == "string":
            kinds[key] = "text"
        else:
            kinds[key] = "other"
    return kinds


@cache
def csl_types() -> tuple[str, ...]:
    """Return every CSL item type."""
    types: list[str] = csl_schema()["items"]["properties"]["type"]["enum"]
    return tuple(types)


@cache
def source_keys() -> tuple[str, ...]:
    """Every key a source may have: id, CSL variables and kb's own."""
    return ("id", "type", *csl_fields(), *SOURCE_KB_KEYS)
