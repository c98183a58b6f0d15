"""Turn records into what one page shows: each function returns the context of one template."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kb.cite.styles import STYLE_LABELS
from kb.graph import node_id
from kb.model import (
    ATTRIBUTION_MEANINGS,
    PEOPLE_LABELS,
    Claim,
    ClaimId,
    Expert,
    Review,
    Source,
)
from kb.reading.csl import date_text
from kb.site.jinja import table
from kb.site.linking import (
    citation_view,
    claim_jsonld,
    linked,
    mark_tips,
    problem_rows,
    references,
)
from kb.site.localgraph import local_graph
from kb.site.marks import highlighted, in_context
from kb.site.present import (
    BACK_RELATION_LABELS,
    RELATION_LABELS,
    VERDICT_ORDER,
    Links,
    attribution_badge,
    author_list,
    badge,
    evidence_level_label,
    plain_reference,
    pmid_url,
    safe_url,
    stance_badge,
    summary_of,
    verdict_label,
)
from kb.site.refs import claim_ref, expert_ref, source_ref
from kb.site.state import Site
from kb.text.attribution import propose
from kb.text.quotes import fold_plain, places_text, word_diff
from kb.urls import doi_url, evidence_anchor, identifier_url, origin_anchor, quote_anchor

View = dict[str, Any]


def claim_page(site: Site, claim: Claim, u: Links) -> View:
    """Return the context of a claim page."""
    me = node_id("claim", claim.id)
    quotes = _quote_views(site, claim, u)
    evidence = _evidence_views(site, claim, u)
    related = [
        {
            "relation": RELATION_LABELS.get(r.relation, r.relation),
            "claim": claim_ref(site, r.claim, u) if r.claim in site.kb.claims else None,
            "id": r.claim,
        }
        for r in claim.related
    ]
    backlinks = [
        {
            "relation": BACK_RELATION_LABELS.get(d.get("relation", ""), "related to"),
            "claim": claim_ref(site, other.partition(":")[2], u),
        }
        for other, kind, d in site.incoming(me)
        if kind == "related"
    ]
    review = claim.review
    cite = _cite_views(site, claim, u)
    around = site.around(me)
    return {
        "title": claim.statement,
        "claim": claim,
        "badge": badge(claim.verdict),
        "verdict": claim.verdict,
        "topics": [{"label": t, "href": u.topic(site.slugs[t])} for t in claim.topics],
        "review": review,
        "attribution": _attribution(claim),
        "rationale": linked(site, review.rationale, u, around)
        if review and review.rationale
        else None,
        "reviewer": expert_ref(site, review.reviewer if review else None, u),
        "reviewer_about": _about(site, review.reviewer if review else None),
        "history": _history(site, review, u),
        "quotes": quotes,
        "evidence": evidence,
        "related": related,
        "backlinks": backlinks,
        "problems": problem_rows(site.problems_of(me), site, u, around),
        "graph": local_graph(site, me, u),
        "cite": cite,
        "caution": claim.verdict != "accurate",
        "jsonld": claim_jsonld(site, claim.id),
        "verdict_label": verdict_label(claim.verdict),
        "summary": summary_of(claim),
    }


def _quote_views(site: Site, claim: Claim, u: Links) -> list[View]:
    """Each quote of a claim: in its sentence, its status, its speaker and its origin."""
    spans = site.spans
    assert spans is not None
    quotes = []
    for i, q in enumerate(claim.quotes):
        key = (claim.id, i)
        src = site.kb.sources.get(q.source)
        found = spans.quotes.get(key)
        context = None
        if src is not None and src.snapshot_text and found:
            context = in_context(src.snapshot_text, found[0])
        origin: View | None = None
        diff = None
        ofound: list[tuple[int, int]] | None = None
        if q.origin is not None:
            if q.origin.unknown:
                origin = {"state": "unknown"}
            elif q.origin.first_hand:
                origin = {"state": "first-hand"}
            elif q.origin.source:
                ofound = spans.origins.get(key)
                anchor = origin_anchor(claim.id, i) if ofound else None
                origin = {
                    "state": "known",
                    "source": source_ref(site, q.origin.source, u, anchor),
                    "text": q.origin.text,
                }
                if q.origin.text and fold_plain(q.origin.text) != fold_plain(q.text):
                    ops = word_diff(q.origin.text, q.text)
                    if any(op != "equal" for op, _ in ops):
                        diff = ops
        quotes.append(
            {
                "anchor": quote_anchor(claim.id, i),
                "number": i + 1,
                "text": q.text,
                "context": context,
                "status": _quote_status(src, found),
                "places": places_text(len(found or ())),
                "source": source_ref(
                    site, q.source, u, quote_anchor(claim.id, i) if found else None
                ),
                "locator": q.locator,
                "speaker": expert_ref(site, q.speaker, u),
                "attribution": q.attribution,
                "origin": origin,
                "diff": diff,
                "origin_found": bool(ofound),
                "quoted_as": q.text
                if context and fold_plain(q.text) != fold_plain(context.quoted)
                else None,
            }
        )
    return quotes


def _evidence_views(site: Site, claim: Claim, u: Links) -> list[View]:
    """The rows of a claim's evidence table."""
    evidence = []
    for i, ev in enumerate(claim.evidence):
        evidence.append(
            {
                "anchor": evidence_anchor(claim.id, i),
                "source": source_ref(site, ev.source, u),
                "stance": ev.stance,
                "stance_badge": stance_badge(ev.stance),
                "directness": ev.directness,
                "locator": ev.locator,
                "note": ev.note,
            }
        )
    return evidence


