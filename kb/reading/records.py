"""Records built from parsed YAML: claims, experts and sources, each value checked as it is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kb.model import (
    ATTRIBUTIONS,
    DIRECTNESS,
    EVIDENCE_LEVELS,
    PEOPLE_KINDS,
    RELATIONS,
    SNAPSHOT_SCOPES,
    STANCES,
    VERDICTS,
    Claim,
    ClaimId,
    Evidence,
    Expert,
    ExpertId,
    KnowledgeBase,
    Origin,
    Quote,
    Related,
    Review,
    Role,
    Search,
    Source,
    SourceId,
)
from kb.reading import csl as C
from kb.reading import problems as L
from kb.reading import schema as S
from kb.reading.fields import RecordReader


def _check_id(value: dict[str, Any], ident: str, r: RecordReader) -> None:
    given = value.get("id")
    if given is not None and given != ident:
        r.report(L.id_mismatch(r.loc(("id",)), given, ident))


def _build_claim(kb: KnowledgeBase, ident: str, value: Any, r: RecordReader) -> None:
    m = r.mapping(value, (), "a claim", S.CLAIM_KEYS, ("statement",))
    if m is None:
        return
    _check_id(m, ident, r)
    quotes = tuple(q for p, item in r.items(m, "quotes", ()) if (q := _quote(item, p, r)))
    evidence = tuple(e for p, item in r.items(m, "evidence", ()) if (e := _evidence(item, p, r)))
    related = tuple(x for p, item in r.items(m, "related", ()) if (x := _related(item, p, r)))
    review = _review(m["review"], ("review",), r) if m.get("review") is not None else None
    cid = ClaimId(ident)
    kb.claims[cid] = Claim(
        id=cid,
        where=r.where,
        statement=r.text(m, "statement", ()) or "",
        topics=r.text_list(m, "topics", ()),
        quotes=quotes,
        evidence=evidence,
        related=related,
        review=review,
    )


def _quote(value: Any, p: tuple[Any, ...], r: RecordReader) -> Quote | None:
    m = r.mapping(value, p, "a quote", S.QUOTE_KEYS, ("text", "source"))
    if m is None:
        return None
    text, source = r.text(m, "text", p), r.text(m, "source", p)
    if not text or not source:
        return None
    origin: Origin | None = None
    o = m.get("origin")
    if o == "unknown":
        origin = Origin(r.where.sub(*p, "origin"), unknown=True)
    elif o == "first-hand":
        origin = Origin(r.where.sub(*p, "origin"), first_hand=True)
    elif o is not None:
        om = r.mapping(
            o,
            (*p, "origin"),
            "an origin (or the word unknown or first-hand)",
            S.ORIGIN_KEYS,
            ("source", "text"),
        )
        if om is not None:
            osrc = r.text(om, "source", (*p, "origin"))
            otext = r.text(om, "text", (*p, "origin"))
            origin = Origin(
                r.where.sub(*p, "origin"),
                source=SourceId(osrc) if osrc else None,
                text=text if otext == text else otext,  # often the same words: kept once
            )
    speaker = r.text(m, "speaker", p)
    return Quote(
        where=r.where.sub(*p),
        text=text,
        source=SourceId(source),
        speaker=ExpertId(speaker) if speaker else None,
        attribution=r.text(m, "attribution", p),
        prefix=r.text(m, "prefix", p),
        suffix=r.text(m, "suffix", p),
        locator=r.text(m, "locator", p, numbers=True),
        origin=origin,
    )


def _evidence(value: Any, p: tuple[Any, ...], r: RecordReader) -> Evidence | None:
    m = r.mapping(value, p, "an evidence item", S.EVIDENCE_KEYS, ("source", "stance"))
    if m is None:
        return None
    source = r.text(m, "source", p)
    stance = r.enum(m, "stance", p, STANCES, None)
    if not source or not stance:
        return None
    return Evidence(
        where=r.where.sub(*p),
        source=SourceId(source),
        stance=stance,
        directness=r.enum(m, "directness", p, DIRECTNESS, "direct") or "direct",
        locator=r.text(m, "locator", p, numbers=True),
        note=r.text(m, "note", p),
    )


def _related(value: Any, p: tuple[Any, ...], r: RecordReader) -> Related | None:
    m = r.mapping(value, p, "a related item", S.RELATED_KEYS, ("claim", "relation"))
    if m is None:
        return None
    claim = r.text(m, "claim", p)
    relation = r.enum(m, "relation", p, RELATIONS, None)
    if not claim or not relation:
        return None
    return Related(where=r.where.sub(*p), claim=ClaimId(claim), relation=relation)


def _review(value: Any, p: tuple[Any, ...], r: RecordReader, past: bool = False) -> Review | None:
    keys = S.PAST_REVIEW_KEYS if past else S.REVIEW_KEYS
    m = r.mapping(value, p, "an earlier review" if past else "a review", keys, ("verdict",))
    if m is None:
        return None
    history: list[Review] = []
    if not past:
        for hp, item in r.items(m, "history", p):
            if (h := _review(item, hp, r, past=True)) is not None:
                history.append(h)
    verdict = r.enum(m, "verdict", p, VERDICTS, None)
    if verdict is None:
        return None
    reviewer = r.text(m, "reviewer", p)
    searched: list[Search] = []
    for sp, item in r.items(m, "searched", p):
        sm = r.mapping(item, sp, "a search (where, what, when)", S.SEARCH_KEYS, ("where", "what"))
        if sm is not None:
            place, what = r.text(sm, "where", sp), r.text(sm, "what", sp)
            when = r.date(sm, "when", sp)
            if place and what:
                searched.append(Search(r.where.sub(*sp), place, what, when))
    return Review(
        where=r.where.sub(*p),
        verdict=verdict,
        reviewer=ExpertId(reviewer) if reviewer else None,
        date=r.date(m, "date", p),
        rationale=r.text(m, "rationale", p),
        fingerprint=r.text(m, "fingerprint", p, numbers=True),
        attribution=r.enum(m, "attribution", p, ATTRIBUTIONS, None),
        searched=tuple(searched),
        history=tuple(history),
        summary=r.text(m, "summary", p),
    )


def _build_expert(kb: KnowledgeBase, ident: str, value: Any, r: RecordReader) -> None:
    m = r.mapping(value, (), "an expert", S.EXPERT_KEYS, ("name",))
    if m is None:
        return
    _check_id(m, ident, r)
    roles: list[Role] = []
    for p, item in r.items(m, "roles", ()):
        rm = r.mapping(item, p, "a role", S.ROLE_KEYS, ("title",))
        if rm is not None and (title := r.text(rm, "title", p)):
            src = r.text(rm, "source", p)
            roles.append(
                Role(
                    r.where.sub(*p),
                    title,
                    r.text(rm, "organization", p),
                    SourceId(src) if src else None,
                )
            )
    identifiers: dict[str, str] = {}
    if m.get("identifiers") is not None:
        im = m["identifiers"]
        if not isinstance(im, dict):
            r.report(L.bad_type(r.loc(("identifiers",)), "identifiers", "a mapping", im))
        else:
            for k in im:
                if (v := r.text(im, k, ("identifiers",), numbers=True)) is not None:
                    identifiers[k] = v
    eid = ExpertId(ident)
    kb.experts[eid] = Expert(
        id=eid,
        where=r.where,
        name=r.text(m, "name", ()) or "",
        credentials=r.text(m, "credentials", ()),
        roles=tuple(roles),
        identifiers=identifiers,
        kind=r.enum(m, "kind", (), PEOPLE_KINDS, "expert") or "expert",
        affiliation=r.text(m, "affiliation", ()),
    )


def _build_source(kb: KnowledgeBase, ident: str, value: Any, r: RecordReader) -> None:
    if isinstance(value, dict) and any(k in value for k in C.LEGACY_KEYS):
        # Zotero's legacy names are read as CSL's (the CSL name wins when both are given)
        value = {C.LEGACY_KEYS.get(k, k): v for k, v in value.items() if not (
            k in C.LEGACY_KEYS and C.LEGACY_KEYS[k] in value)}  # fmt: skip
    m = r.mapping(value, (), "a source", S.source_keys(), ("type",))
    if m is None:
        return
    _check_id(m, ident, r)
    csl: dict[str, Any] = {}
    kinds = S.csl_fields()
    for key, v in m.items():
        kind = kinds.get(key)
        if kind is None or v is None:
            continue
        if kind == "names":
            names = _names(v, key, r)
            if names:
                csl[key] = names
        elif kind == "date":
            d, why = C.read_date(v)
            if why is not None:
                r.report(L.bad_date(r.loc((key,)), key, v, why))
            elif d is not None:
                csl[key] = d
        elif kind in ("text", "number"):
            t = r.text(m, key, (), numbers=True)
            if t is None:
                continue
            if key == "URL" and t.lower().startswith("doi:"):
                doi, _note = C.normal_doi(t)
                t = f"https://doi.org/{doi}" if doi else t
            if key == "URL" and not L.check_url(t, ("http", "https", "ftp")):
                r.report(L.bad_url(r.loc((key,)), t))
                continue
            if key == "DOI":
                doi, _note = C.normal_doi(t)
                if doi is None:
                    r.report(L.bad_doi(r.loc((key,)), t))
                    continue
                t = doi
            csl[key] = t
        else:
            csl[key] = v
    written = r.text(m, "type", ())
    ctype = C.read_type(written)[0] if written else None
    if ctype not in S.csl_types():
        ctype = r.enum(m, "type", (), S.csl_types(), "document") or "document"
    title = r.text(m, "title", (), numbers=True)  # a book may be called 1984
    if title:
        csl["title"] = title
    else:  # CSL items need no title (a letter, an interview); the page shows what there is
        title = str(csl.get("title-short") or csl.get("container-title") or ident)
    snapshot = r.text(m, "snapshot", ())
    r.date(m, "snapshot_retrieved", ())  # reported when it is no date
    r.text(m, "snapshot_from", ())
    sid = SourceId(ident)
    kb.sources[sid] = Source(
        id=sid,
        where=r.where,
        type=ctype,
        title=title,
        csl=csl,
        evidence_level=r.enum(m, "evidence_level", (), EVIDENCE_LEVELS, None),
        snapshot=snapshot,
        snapshot_sha256=r.text(m, "snapshot_sha256", ()),
        snapshot_scope=r.enum(m, "snapshot_scope", (), SNAPSHOT_SCOPES, "full") or "full",
        retracted=r.boolean(m, "retracted", ()),
        derived_from=tuple(SourceId(x) for x in r.text_list(m, "derived_from", ())),
        original=r.text(m, "snapshot_original", ()),
    )


def _names(value: Any, key: str, r: RecordReader) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p, item in r.items({key: value}, key, ()):
        if isinstance(item, str):
            r.report(
                L.bad_type(r.loc(p), key, "a list of {family, given} or {literal} names", item)
            )
            continue
        nm = r.mapping(item, p, "a name", S.NAME_KEYS)
        if nm is None:
            continue
        if not any(nm.get(k) for k in ("family", "given", "literal")):
            r.report(L.missing_key(r.loc(p), "family", "a name (or give 'given' or 'literal')"))
            continue
        name: dict[str, Any] = {}
        for k in nm:
            flag = nm[k]
            if k in C.NAME_FLAGS and isinstance(flag, (bool, int)):  # CSL: text, number or bool
                name[k] = flag
            elif (v := r.text(nm, k, p, numbers=True)) is not None:
                name[k] = v
        out.append(name)
    return out


BUILDERS: dict[str, Callable[[KnowledgeBase, str, Any, RecordReader], None]] = {
    "claims": _build_claim,
    "experts": _build_expert,
    "sources": _build_source,
}
