"""graph.graphml in igraph and networkx, and the CSV files in the csv module as Excel reads them."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import igraph
import networkx as nx

from kb.export import claimscsv, claimtopics, graphml
from kb.pipeline import open_base

ROOT = Path(__file__).resolve().parent.parent


def _base_with_clash(tmp_path: Path) -> Path:
    """A claim and a topic with the same name, and a topic holding `;` and `,`."""
    root = tmp_path / "kb"
    (root / "sources").mkdir(parents=True)
    (root / "claims").mkdir()
    (root / "sources" / "s1.yaml").write_text("type: book\ntitle: A book\nissued: 2020\n")
    (root / "claims" / "synaptogenesis.yaml").write_text(
        "statement: Naïve synapses grow.\ntopics: [synaptogenesis, 'mood; sleep, appetite']\n"
        "quotes:\n  - {text: A book, source: s1}\n"
        "evidence:\n  - {source: s1, stance: supports}\n"
    )
    return root


def test_igraph_keeps_unique_typed_ids(tmp_path: Path) -> None:
    base = open_base(_base_with_clash(tmp_path))
    path = tmp_path / "graph.graphml"
    path.write_bytes(graphml.export(base.kb, base.graph, base.problems))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # igraph warns when it cannot keep the ids
        g = igraph.Graph.Read_GraphML(str(path))
    ids = g.vs["id"]
    assert len(ids) == len(set(ids)) == base.graph.number_of_nodes()
    assert {"claim:synaptogenesis", "topic:synaptogenesis"} <= set(ids)
    claim = g.vs.find(id="claim:synaptogenesis")
    assert claim["record"] == "synaptogenesis" and claim["type"] == "claim"
    quote_edges = [e for e in g.es if e["type"] == "quoted-in"]
    assert quote_edges and all(float(e["quote"]).is_integer() for e in quote_edges)


def test_networkx_reads_declared_types_back(tmp_path: Path) -> None:
    base = open_base(ROOT)
    data = graphml.export(base.kb, base.graph, base.problems)
    back = nx.read_graphml(io.BytesIO(data), force_multigraph=True)
    assert set(back.nodes) == set(base.graph.nodes)
    quotes = [d["quote"] for _, _, d in back.edges(data=True) if "quote" in d]
    assert quotes and all(type(q) is int for q in quotes)  # integers stay integers
    assert all("id" not in d for _, d in back.nodes(data=True))
    assert b'attr.name="record" attr.type="string"' in data


def test_csv_has_a_bom_and_topics_split_back(tmp_path: Path) -> None:
    base = open_base(_base_with_clash(tmp_path))
    data = claimscsv.export(base.kb, base.graph, base.problems)
    assert data.startswith("\ufeff".encode())  # Excel reads UTF-8 then, not Windows-1252
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0]["statement"] == "Naïve synapses grow."
    topics = claimtopics.export(base.kb, base.graph, base.problems)
    pairs = list(csv.reader(io.StringIO(topics.decode("utf-8-sig"))))
    assert pairs == [["claim", "topic"], ["synaptogenesis", "synaptogenesis"],
                     ["synaptogenesis", "mood; sleep, appetite"]]  # fmt: skip
