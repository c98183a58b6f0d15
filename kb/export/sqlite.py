"""`kb export sqlite -o kb.db`: the knowledge base as a SQLite database for Datasette.

Tables (made with sqlite-utils): `claims`, `topics` and `claim_topics`, `quotes`, `evidence`,
`sources`, `people` (experts) and `reviews` (every review a claim file records: the current one,
`current = 1`, and its history), with foreign keys between them and
full-text search on claims' statements, quotes' words and reviews' rationales. `metadata(...)`
is Datasette's metadata.json: titles, descriptions, facets (verdict, speaker, source, evidence
level) and canned queries, such as the misleading claims with their evidence. Then:

    datasette kb.db -m metadata.json
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from kb.model import VERDICT_LABELS, VERDICTS, KnowledgeBase
from kb.urls import page_path

MARK = "kb export sqlite"  # metadata.json's `source`: kb may replace a file that says so


def _rows(kb: KnowledgeBase) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, in a fixed order."""
    t: dict[str, list[dict[str, Any]]] = {k: [] for k in COLUMNS}
    for sid, s in sorted(kb.sources.items()):
        t["sources"].append({
            "id": sid, "type": s.type, "title": s.title, "year": s.year,
            "container": s.csl.get("container-title"), "publisher": s.csl.get("publisher"),
            "doi": s.csl.get("DOI"), "url": s.csl.get("URL"), "evidence_level": s.evidence_level,
            "retracted": s.retracted, "page": page_path("source", sid),
            "csl": json.dumps(s.csl, ensure_ascii=False, sort_keys=True, default=str),
        })  # fmt: skip
    for eid, x in sorted(kb.experts.items()):
        t["people"].append({
            "id": eid, "name": x.name, "credentials": x.credentials,
            "roles": json.dumps([{"title": r.title, "organization": r.organization,
                                  "source": r.source} for r in x.roles], ensure_ascii=False),
            "page": page_path("expert", eid),
        })  # fmt: skip
    topics: set[str] = set()
    for cid, c in sorted(kb.claims.items()):
        t["claims"].append({
            "id": cid, "statement": c.statement, "verdict": c.verdict,
            "verdict_label": VERDICT_LABELS.get(c.verdict, c.verdict),
            "rating": VERDICTS.get(c.verdict), "page": page_path("claim", cid),
        })  # fmt: skip
        for topic in dict.fromkeys(c.topics):
            topics.add(topic)
            t["claim_topics"].append({"claim": cid, "topic": topic})
        for i, q in enumerate(c.quotes):
            t["quotes"].append({
                "id": f"{cid}#{i}", "claim": cid, "position": i, "text": q.text,
                "source": _known(q.source, kb.sources), "speaker": _known(q.speaker, kb.experts),
                "attribution": q.attribution, "locator": q.locator,
                "origin_source": _known(q.origin.source if q.origin else None, kb.sources),
                "origin_text": q.origin.text if q.origin else None,
            })  # fmt: skip
        for i, e in enumerate(c.evidence):
            src = kb.sources.get(e.source)
            t["evidence"].append({
                "id": f"{cid}#{i}", "claim": cid, "position": i,
                "source": _known(e.source, kb.sources), "stance": e.stance,
                "directness": e.directness, "locator": e.locator, "note": e.note,
                "evidence_level": src.evidence_level if src else None,
            })  # fmt: skip
        if c.review is not None:
            reviews = [c.review, *c.review.history]  # the current one, then earlier, latest first
            for n, r in enumerate(reviews):
                t["reviews"].append({
                    "id": f"{cid}#{n}", "claim": cid, "current": n == 0, "verdict": r.verdict,
                    "verdict_label": VERDICT_LABELS.get(r.verdict, r.verdict),
                    "attribution": r.attribution,
                    "reviewer": _known(r.reviewer, kb.experts), "date": r.date,
                    "rationale": r.rationale, "fingerprint": r.fingerprint,
                })  # fmt: skip
    t["topics"] = [{"name": name} for name in sorted(topics)]
    return t


def _known(ident: str | None, pool: Any) -> str | None:
    """An id that names a record (a foreign key), else None (a dangling id is a check error)."""
    return ident if ident is not None and ident in pool else None