def _cite_views(site: Site, claim: Claim, u: Links) -> list[View]:
    """The cite box: each quote with its citation, in every style the site offers."""
    cite = []
    for style in site.styles:
        entries = []
        for q in claim.quotes:
            cit = citation_view(site, style, q.source)
            if cit is None:
                continue
            speaker = expert_ref(site, q.speaker, u)
            entries.append(
                {
                    "text": q.text,
                    "speaker": speaker["name"] if speaker else None,
                    "intext": cit["intext"],
                    "reference": cit["reference"],
                }
            )
        if entries:
            label = STYLE_LABELS.get(style, style.upper())
            cite.append({"style": style, "label": label, "entries": entries})
    return cite


def _history(site: Site, review: Review | None, u: Links) -> list[View]:
    """A claim's earlier reviews, latest first."""
    return [
        {
            "badge": badge(h.verdict),
            "reviewer": expert_ref(site, h.reviewer, u),
            "about": _about(site, h.reviewer),
            "date": h.date,
            "rationale": h.rationale,
        }
        for h in (review.history if review else ())
    ]


def _attribution(claim: Claim) -> View | None:
    """The claim page's attribution line: the reviewer's rating, else the checks' proposal."""
    rating = claim.review.attribution if claim.review else None
    proposed = propose(claim)
    if rating is None and proposed is None:
        return None
    shown = rating or proposed
    assert shown is not None
    return {
        "badge": attribution_badge(shown),
        "meaning": ATTRIBUTION_MEANINGS[shown],
        "rated": rating is not None,
    }


def _earlier_reviews(site: Site, eid: str) -> list[tuple[str, Review]]:
    """(claim, review) of every earlier review by `eid` in the claims' histories, by claim."""
    out: list[tuple[str, Review]] = []
    for node in sorted(site.reviewed_earlier.get("expert:" + eid, ())):
        cid = node.partition(":")[2]
        review = site.kb.claims[ClaimId(cid)].review
        out += [(cid, h) for h in (review.history if review else ()) if h.reviewer == eid]
    return out


def _about(site: Site, eid: str | None) -> str | None:
    """What a reviewer declares about themselves: affiliation and credentials."""
    person = site.kb.experts.get(eid) if eid else None  # type: ignore[call-overload]
    if person is None:
        return None
    return ", ".join(x for x in (person.affiliation, person.credentials) if x) or None


