"""`claimreview.jsonld`: a schema.org ClaimReview for every reviewed claim.

`itemReviewed` is a Claim whose author is the quoted speaker (or, for a source's own words, its
authors), whose `appearance` is where the words were read and whose `firstAppearance` is their
traced origin. Links are relative to the exports folder unless kb.yaml sets `base_url`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx

from kb.errors import Problem
from kb.model import VERDICT_LABELS, VERDICTS, Claim, Expert, KnowledgeBase, Source
from kb.urls import page_path, relative

HERE = "exports/claimreview.jsonld"
BEST, WORST = max(v for v in VERDICTS.values() if v), min(v for v in VERDICTS.values() if v)
_TEAM = re.compile(r"\b(team|staff|desk|board|editors|editorial|group|committee)\b", re.I)


def site_url(kb: KnowledgeBase, path: str) -> str:
    """Return a site path as an absolute URL (with base_url) or relative to this export."""
    if kb.config.base_url:
        return kb.config.base_url.rstrip("/") + "/" + path
    return relative(path, HERE)


def _agent(expert: Expert) -> dict[str, Any]:
    """A Person, or an Organization for a team (the model does not say which; the name does)."""
    kind = "Organization" if _TEAM.search(expert.name) and not expert.credentials else "Person"
    agent: dict[str, Any] = {"@type": kind, "name": expert.name}
    if kind == "Person" and expert.roles:
        agent["jobTitle"] = expert.roles[0].title
        if expert.roles[0].organization:
            agent["affiliation"] = {"@type": "Organization", "name": expert.roles[0].organization}
    links = {"orcid": "https://orcid.org/", "wikidata": "https://www.wikidata.org/wiki/"}
    ids = [links[k] + v for k, v in sorted(expert.identifiers.items()) if k in links]
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


def creative_work(kb: KnowledgeBase, src: Source) -> dict[str, Any]:
    """A source as a schema.org CreativeWork."""
    work: dict[str, Any] = {"@type": "CreativeWork", "name": src.title}
    if src.csl.get("URL"):
        work["url"] = str(src.csl["URL"])
    if src.csl.get("DOI"):
        work["sameAs"] = f"https://doi.org/{src.csl['DOI']}"
    if src.csl.get("issued"):
        work["datePublished"] = str(src.csl["issued"])
    if authors := _csl_agents(src.csl.get("author")):
        work["author"] = _one_or_many(authors)
    publisher = src.csl.get("container-title") or src.csl.get("publisher")
    if publisher:
        work["publisher"] = {"@type": "Organization", "name": str(publisher)}
    work["mainEntityOfPage"] = site_url(kb, page_path("source", src.id))
    return work


def _unique(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for v in values:
        key = json.dumps(v, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def claim_review(kb: KnowledgeBase, claim: Claim) -> dict[str, Any]:
    """Return the ClaimReview of one reviewed claim."""
    assert claim.review is not None
    item: dict[str, Any] = {"@type": "Claim"}
    speakers, appearances, origins = [], [], []
    for q in claim.quotes:
        src = kb.sources.get(q.source)
        if q.speaker and q.speaker in kb.experts:
            speakers.append(_agent(kb.experts[q.speaker]))
        elif src is not None:
            speakers += _csl_agents(src.csl.get("author"))
        if src is not None:
            appearances.append(creative_work(kb, src))
        if q.origin and q.origin.source and q.origin.source in kb.sources:
            origins.append(creative_work(kb, kb.sources[q.origin.source]))
    for key, values in (("author", speakers), ("appearance", appearances),
                        ("firstAppearance", origins)):  # fmt: skip
        if values := _unique(values):
            item[key] = _one_or_many(values)
    verdict = claim.review.verdict
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": VERDICT_LABELS[verdict]}
    if VERDICTS.get(verdict) is not None:
        rating.update(ratingValue=VERDICTS[verdict], bestRating=BEST, worstRating=WORST)
    review: dict[str, Any] = {
        "@type": "ClaimReview",
        "url": site_url(kb, page_path("claim", claim.id)),
        "claimReviewed": claim.statement,
        "itemReviewed": item,
        "reviewRating": rating,
    }
    reviewer = kb.experts.get(claim.review.reviewer) if claim.review.reviewer else None
    if reviewer is not None:
        review["author"] = _agent(reviewer)
    if claim.review.date:
        review["datePublished"] = claim.review.date
    if claim.review.rationale:
        review["reviewBody"] = claim.review.rationale
    return review


def export(kb: KnowledgeBase, graph: nx.MultiDiGraph[str], problems: Sequence[Problem]) -> bytes:
    """Return one JSON-LD document with a ClaimReview per reviewed claim, sorted by claim id."""
    reviews = [claim_review(kb, kb.claims[cid]) for cid in sorted(kb.claims)
               if kb.claims[cid].review is not None]  # fmt: skip
    doc = {"@context": "https://schema.org", "@graph": reviews}
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
