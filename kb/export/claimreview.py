"""`claimreview.jsonld`: a schema.org ClaimReview for every reviewed claim.

Per Google's documented requirements for fact-check rich results: required `claimReviewed`,
`reviewRating` (with `alternateName`) and `url`; recommended `author` (with `name` and `url`),
`datePublished` and `itemReviewed`, a Claim with `author`, `datePublished`, `appearance` and
`firstAppearance`. The Claim's author is the quoted speaker, or for a source's own words its
authors, else its publisher; its date the earliest date of where the words first appeared.
The review's attribution rating, when given, is the Claim's own `review` (a Review with
`reviewAspect: attribution`), apart from the verdict in `reviewRating`.
Links are relative to the exports folder unless kb.yaml sets `base_url` (`kb export
claimreview` warns then: Google needs absolute URLs). `claim_review(kb, claim, base_url)` gives
one claim's review, for the claim's own page. tests/test_claimreview_jsonld.py expands the
export with PyLD against schema.org's context (a local copy) and checks every term.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

import networkx as nx

from kb.errors import Problem
from kb.memo import Memo
from kb.model import (
    ATTRIBUTION_LABELS,
    ATTRIBUTION_MEANINGS,
    VERDICT_LABELS,
    VERDICTS,
    Claim,
    Expert,
    ExpertId,
    KnowledgeBase,
    Source,
    SourceId,
)
from kb.urls import doi_url, identifier_url, page_path

HERE = "exports/claimreview.jsonld"
BEST, WORST = max(v for v in VERDICTS.values() if v), min(v for v in VERDICTS.values() if v)
_ISO = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?\Z")
_TEAM = re.compile(r"\b(team|staff|desk|board|editors|editorial|group|committee)\b", re.I)


def site_url(base_url: str | None, path: str) -> str:
    """Return a site path as an absolute URL (with base_url) or relative to this export."""
    if base_url:
        return base_url.rstrip("/") + "/" + path
    return "../" + path  # HERE is one folder down from the site's root


def _agent(expert: Expert, base_url: str | None) -> dict[str, Any]:
    """A Person, or an Organization for a team (the model does not say which; the name does),
    with its page on the site as `url`."""
    kind = "Organization" if _TEAM.search(expert.name) and not expert.credentials else "Person"
    agent: dict[str, Any] = {"@type": kind, "name": expert.name,
                             "url": site_url(base_url, page_path("expert", expert.id))}  # fmt: skip
    if kind == "Person" and expert.roles:
        agent["jobTitle"] = expert.roles[0].title
        if expert.roles[0].organization:
            agent["affiliation"] = {"@type": "Organization", "name": expert.roles[0].organization}
    # only well-formed ORCID iDs and Wikidata items become links, as on the expert's page
    ids = [url for k, v in sorted(expert.identifiers.items()) if (url := identifier_url(k, v))]
    if ids:
        agent["sameAs"] = ids if len(ids) > 1 else ids[0]
    return agent


def _csl_agents(names: Any) -> list[dict[str, Any]]:
    out = []
    for n in names or ():
        if isinstance(n, Mapping) and n.get("literal"):
            out.append({"@type": "Organization", "name": str(n["literal"])})
        elif isinstance(n, Mapping):
            full = " ".join(str(n[k]) for k in ("given", "dropping-particle",
                            "non-dropping-particle", "family", "suffix") if n.get(k))  # fmt: skip
            out.append({"@type": "Person", "name": full})
    return out


def _one_or_many(values: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    return values[0] if len(values) == 1 else values


def creative_work(src: Source, base_url: str | None) -> dict[str, Any]:
    """A source as a schema.org CreativeWork."""
    work: dict[str, Any] = {"@type": "CreativeWork", "name": src.title}
    if src.csl.get("URL"):
        work["url"] = str(src.csl["URL"])
    if doi := doi_url(src.csl.get("DOI")):
        work["sameAs"] = doi
    if isinstance(src.csl.get("issued"), str):  # ISO; a CSL date object is no schema.org Date
        work["datePublished"] = src.csl["issued"]
    if authors := _csl_agents(src.csl.get("author")):
        work["author"] = _one_or_many(authors)
    publisher = src.csl.get("container-title") or src.csl.get("publisher")
    if publisher:
        work["publisher"] = {"@type": "Organization", "name": str(publisher)}
    work["mainEntityOfPage"] = site_url(base_url, page_path("source", src.id))
    return work


def _iso_date(value: Any) -> str | None:
    """A source's `issued` as an ISO 8601 date (`2019`, `2019-03`, `2019-03-05`), else None."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
    return text if _ISO.match(text) else None


def _publisher(src: Source) -> list[dict[str, Any]]:
    """Who speaks in a source that names no author: its publisher (or container), if any."""
    name = src.csl.get("publisher") or src.csl.get("container-title")
    return [{"@type": "Organization", "name": str(name)}] if name else []


