"""`claim-topics.csv`: one row per claim and topic, so that topics holding `;` or `,` need no
splitting (claims.csv joins them in one cell). UTF-8 with a byte-order mark, as claims.csv."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import networkx as nx

from kb.errors import Problem
from kb.export.csvtext import BOM, cell
from kb.memo import Memo
from kb.model import KnowledgeBase


def export(
    kb: KnowledgeBase,
    graph: nx.MultiDiGraph[str],
    problems: Sequence[Problem],
    memo: Memo | None = None,
) -> bytes:
    """Return `claim,topic` rows sorted by claim id, topics in the claim's order."""
    buf = io.StringIO()
    buf.write(BOM)
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(("claim", "topic"))
    for cid in sorted(kb.claims):
        out.writerows((cid, cell(topic)) for topic in kb.claims[cid].topics)
    return buf.getvalue().encode("utf-8")
