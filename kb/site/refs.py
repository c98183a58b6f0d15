"""How a claim, a source and a person are shown wherever they are listed or named: made once
per way of linking to them and kept in `site.refs`."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from kb.site.present import Links, badge, esc, evidence_level_label, summary_of
from kb.site.state import Site

View = dict[str, Any]


def claim_ref(site: Site, cid: str, u: Links) -> View:
    """Return how a claim is shown wherever it is listed: statement, link and verdict.

    Like `source_ref` and `expert_ref`, the view is made once per way of linking to the record
    (`Links.reach`: pages of one folder, and folders at one depth, link alike), kept in
    `site.refs` and never mutated.
    """
    key = ("c", cid, u.reach("claim", cid))
    view = site.refs.get(key)
    if view is None:
        claim = site.kb.claims[cid]  # type: ignore[index]
        href = u.claim(cid)
        mark = badge(claim.verdict)
        why = summary_of(claim)
        item = Markup(f'{mark} <a href="{esc(href)}">{esc(claim.statement)}</a>')
        view = site.refs[key] = {
            "id": cid,
            "statement": claim.statement,
            "href": href,
            "verdict": claim.verdict,
            "badge": mark,
            "summary": why,
            "item": item,
            # the item with the verdict's reason under it, for lists
            "line": item + Markup(f' <span class="why">{esc(why)}</span>') if why else item,
        }
    return view


def source_ref(site: Site, sid: str, u: Links, anchor: str | None = None) -> View:
    """Return how a source is shown wherever it is listed (missing ones are shown unlinked).

    With an `anchor`, the link leads to that place in the source (made each time: anchors
    are those of one claim's quotes, shown on one page).
    """
    key = ("s", sid, u.reach("source", sid))
    view = site.refs.get(key)
    if view is None:
        view = site.refs[key] = _source_ref(site, sid, u, None)
    if anchor and view["href"] is not None:
        return _source_ref(site, sid, u, anchor)
    return view


def _source_ref(site: Site, sid: str, u: Links, anchor: str | None) -> View:
    src = site.kb.sources.get(sid)  # type: ignore[call-overload]
    if src is None:
        link = Markup(f'<span class="missing">{esc(sid)} (unknown source)</span>')
        return {"id": sid, "title": sid, "href": None, "year": None, "retracted": False,
                "level": "", "link": link}  # fmt: skip
    href = u.source(sid, anchor)
    link = Markup(f'<a href="{esc(href)}">{esc(src.title)}</a>')
    if src.retracted:
        link += RETRACTED_TAG
    return {
        "id": sid,
        "title": src.title,
        "href": href,
        "year": src.year,
        "retracted": src.retracted,
        "level": evidence_level_label(src.evidence_level),
        "link": link,
    }


def expert_ref(site: Site, eid: str | None, u: Links) -> View | None:
    """Return how a person is shown wherever they are named (missing ones are shown unlinked)."""
    if not eid:
        return None
    key = ("e", eid, u.reach("expert", eid))
    view = site.refs.get(key)
    if view is None:
        person = site.kb.experts.get(eid)  # type: ignore[call-overload]
        if person is None:
            link = Markup(f'<span class="missing">{esc(eid)} (unknown expert)</span>')
            view = {"id": eid, "name": eid, "href": None, "credentials": None, "link": link}
        else:
            href = u.expert(eid)
            view = {
                "id": eid,
                "name": person.name,
                "href": href,
                "credentials": person.credentials,
                "link": Markup(f'<a href="{esc(href)}">{esc(person.name)}</a>'),
            }
        site.refs[key] = view
    return view


RETRACTED_TAG = Markup(
    ' <span class="tag tag-retracted"><span class="ico" aria-hidden="true"></span>Retracted</span>'
)