FOREIGN = {
    "claim_topics": [("claim", "claims", "id"), ("topic", "topics", "name")],
    "quotes": [("claim", "claims", "id"), ("source", "sources", "id"),
               ("speaker", "people", "id"), ("origin_source", "sources", "id")],
    "evidence": [("claim", "claims", "id"), ("source", "sources", "id")],
    "reviews": [("claim", "claims", "id"), ("reviewer", "people", "id")],
}  # fmt: skip
KEYS = {"topics": "name", "claim_topics": ("claim", "topic")}
SEARCH = {"claims": ["statement"], "quotes": ["text"], "reviews": ["rationale"]}
# Columns of each table, with their types, so that an empty table still has them all.
COLUMNS: dict[str, dict[str, type]] = {
    "sources": {"id": str, "type": str, "title": str, "year": str, "container": str,
                "publisher": str, "doi": str, "url": str, "evidence_level": str,
                "retracted": bool, "page": str, "csl": str},
    "people": {"id": str, "name": str, "credentials": str, "roles": str, "page": str},
    "claims": {"id": str, "statement": str, "verdict": str, "verdict_label": str, "rating": int,
               "page": str},
    "topics": {"name": str},
    "claim_topics": {"claim": str, "topic": str},
    "quotes": {"id": str, "claim": str, "position": int, "text": str, "source": str,
               "speaker": str, "attribution": str, "locator": str, "origin_source": str,
               "origin_text": str},
    "evidence": {"id": str, "claim": str, "position": int, "source": str, "stance": str,
                 "directness": str, "locator": str, "note": str, "evidence_level": str},
    "reviews": {"id": str, "claim": str, "current": bool, "verdict": str, "verdict_label": str,
                "attribution": str, "reviewer": str, "date": str, "rationale": str,
                "fingerprint": str},
}  # fmt: skip


def write_db(kb: KnowledgeBase, path: Path) -> None:
    """Write the database to `path` (a new file; the caller moves it into place)."""
    conn = sqlite3.connect(str(path))
    try:
        db = sqlite_utils.Database(conn)
        rows = _rows(kb)
        for name, columns in COLUMNS.items():  # parents first: foreign keys need them
            pk = KEYS.get(name, "id")
            table = db.table(name)
            table.create(columns, pk=pk, foreign_keys=FOREIGN.get(name, []))
            if rows[name]:
                table.insert_all(rows[name])
        for name, cols in SEARCH.items():
            db.table(name).enable_fts(cols, create_triggers=False)
        for name, keys in FOREIGN.items():
            for column, _, _ in keys:
                db.table(name).create_index([column])
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def metadata(kb: KnowledgeBase, database: str) -> dict[str, Any]:
    """Datasette's metadata.json for a database named `database` (the file's stem)."""
    misleading = (
        "select c.id as claim, c.statement, c.verdict_label, r.rationale, e.stance,"
        " e.directness, e.evidence_level, s.id as source, s.title as source_title"
        " from claims c left join reviews r on r.claim = c.id and r.current"
        " left join evidence e on e.claim = c.id left join sources s on s.id = e.source"
        " where c.verdict in ('misleading', 'inaccurate') order by c.id, e.position"
    )
    unreviewed = "select id, statement from claims where verdict = 'unreviewed' order by id"
    speakers = (
        "select p.id, p.name, p.credentials, count(q.id) as quotes, count(distinct q.claim)"
        " as claims from people p join quotes q on q.speaker = p.id group by p.id"
        " order by quotes desc, p.id"
    )
    return {
        "title": kb.config.title,
        "source": MARK,
        "description": "Claims, quotes, evidence, sources, people and reviews of a kb "
        "knowledge base. Statements, quotes and rationales have full-text search.",
        "databases": {
            database: {
                "tables": {
                    "claims": {
                        "title": "Claims",
                        "description": "Each claim with its "
                        "current verdict (`unreviewed` until reviewed).",
                        "facets": ["verdict"],
                        "fts_table": "claims_fts",
                    },
                    "quotes": {
                        "title": "Quotes",
                        "description": "Words quoted for a claim, "
                        "verified against the source's archived text.",
                        "facets": ["speaker", "source"],
                        "fts_table": "quotes_fts",
                    },
                    "evidence": {
                        "title": "Evidence",
                        "description": "Sources cited for or "
                        "against a claim, with their stance and evidence level.",
                        "facets": ["source", "stance", "evidence_level"],
                    },
                    "sources": {
                        "title": "Sources",
                        "description": "Cited works (CSL fields in `csl`).",
                        "facets": ["evidence_level", "type"],
                    },
                    "people": {
                        "title": "People",
                        "description": "Experts: who is quoted and who reviews.",
                    },
                    "reviews": {
                        "title": "Reviews",
                        "description": "The review of each "
                        "claim: verdict, reviewer, date and rationale.",
                        "facets": ["verdict", "reviewer"],
                        "fts_table": "reviews_fts",
                    },
                    "topics": {"title": "Topics"},
                    "claim_topics": {"title": "Claims by topic", "facets": ["topic"]},
                },
                "queries": {
                    "misleading_claims_evidence": {
                        "title": "Misleading claims and their evidence",
                        "description": "Claims rated misleading or inaccurate, each with the "
                        "review's rationale and every source cited.",
                        "sql": misleading,
                    },
                    "unreviewed_claims": {"title": "Claims not yet reviewed", "sql": unreviewed},
                    "quoted_people": {"title": "Who is quoted, how often", "sql": speakers},
                },
            }
        },
    }