def _unique(values: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return list(dict(values).values())


class _Memo:
    """Agents and works built once per export, however many claims mention them."""

    def __init__(self, kb: KnowledgeBase, base_url: str | None) -> None:
        self.kb = kb
        self.base_url = base_url
        self.works: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.authors: dict[str, list[dict[str, Any]]] = {}
        self.ratings: dict[str, dict[str, Any]] = {}
        self.shared: set[int] = set()  # id() of every object above, all alive with the memo

    def work(self, sid: str) -> dict[str, Any]:
        if sid not in self.works:
            w = self.works[sid] = creative_work(self.kb.sources[SourceId(sid)], self.base_url)
            self.shared.add(id(w))
        return self.works[sid]

    def agent(self, eid: str) -> dict[str, Any]:
        if eid not in self.agents:
            a = self.agents[eid] = _agent(self.kb.experts[ExpertId(eid)], self.base_url)
            self.shared.add(id(a))
        return self.agents[eid]

    def rating(self, verdict: str) -> dict[str, Any]:
        got = self.ratings.get(verdict)
        if got is None:
            got = self.ratings[verdict] = _rating(verdict)
            self.shared.add(id(got))
        return got

    def source_authors(self, src: Source) -> list[dict[str, Any]]:
        """The authors of a source as agents (a new list, of shared agents)."""
        got = self.authors.get(src.id)
        if got is None:
            got = self.authors[src.id] = _csl_agents(src.csl.get("author")) or _publisher(src)
            self.shared.update(id(a) for a in got)
        return list(got)


def _rating(verdict: str) -> dict[str, Any]:
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": VERDICT_LABELS[verdict]}
    if VERDICTS.get(verdict) is not None:
        rating.update(ratingValue=VERDICTS[verdict], bestRating=BEST, worstRating=WORST)
    return rating


def claim_review(
    kb: KnowledgeBase, claim: Claim, base_url: str | None, *, memo: _Memo | None = None
) -> dict[str, Any]:
    """Return the ClaimReview of one reviewed claim; links absolute under `base_url` (else
    relative to the exports folder)."""
    assert claim.review is not None
    memo = memo or _Memo(kb, base_url)
    item: dict[str, Any] = {"@type": "Claim"}
    speakers: list[tuple[str, dict[str, Any]]] = []
    appearances: list[tuple[str, dict[str, Any]]] = []
    origins: list[tuple[str, dict[str, Any]]] = []
    for q in claim.quotes:
        src = kb.sources.get(q.source)
        if q.speaker and q.speaker in kb.experts:
            speakers.append((q.speaker, memo.agent(q.speaker)))
        elif src is not None:
            speakers += [(a["name"], a) for a in memo.source_authors(src)]
        if src is not None:
            appearances.append((q.source, memo.work(q.source)))
        if q.origin and q.origin.source and q.origin.source in kb.sources:
            origins.append((q.origin.source, memo.work(q.origin.source)))
    for key, values in (("author", speakers), ("appearance", appearances),
                        ("firstAppearance", origins)):  # fmt: skip
        if unique := _unique(values):
            item[key] = _one_or_many(unique)
    dates = [d for sid, _ in origins or appearances
             if (d := _iso_date(kb.sources[SourceId(sid)].csl.get("issued")))]  # fmt: skip
    if dates:
        item["datePublished"] = min(dates)
    if claim.review.attribution:
        # The second rating: whether the words are the speaker's, as a Review of the Claim
        # itself with `reviewAspect` (schema.org), apart from the ClaimReview's verdict.
        aspect: dict[str, Any] = {
            "@type": "Review",
            "reviewAspect": "attribution",
            "reviewRating": {
                "@type": "Rating",
                "alternateName": ATTRIBUTION_LABELS[claim.review.attribution],
                "ratingExplanation": ATTRIBUTION_MEANINGS[claim.review.attribution],
            },
        }
        if claim.review.reviewer and claim.review.reviewer in kb.experts:
            aspect["author"] = memo.agent(claim.review.reviewer)
        item["review"] = aspect
    verdict = claim.review.verdict
    rating = memo.rating(verdict)
    review: dict[str, Any] = {
        "@type": "ClaimReview",
        "url": site_url(base_url, page_path("claim", claim.id)),
        "claimReviewed": claim.statement,
        "itemReviewed": item,
        "reviewRating": rating,
    }
    if claim.review.reviewer and claim.review.reviewer in kb.experts:
        review["author"] = memo.agent(claim.review.reviewer)
    if claim.review.date:
        review["datePublished"] = claim.review.date
    if claim.review.rationale:
        review["reviewBody"] = claim.review.rationale
    return review


def reviews_of(kb: KnowledgeBase) -> Callable[[str], str | None]:
    """Return a function that gives a claim's ClaimReview as the export has it, as compact JSON
    with "@context", safe inside a page's <script> (None for an unreviewed or unknown claim),
    for the site to embed in the claim's page. The agents, works and ratings that reviews share
    are made and encoded once. Its relative links start with `../`, so they lead to the same
    pages from a claim page as from the exports folder."""
    memo = _Memo(kb, kb.config.base_url)
    writer = _Writer(memo.shared, compact=True)

    def review(cid: str) -> str | None:
        claim = kb.claims.get(cid)  # type: ignore[call-overload]
        if claim is None or claim.review is None:
            return None
        found = claim_review(kb, claim, kb.config.base_url, memo=memo)
        mine: list[str] = []
        writer.review({"@context": "https://schema.org", **found}, mine)
        return _embeddable("".join(mine))

    return review


def _embeddable(text: str) -> str:
    """JSON text with `<`, `>`, `&`, U+2028 and U+2029 escaped: the same JSON, safe anywhere in
    a <script>."""
    if any(ch in text for ch in _UNSAFE):  # str's own search beats a regex scan
        return _EMBED_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return one JSON-LD document with a ClaimReview per reviewed claim, sorted by claim id.

    One review per line (compact JSON is ten times faster to write than indented, and a line
    per claim keeps diffs readable). With a `memo`, each line is kept by its claim's digest
    while kb.yaml, the sources and the experts (all a review shows besides) stay the same.
    """
    shared = _Memo(kb, kb.config.base_url)
    writer = _Writer(shared.shared)
    old: dict[str, tuple[str | None, bytes]] = {}
    if memo is not None and memo.store.get("world") == memo.world:
        old = memo.store.get("lines", {})
    lines: dict[str, tuple[str | None, bytes]] = {}
    out: list[bytes] = [b'{"@context": "https://schema.org", "@graph": [\n']
    digests = memo.digests if memo is not None else {}
    for cid, c in sorted(kb.claims.items()):
        if c.review is None:
            continue
        digest = digests.get("claim:" + cid)
        got = old.get(cid)
        if got is None or digest is None or got[0] != digest:
            mine: list[str] = []
            writer.review(claim_review(kb, c, kb.config.base_url, memo=shared), mine)
            got = (digest, _embeddable("".join(mine)).encode())
        if digest is not None:
            lines[cid] = got
        if len(out) > 1:
            out.append(b",\n")
        out.append(got[1])
    if memo is not None:
        memo.store = {"world": memo.world, "lines": lines}
    del writer, shared
    out.append(b"\n]}\n")
    return b"".join(out)  # one copy of 20 MB at 10k claims, not three


class _Writer:
    """Writes `json.dumps(review, ensure_ascii=False, sort_keys=True)` in pieces to one list,
    each agent, work and rating that many reviews share encoded once (most of the export is
    theirs), the text of the others never copied before the final join. `compact`: with the
    separators `,` and `:` (as pages embed it), not `, ` and `: `."""

    def __init__(self, shared: set[int], compact: bool = False) -> None:
        self.shared = shared  # id() of the shared objects, alive while this writes
        self.done: dict[int, str] = {}
        self.shapes: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        self.item, self.key = (",", ":") if compact else (", ", ": ")
        self.dumps = json.JSONEncoder(
            ensure_ascii=False, sort_keys=True, separators=(self.item, self.key)
        ).encode

    def review(self, review: dict[str, Any], out: list[str]) -> None:
        mark = len(out)
        try:
            self.write(review, out)
        except (_Unusual, TypeError):  # json.dumps encodes it, or says what is wrong
            del out[mark:]
            out.append(self.dumps(review))

    def write(self, value: Any, out: list[str]) -> None:
        kind = type(value)
        if kind is str:
            out.append(encode_basestring(value))
            return
        done = self.done
        text = done.get(id(value))
        if text is not None:
            out.append(text)
        elif kind is list:
            sep, item = "[", self.item
            for v in value:
                text = done.get(id(v))
                if text is not None:
                    out.append(sep)
                    out.append(text)
                else:
                    out.append(sep)
                    self.write(v, out)
                sep = item
            out.append("[]" if sep == "[" else "]")
        elif kind is not dict:
            out.append(self.dumps(value))
        elif id(value) in self.shared:
            mine: list[str] = []
            self.mapping(value, mine)
            out.append(done.setdefault(id(value), "".join(mine)))
        else:
            self.mapping(value, out)

    def mapping(self, value: dict[Any, Any], out: list[str]) -> None:
        shape = tuple(value)
        order = self.shapes.get(shape)
        if order is None:  # the keys, sorted, each with its JSON text
            if not all(type(k) is str for k in shape):
                raise _Unusual
            order = self.shapes[shape] = [
                (k, encode_basestring(k) + self.key) for k in sorted(shape)
            ]
        done = self.done
        sep, item = "{", self.item
        for k, head in order:
            v = value[k]
            if type(v) is str:
                out.append(sep + head + encode_basestring(v))
            else:
                out.append(sep + head)
                text = done.get(id(v))
                if text is not None:
                    out.append(text)
                else:
                    self.write(v, out)
            sep = item
        out.append("{}" if sep == "{" else "}")


class _Unusual(Exception):
    """A mapping key that is not text: json.dumps encodes the whole review."""


# ClaimReview is meant to be pasted into a page's <script type="application/ld+json">: a `</script>`
# or `<!--` in a statement would end that script early. Escaped, it is the same JSON.
_UNSAFE = "<>&\u2028\u2029"
_EMBED_UNSAFE = re.compile(f"[{_UNSAFE}]")
