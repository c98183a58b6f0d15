"""Fingerprint what a reviewer saw, so that a later change makes the review stale."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kb.model import Claim, KnowledgeBase

LENGTH = 12


def fingerprint(kb: KnowledgeBase, claim: Claim) -> str:
    """Hash the claim's statement, quotes, evidence and the snapshots its quotes are checked in."""
    sources = sorted(
        {q.source for q in claim.quotes}
        | {q.origin.source for q in claim.quotes if q.origin and q.origin.source}
    )
    data: dict[str, Any] = {
        "statement": claim.statement,
        "quotes": [
            [
                q.text, q.source, q.speaker, q.attribution, q.prefix, q.suffix, q.locator,
                None if q.origin is None
                else "unknown" if q.origin.unknown
                else [q.origin.source, q.origin.text],
            ]
            for q in claim.quotes
        ],
        "evidence": [
            [e.source, e.stance, e.directness, e.locator, e.note] for e in claim.evidence
        ],
        "snapshots": {
            s: (src.snapshot_sha256 if (src := kb.sources.get(s)) and src.snapshot_text else None)
            for s in sources
        },
    }  # fmt: skip
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:LENGTH]


def matches(stored: str, current: str) -> bool:
    """Compare a stored fingerprint with the current one (a shortened one of 8+ chars counts)."""
    stored = stored.strip().lower()
    return len(stored) >= 8 and current.startswith(stored)
