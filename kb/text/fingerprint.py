"""Fingerprint what a reviewer saw, part by part, so that a later change makes the review stale
and the staleness can say what changed.

A fingerprint is a line of parts, each a short SHA-256 digest of one thing the reviewer saw:

    s:1a2b3c q1:4d5e6f/7a8b9c/- q2:... e1:supports:0d1e2f e2:...

- `s`: the statement;
- `qN` (quote N): its words and how they are given (text, source, speaker, attribution,
  prefix, suffix, locator) / the sentence(s) around each place the words are found in the
  source's snapshot (what the claim page shows the reviewer), or that they are not found, or that
  there is no snapshot / its origin: source and words, and the sentence(s) around them there
  (`-` when there is no origin);
- `eN` (evidence item N): its stance, written out, and a digest of its source, stance,
  directness, locator and note.

So a change anywhere else in a snapshot (a line added that no quote's sentence touches) leaves
every review as it was, while an edit to the sentence a quote stands in makes the review of
that claim stale, naming the quote. Topics and related claims are not part of it.

A fingerprint written before this form (twelve hex digits: one hash of the whole claim and of
the recorded SHA-256 of each snapshot) is still compared as it was, as a whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from kb.model import Claim, KnowledgeBase, Quote, Source
from kb.text.quotes import context, locate

LENGTH = 12
DIGITS = 6  # hex digits of each part's digest: a change goes unseen once in 16 million


def _digest(value: Any) -> str:
    blob = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:DIGITS]


def _around(src: Source | None, spans: list[tuple[int, int]] | None) -> list[str] | None:
    """The sentence(s) around each place, white space made single; None without a snapshot."""
    if src is None or src.snapshot_text is None:
        return None
    text = src.snapshot_text
    return [" ".join(" ".join(context(text, s)).split()) for s in spans or ()]


def _spans(kb: KnowledgeBase, claim: Claim, i: int, origin: bool) -> list[tuple[int, int]]:
    got = kb.located.get((claim.id, i, origin))
    if got is not None:
        return got
    q = claim.quotes[i]
    if origin:
        o = q.origin
        src = kb.sources.get(o.source) if o and o.source else None
        if o is None or not o.text or src is None or src.snapshot_text is None:
            return []
        return locate(o.text, src.snapshot_text)
    src = kb.sources.get(q.source)
    if src is None or src.snapshot_text is None:
        return []
    return locate(q.text, src.snapshot_text, q.prefix, q.suffix)


def quote_parts(kb: KnowledgeBase, claim: Claim, i: int) -> tuple[str, str, str]:
    """The digests of quote i: (its words, the text around it, its origin)."""
    q: Quote = claim.quotes[i]
    words = _digest([q.text, q.source, q.speaker, q.attribution, q.prefix, q.suffix, q.locator])
    around = _digest(_around(kb.sources.get(q.source), _spans(kb, claim, i, False)))
    o = q.origin
    if o is None:
        origin = "-"
    elif o.unknown or o.first_hand:
        origin = _digest("unknown" if o.unknown else "first-hand")
    else:
        osrc = kb.sources.get(o.source) if o.source else None
        origin = _digest([o.source, o.text, _around(osrc, _spans(kb, claim, i, True))])
    return words, around, origin


def fingerprint(kb: KnowledgeBase, claim: Claim) -> str:
    """The fingerprint of what a reviewer of `claim` sees now (see the module's text)."""
    parts = [f"s:{_digest(claim.statement)}"]
    for i in range(len(claim.quotes)):
        parts.append(f"q{i + 1}:{'/'.join(quote_parts(kb, claim, i))}")
    for i, e in enumerate(claim.evidence, 1):
        d = _digest([e.source, e.stance, e.directness, e.locator, e.note])
        parts.append(f"e{i}:{e.stance}:{d}")
    return " ".join(parts)


def legacy_fingerprint(kb: KnowledgeBase, claim: Claim) -> str:
    """The fingerprint of the first form: one hash of the claim and its snapshots' hashes."""
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


_PART = re.compile(r"^(s|q\d+|e\d+):(\S+)$")


def _parse(text: str) -> dict[str, str] | None:
    parts: dict[str, str] = {}
    for token in text.split():
        m = _PART.match(token)
        if m is None:
            return None
        parts[m[1]] = m[2]
    return parts if "s" in parts else None


def is_current(stored: str, kb: KnowledgeBase, claim: Claim) -> bool:
    """True when a stored fingerprint matches what the claim shows now."""
    stored = stored.strip()
    if _parse(stored) is None:  # the first form, as a whole (a shortened one of 8+ counts)
        low = stored.lower()
        return len(low) >= 8 and legacy_fingerprint(kb, claim).startswith(low)
    return stored == fingerprint(kb, claim)


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that changed since a review: what, and where possible the words now."""

    part: str  # "statement", "quote 1", "evidence 2"
    what: str


def changes(stored: str, kb: KnowledgeBase, claim: Claim) -> list[Change]:
    """What changed between a stored fingerprint and the claim now (empty when nothing did, or
    when the stored fingerprint is of the first form, which cannot say)."""
    old = _parse(stored.strip())
    if old is None:
        return []
    new = _parse(fingerprint(kb, claim))
    assert new is not None
    out: list[Change] = []
    if old["s"] != new["s"]:
        out.append(
            Change("statement", f"the statement changed; it now reads {_cut(claim.statement)}")
        )
    for i, q in enumerate(claim.quotes):
        key = f"q{i + 1}"
        if key not in old:
            out.append(Change(f"quote {i + 1}", f"quote {i + 1} was added: {_cut(q.text)}"))
        elif old[key] != new[key]:
            out.extend(_quote_changes(kb, claim, i, old[key].split("/"), new[key].split("/")))
    n = sum(1 for k in old if k.startswith("q"))
    for i in range(len(claim.quotes), n):
        out.append(Change(f"quote {i + 1}", f"quote {i + 1} was removed"))
    for i, e in enumerate(claim.evidence):
        key = f"e{i + 1}"
        if key not in old:
            out.append(Change(f"evidence {i + 1}", f"evidence {i + 1} ({e.source}) was added"))
            continue
        was_stance, _, _digest_old = old[key].partition(":")
        if was_stance != e.stance:
            what = f"evidence {i + 1} ({e.source}): stance was {was_stance}, now {e.stance}"
            out.append(Change(f"evidence {i + 1}", what))
        elif old[key] != new[key]:
            what = f"evidence {i + 1} ({e.source}) changed: source, directness, locator or note"
            out.append(Change(f"evidence {i + 1}", what))
    n = sum(1 for k in old if k.startswith("e"))
    for i in range(len(claim.evidence), n):
        out.append(Change(f"evidence {i + 1}", f"evidence {i + 1} was removed"))
    return out


def _quote_changes(
    kb: KnowledgeBase, claim: Claim, i: int, was: list[str], now: list[str]
) -> list[Change]:
    q = claim.quotes[i]
    name = f"quote {i + 1}"
    if len(was) != 3:
        return [Change(name, f"{name} changed")]
    out: list[Change] = []
    if was[0] != now[0]:
        out.append(
            Change(name, f"{name}'s words or attribution changed; they now read {_cut(q.text)}")
        )
    if was[1] != now[1]:
        src = kb.sources.get(q.source)
        spans = _spans(kb, claim, i, False)
        if src is None or src.snapshot_text is None:
            what = f"the snapshot of {q.source} that {name} was checked in is gone"
        elif not spans:
            what = f"{name} is no longer found in the snapshot of {q.source}"
        else:
            around = " ".join(" ".join(context(src.snapshot_text, spans[0])).split())
            what = (
                f"the text around {name} in the snapshot of {q.source} changed; "
                f"it now reads {_cut(around, 200)}"
            )
        out.append(Change(name, what))
    if was[2] != now[2]:
        o = q.origin
        where = f" ({o.source})" if o and o.source else ""
        out.append(Change(name, f"the origin of {name}{where} or its text there changed"))
    return out


def _cut(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return f"“{text}”" if len(text) <= limit else f"“{text[: limit - 1]}…”"
