"""Typed, frozen records of a knowledge base."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NewType

from kb.errors import Loc, Severity

ClaimId = NewType("ClaimId", str)
ExpertId = NewType("ExpertId", str)
SourceId = NewType("SourceId", str)

Path_ = tuple[str | int, ...]
# path -> 1-based (line, column); a loaded file's are a kb.reading.yamlmarks.Marks, found when
# asked for
Marks = Mapping[Path_, tuple[int, int]]

VERDICTS: dict[str, int | None] = {
    "accurate": 5,
    "mostly-accurate": 4,
    "needs-context": 3,
    "misleading": 2,
    "inaccurate": 1,
    "unsupported": None,
    "unverifiable": None,
}
VERDICT_LABELS: dict[str, str] = {
    "accurate": "Accurate",
    "mostly-accurate": "Mostly accurate",
    "needs-context": "Needs context",
    "misleading": "Misleading",
    "inaccurate": "Inaccurate",
    "unsupported": "Unsupported",
    "unverifiable": "Unverifiable",
    "unreviewed": "Unreviewed",
}
# Whether the quoted words are really the speaker's, rated apart from the verdict on the claim;
# best first. kb.text.attribution proposes one from the quotes' origins and drift.
ATTRIBUTIONS = ("confirmed", "first-hand", "altered", "unconfirmed", "misattributed")
ATTRIBUTION_LABELS: dict[str, str] = {
    "confirmed": "Confirmed",
    "first-hand": "First-hand",
    "altered": "Altered",
    "unconfirmed": "Unconfirmed",
    "misattributed": "Misattributed",
}
ATTRIBUTION_MEANINGS: dict[str, str] = {
    "confirmed": "the same words were found earlier, credited to the speaker",
    "first-hand": "the source is where the speaker said or wrote the words",
    "altered": "the words were found earlier, but the quotation changes or cuts them",
    "unconfirmed": "no earlier appearance credited to the speaker was found",
    "misattributed": "the words are someone else's, or the speaker is not who the source says",
}
# Verdicts that say nothing was found: the review records where the reviewer looked (`searched`).
NOTHING_FOUND = frozenset({"unsupported", "unverifiable"})
STANCES = ("supports", "contradicts", "qualifies", "context")
DIRECTNESS = ("direct", "indirect")
RELATIONS = ("leads-to", "part-of", "supports", "contradicts", "refines", "same-as")
EVIDENCE_LEVELS = (
    "meta-analysis",
    "rct",
    "observational",
    "preclinical",
    "review",
    "regulatory",
    "expert-opinion",
    "news",
    "marketing",
    "blog",
)
PRIMARY_LEVELS = frozenset({"meta-analysis", "rct", "observational", "preclinical", "regulatory"})
SNAPSHOT_SCOPES = ("full", "excerpt")
# What a record in experts/ is: an expert quoted for expertise, another person quoted (a
# patient, a parent), an organisation, or a reviewer of claims.
PEOPLE_KINDS = ("expert", "person", "organisation", "reviewer")
PEOPLE_LABELS = {
    "expert": "Expert",
    "person": "Person",
    "organisation": "Organisation",
    "reviewer": "Reviewer",
}
KINDS = ("claims", "experts", "sources")


# A rationale cites a source as `[@source-id]` (pandoc's form); group 1 is the id.
CITE_MARK = re.compile(r"\[@([^\]\s;,@]+)\]")


@dataclass(frozen=True, slots=True)
class Located:
    """Where a record came from, with the line and column of every key and value in it."""

    file: str  # path relative to the knowledge base root
    marks: Marks = field(default_factory=dict, repr=False, compare=False)
    base: Path_ = ()  # where this record sits inside its file

    def at(self, *path: str | int) -> Loc:
        """Return the location of a value inside this record, or of its nearest parent."""
        full = self.base + path
        while full:
            mark = self.marks.get(full)
            if mark is not None:
                return Loc(self.file, mark[0], mark[1])
            full = full[:-1]
        mark = self.marks.get(())
        return Loc(self.file, *(mark or (1, 1)))

    def key_at(self, *path: str | int) -> Loc:
        """Return the location of a key (rather than its value) inside this record."""
        full = self.base + path
        mark = self.marks.get((*full, "<key>"))
        return Loc(self.file, *mark) if mark else self.at(*path)

    def sub(self, *path: str | int) -> Located:
        """Return a locator for a nested record."""
        base = self.base + path
        kept = _BASES.get(base)
        if kept is None:  # the records of a base share a few paths: ("quotes", 0), ...
            if len(_BASES) >= _BASES_MAX:
                _BASES.clear()
            kept = _BASES[base] = base
        return Located(self.file, self.marks, kept)


_BASES: dict[Path_, Path_] = {}  # each path of a nested record, kept once
_BASES_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Origin:
    """The earliest known appearance of a quote's words, or `unknown` when traced and not found."""

    where: Located
    source: SourceId | None = None
    text: str | None = None
    unknown: bool = False
    first_hand: bool = False  # the source itself heard the speaker say it: it is the origin