_VERDICT_RANK = {v: i for i, v in enumerate(VERDICT_ORDER)}


def _quote_status(src: Source | None, found: list[tuple[int, int]] | None) -> str:
    if src is None:
        return "no-source"
    if not src.snapshot_text:
        return "no-snapshot"
    if not found:
        return "not-found"
    return "ambiguous" if len(found) > 1 else "found"


def expert_page(site: Site, person: Expert, u: Links) -> View:
    """Return the context of an expert page."""

    me = node_id("expert", person.id)
    roles = [
        {
            "title": r.title,
            "organization": r.organization,
            "source": source_ref(site, r.source, u) if r.source else None,
        }
        for r in person.roles
    ]
    quotes = []
    described: dict[str, list[View]] = defaultdict(list)
    reviewed = []
    for other, kind, d in site.incoming(me):
        cid = other.partition(":")[2]
        claim = site.kb.claims.get(cid)  # type: ignore[call-overload]
        if claim is None:
            continue
        if kind == "spoken-by":
            i = int(d["quote"])
            q = claim.quotes[i]
            quotes.append(
                {
                    "text": q.text,
                    "claim": claim_ref(site, cid, u),
                    "href": u.claim(cid, quote_anchor(cid, i)),
                    "source": source_ref(site, q.source, u),
                    "attribution": q.attribution,
                }
            )
            described[q.source].append(
                {"attribution": q.attribution, "href": u.claim(cid, quote_anchor(cid, i))}
            )
        elif kind == "reviewed-by":
            date = claim.review.date if claim.review else None
            reviewed.append((claim.verdict, u.claim(cid), claim.statement, date, summary_of(claim)))
    for cid, h in _earlier_reviews(site, person.id):
        statement = site.kb.claims[cid].statement  # type: ignore[index]
        reviewed.append((h.verdict, u.claim(cid), f"{statement} (earlier review)", h.date, ""))
    descriptions = []
    for sid in sorted(described):
        seen: list[str | None] = []
        for item in described[sid]:
            if item["attribution"] not in seen:
                seen.append(item["attribution"])
        descriptions.append({"source": source_ref(site, sid, u), "attributions": seen})
    identifiers = [
        {"scheme": k, "value": v, "href": identifier_url(k, str(v))}
        for k, v in sorted(person.identifiers.items())
    ]
    return {
        "title": person.name,
        "person": person,
        "kind_label": PEOPLE_LABELS.get(person.kind, "Expert"),
        "about": _about(site, person.id),
        "roles": roles,
        "identifiers": identifiers,
        "quotes": quotes,
        "descriptions": descriptions,
        "reviewed": len(reviewed),  # an editor may have reviewed thousands: a chunked list
        "reviewed_rows": table(site, "reviewed_rows", reviewed) if reviewed else "",
        "problems": problem_rows(site.problems_of(me), site, u, site.around(me)),
        "graph": local_graph(site, me, u),
    }