@dataclass(frozen=True, slots=True)
class Quote:
    """Words a claim is drawn from, as printed in a source."""

    where: Located
    text: str
    source: SourceId
    speaker: ExpertId | None = None
    attribution: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    locator: str | None = None
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A source that bears on a claim."""

    where: Located
    source: SourceId
    stance: str
    directness: str = "direct"
    locator: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Related:
    """A typed link from one claim to another."""

    where: Located
    claim: ClaimId
    relation: str


@dataclass(frozen=True, slots=True)
class Search:
    """Where a reviewer looked for evidence or an origin, for what, and when."""

    where: Located
    place: str  # the `where:` key: a database, corpus, site or archive
    what: str  # the query or what was looked for
    when: str | None = None  # an ISO date


@dataclass(frozen=True, slots=True)
class Review:
    """A reviewer's verdict on a claim, and rating of its quotes' attribution."""

    where: Located
    verdict: str
    reviewer: ExpertId | None = None
    date: str | None = None
    rationale: str | None = None
    fingerprint: str | None = None
    attribution: str | None = None  # one of ATTRIBUTIONS: are the words the speaker's?
    searched: tuple[Search, ...] = ()
    history: tuple[Review, ...] = ()  # the earlier reviews, latest first
    summary: str | None = None  # the reason in one line (else: the rationale's first sentence)


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim an article makes."""

    id: ClaimId
    where: Located
    statement: str
    topics: tuple[str, ...] = ()
    quotes: tuple[Quote, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    related: tuple[Related, ...] = ()
    review: Review | None = None

    @property
    def verdict(self) -> str:
        """The review's verdict, or `unreviewed`."""
        return self.review.verdict if self.review else "unreviewed"


@dataclass(frozen=True, slots=True)
class Role:
    """A verified role of an expert, with the source that confirms it."""

    where: Located
    title: str
    organization: str | None = None
    source: SourceId | None = None


@dataclass(frozen=True, slots=True)
class Expert:
    """A person or an organisation (experts/<id>.yaml): a quoted expert, someone else quoted, an
    organisation, or a reviewer, by its `kind`."""

    id: ExpertId
    where: Located
    name: str
    credentials: str | None = None
    roles: tuple[Role, ...] = ()
    identifiers: Mapping[str, str] = field(default_factory=dict)
    kind: str = "expert"  # one of PEOPLE_KINDS
    affiliation: str | None = None  # declared, e.g. a reviewer's organisation


@dataclass(frozen=True, slots=True)
class Source:
    """A publication, in CSL-JSON fields, with its archived text if there is one."""

    id: SourceId
    where: Located
    type: str
    title: str
    csl: Mapping[str, Any]  # every CSL field as written (dates as ISO strings)
    evidence_level: str | None = None
    snapshot: str | None = None  # file name inside sources/
    snapshot_text: str | None = None
    snapshot_sha256: str | None = None
    snapshot_scope: str = "full"
    retracted: bool = False
    derived_from: tuple[SourceId, ...] = ()
    original: str | None = None  # the document the snapshot was made from, kept in sources/

    @property
    def year(self) -> str | None:
        """The year of issue, if known."""
        issued = self.csl.get("issued")
        if isinstance(issued, Mapping):  # a CSL date object: its first year, or one in its text
            parts = issued.get("date-parts")
            if isinstance(parts, list) and parts and parts[0]:
                return str(parts[0][0])
            found = re.search(r"\d{4}", str(issued.get("literal") or issued.get("raw") or ""))
            return found.group() if found else None
        return str(issued)[:4] if issued else None


@dataclass(frozen=True, slots=True)
class Config:
    """Settings from kb.yaml."""

    title: str = "Knowledge base"
    base_url: str | None = None
    style: str = "apa"
    styles: tuple[str, ...] = ()  # the styles the site offers; empty: all of them
    severity: Mapping[str, Severity] = field(default_factory=dict)
    where: Located | None = None


@dataclass(slots=True)
class KnowledgeBase:
    """Everything loaded from one knowledge base directory."""

    root: Path
    config: Config = field(default_factory=Config)
    claims: dict[ClaimId, Claim] = field(default_factory=dict)
    experts: dict[ExpertId, Expert] = field(default_factory=dict)
    sources: dict[SourceId, Source] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # file -> SHA-1 of its bytes
    # (claim, quote index, is origin) -> where its words are in the snapshot: found once by the
    # checks, reused by the renderer
    located: dict[tuple[str, int, bool], list[tuple[int, int]]] = field(default_factory=dict)

    def topics(self) -> dict[str, str]:
        """Map every topic's text to its page slug (unique; see urls.topic_slugs)."""
        from kb.urls import topic_slugs

        return topic_slugs(t for c in self.claims.values() for t in c.topics)


# The styles kb names (kb.yaml's `style`, `kb cite --style`): their official CSL files.
STYLE_FILES = {
    "apa": "apa.csl",
    "ama": "american-medical-association.csl",
    "vancouver": "nlm-citation-sequence.csl",
    "chicago": "chicago-author-date.csl",
    "mla": "modern-language-association.csl",
}


def source_date() -> str | None:
    """The UTC date (YYYY-MM-DD) of SOURCE_DATE_EPOCH, or None when it is not set (kb reads no
    clock then, where a date is shown or recorded); KBError when it is no date."""
    import datetime
    import os

    from kb.errors import KBError

    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw.isdigit():
        return None
    try:
        return datetime.datetime.fromtimestamp(int(raw), tz=datetime.UTC).strftime("%Y-%m-%d")
    except (OverflowError, ValueError, OSError):
        raise KBError(
            f"SOURCE_DATE_EPOCH={raw[:30]} is no date (seconds since 1970, before the year 10000)"
        ) from None