def source_page(site: Site, src: Source, u: Links) -> View:
    """Return the context of a source page."""
    me = node_id("source", src.id)
    spans = site.spans
    assert spans is not None
    marks = spans.by_source.get(src.id, [])
    hrefs = {h.anchor: u.claim(h.claim, quote_anchor(h.claim, h.index)) for h in marks}
    numbers = {h.anchor: h.number for h in marks}
    here = u.to(u.here)  # this page, for links to its highlights
    quoted, cited, origins, derived_by = _links_to_source(site, src, u, numbers, here)
    quoted.sort(key=lambda r: (r["number"] is None, r["number"] or 0, r["claim"]["id"]))
    csl = src.csl
    tips = mark_tips(site, marks)
    text = None
    if src.snapshot_text is not None:
        text = highlighted(src.snapshot_text, marks, hrefs, tips)
    verdicts_here = sorted(
        {t[0] for t in tips.values() if t[0] != "origin"}, key=lambda v: _VERDICT_RANK.get(v, 99)
    )
    legend = [(v, badge(v)) for v in verdicts_here]
    return {
        "title": src.title,
        "source": src,
        "authors": author_list(src, limit=20),
        "issued": date_text(csl.get("issued")),
        "container": csl.get("container-title"),
        "publisher": csl.get("publisher"),
        "url": safe_url(csl.get("URL")),
        "doi": csl.get("DOI"),
        "doi_url": doi_url(csl.get("DOI")),
        "pmid": csl.get("PMID"),
        "pmid_url": pmid_url(csl.get("PMID")),
        "level": evidence_level_label(src.evidence_level),
        "references": references(site, src.id),
        "plain_reference": plain_reference(src),
        "derived_from": [source_ref(site, p, u) for p in src.derived_from],
        "derived_by": derived_by,
        "quoted": quoted,
        "cited": cited,
        "origins": origins,
        "text": text,
        "marks": len(marks),
        "legend": legend,
        "has_origins": any(t[0] == "origin" for t in tips.values()),
        "problems": problem_rows(site.problems_of(me), site, u, site.around(me)),
        "graph": local_graph(site, me, u),
    }


def _links_to_source(
    site: Site, src: Source, u: Links, numbers: dict[str, int], here: str
) -> tuple[list[View], list[View], list[View], list[View]]:
    """What links to a source: the claims that quote it (with the number of each mark), cite
    it as evidence, or found their words' origin in it, and the sources derived from it."""
    me = node_id("source", src.id)
    spans = site.spans
    assert spans is not None
    quoted: list[View] = []
    cited: list[View] = []
    origins: list[View] = []
    derived_by: list[View] = []
    for other, kind, d in site.incoming(me):
        kind_of, _, ident = other.partition(":")
        if kind_of == "source" and kind == "derived-from":
            derived_by.append(source_ref(site, ident, u))
            continue
        if kind_of != "claim" or ident not in site.kb.claims:
            continue
        claim = site.kb.claims[ident]  # type: ignore[index]
        if kind == "quoted-in":
            i = int(d["quote"])
            found = spans.quotes.get((claim.id, i))
            anchor = quote_anchor(ident, i)
            quoted.append(
                {
                    "claim": claim_ref(site, ident, u),
                    "text": claim.quotes[i].text,
                    "mark": f"{here}#{anchor}" if found else None,
                    "number": numbers.get(anchor),
                }
            )
        elif kind == "origin":
            i = int(d["quote"])
            found = spans.origins.get((claim.id, i))
            origins.append(
                {
                    "claim": claim_ref(site, ident, u),
                    "mark": f"{here}#{origin_anchor(ident, i)}" if found else None,
                }
            )
        elif kind == "evidence":
            cited.append(
                {
                    "claim": claim_ref(site, ident, u),
                    "stance": d.get("stance", ""),
                    "stance_badge": stance_badge(d.get("stance", "")),
                    "directness": d.get("directness", ""),
                }
            )
    return quoted, cited, origins, derived_by


def topic_page(site: Site, slug: str, u: Links) -> View:
    """Return the context of a topic page."""
    ids = site.claims_by_topic.get(slug, [])
    claims = [claim_ref(site, cid, u) for cid in ids]
    known_experts, known_sources = site.kb.experts, site.kb.sources
    experts: set[str] = set()
    sources: set[str] = set()
    for cid in ids:
        claim = site.kb.claims[cid]
        for q in claim.quotes:
            if q.speaker in known_experts:
                experts.add(q.speaker)
            if q.source in known_sources:
                sources.add(q.source)
        for e in claim.evidence:
            if e.source in known_sources:
                sources.add(e.source)
    return {
        "title": site.topic_of[slug],
        "claims": claims,
        "experts": [expert_ref(site, e, u) for e in sorted(experts)],
        "sources": [source_ref(site, s, u) for s in sorted(sources)],
    }
