"""The knowledge graph: typed nodes, typed edges, and the summary `kb graph` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import pytest

from kb.graph import EDGE_TYPES, NODE_TYPES, Links, build_graph, node_id, summary, update_graph
from kb.reading.load import load_kb

MakeKB = Callable[[dict[str, str | bytes]], Path]  # the make_kb fixture (conftest.py)
VALID = Path(__file__).resolve().parent / "data" / "valid"


@pytest.fixture(scope="module")
def graph() -> nx.MultiDiGraph[str]:
    kb, problems = load_kb(VALID)
    assert problems == []
    return build_graph(kb)


def edges(g: nx.MultiDiGraph[str], kind: str) -> set[tuple[str, str]]:
    return {(u, v) for u, v, d in g.edges(data=True) if d["type"] == kind}


def test_nodes_are_typed(graph: nx.MultiDiGraph[str]) -> None:
    types = Counter(d["type"] for _, d in graph.nodes(data=True))
    assert types == {"claim": 2, "expert": 2, "source": 3, "topic": 2}
    assert set(types) == set(NODE_TYPES)
    for n, d in graph.nodes(data=True):
        assert n == node_id(d["type"], d["id"])
        assert d["label"]
    assert graph.nodes["claim:nmda-blockade"]["verdict"] == "accurate"
    assert graph.nodes["topic:mechanism"]["label"] == "mechanism"
    assert graph.nodes["source:smith-2020"]["label"].startswith("Rapid effects")


def test_edges_are_typed(graph: nx.MultiDiGraph[str]) -> None:
    assert {d["type"] for _, _, d in graph.edges(data=True)} <= set(EDGE_TYPES)
    assert edges(graph, "quoted-in") == {
        ("claim:nmda-blockade", "source:example-news"),
        ("claim:rapid-onset", "source:example-news"),
    }
    assert edges(graph, "spoken-by") == {("claim:nmda-blockade", "expert:jane-doe")}
    assert edges(graph, "origin") == {("claim:nmda-blockade", "source:doe-lecture")}
    assert edges(graph, "related") == {("claim:nmda-blockade", "claim:rapid-onset")}
    assert edges(graph, "reviewed-by") == {
        ("claim:nmda-blockade", "expert:ed-itor"),
        ("claim:rapid-onset", "expert:ed-itor"),
    }
    assert edges(graph, "tagged") == {
        ("claim:nmda-blockade", "topic:mechanism"),
        ("claim:rapid-onset", "topic:mechanism"),
        ("claim:rapid-onset", "topic:onset"),
    }
    assert edges(graph, "role-source") == {("expert:jane-doe", "source:example-news")}


def test_edge_attributes(graph: nx.MultiDiGraph[str]) -> None:
    ev = {
        (u, v): (d["stance"], d["directness"])
        for u, v, d in graph.edges(data=True)
        if d["type"] == "evidence"
    }
    assert ev == {
        ("claim:nmda-blockade", "source:smith-2020"): ("supports", "direct"),
        ("claim:rapid-onset", "source:smith-2020"): ("supports", "direct"),
        ("claim:rapid-onset", "source:example-news"): ("context", "indirect"),
    }
    rel = [d for _, _, d in graph.edges(data=True) if d["type"] == "related"]
    assert rel[0]["relation"] == "leads-to"


def test_one_edge_per_quote(graph: nx.MultiDiGraph[str]) -> None:
    """rapid-onset quotes example-news twice: two quoted-in edges, told apart by quote index."""
    quotes = sorted(
        d["quote"]
        for u, v, d in graph.edges(data=True)
        if d["type"] == "quoted-in" and u == "claim:rapid-onset"
    )
    assert quotes == [0, 1]


def test_edges_to_missing_records_are_left_out(make_kb: MakeKB) -> None:
    root = make_kb(
        {
            "claims/a.yaml": "statement: A.\n"
            "quotes: [{text: x, source: nowhere, speaker: nobody}]\n"
            "related: [{claim: b, relation: supports}]\n",
            "sources/s.yaml": "type: webpage\ntitle: S\nderived_from: [gone]\n",
        }
    )
    kb, _ = load_kb(root)
    g = build_graph(kb)
    assert set(g.nodes) == {"claim:a", "source:s"}
    assert g.number_of_edges() == 0


def test_a_repeated_related_claim_keeps_the_last_relation_alone(make_kb: MakeKB) -> None:
    """Edges with equal attributes share one dict: the second `related` entry to the same
    claim replaces the first edge's attributes, and no other edge's."""
    root = make_kb(
        {
            "claims/a.yaml": "statement: A.\nrelated: [{claim: b, relation: supports}, "
            "{claim: b, relation: contradicts}]\n",
            "claims/b.yaml": "statement: B.\n",
            "claims/c.yaml": "statement: C.\nrelated: [{claim: b, relation: supports}]\n",
        }
    )
    g = build_graph(load_kb(root)[0])
    assert g.edges["claim:a", "claim:b", "related"]["relation"] == "contradicts"
    assert g.edges["claim:c", "claim:b", "related"]["relation"] == "supports"
    assert g.number_of_edges() == 2


def _adjacency(g: nx.MultiDiGraph[str]) -> list[object]:
    """Every node's attributes, successors and predecessors, in order, keys and data included."""

    def side(nbrs: dict[str, dict[object, dict[str, object]]]) -> list[object]:
        return [(b, [(k, list(d.items())) for k, d in keyed.items()]) for b, keyed in nbrs.items()]

    return [(n, list(g.nodes[n].items()), side(g.succ[n]), side(g.pred[n])) for n in g]


def test_pairs_joined_alike_share_a_key_dict_that_a_second_edge_does_not_change(
    make_kb: MakeKB,
) -> None:
    """Two claims that quote a source once each share one {key: data} dict (memory); a claim
    that comes to quote it twice, after an edit brought in by update_graph, gets a dict of its
    own, and the other claim's edge is as it was: the graph is the one a new build makes."""
    files: dict[str, str | bytes] = {
        "claims/a.yaml": "statement: A.\nquotes: [{text: x, source: s}]\n",
        "claims/b.yaml": "statement: B.\nquotes: [{text: y, source: s}]\n",
        "sources/s.yaml": "type: webpage\ntitle: S\n",
    }
    root = make_kb(files)
    g = build_graph(load_kb(root)[0])
    succ, pred = Links.of(g).succ, Links.of(g).pred  # networkx's own dicts, not views
    a, b = succ["claim:a"]["source:s"], succ["claim:b"]["source:s"]
    assert a is b and pred["source:s"]["claim:a"] is a
    assert list(a) == [0]
    (root / "claims" / "a.yaml").write_text(
        "statement: A.\nquotes: [{text: x, source: s}, {text: z, source: s}]\n"
    )
    kb = load_kb(root)[0]
    update_graph(g, kb, ["claim:a"], kb.topics())
    assert _adjacency(g) == _adjacency(build_graph(kb))
    assert list(succ["claim:a"]["source:s"]) == [0, 1]
    assert succ["claim:b"]["source:s"] is b and list(b) == [0]
    assert pred["source:s"]["claim:a"] is succ["claim:a"]["source:s"]


def test_derived_from_edges(make_kb: MakeKB) -> None:
    root = make_kb(
        {
            "sources/copy.yaml": "type: webpage\ntitle: Copy\nderived_from: orig\n",
            "sources/orig.yaml": "type: webpage\ntitle: Original\n",
        }
    )
    g = build_graph(load_kb(root)[0])
    assert edges(g, "derived-from") == {("source:copy", "source:orig")}


def test_topics_become_slugged_nodes(make_kb: MakeKB) -> None:
    claim = "statement: A.\ntopics: [Mental Health, ../../etc/passwd]\n"
    root = make_kb({"claims/a.yaml": claim})
    g = build_graph(load_kb(root)[0])
    topics = {n for n, d in g.nodes(data=True) if d["type"] == "topic"}
    assert topics == {"topic:mental-health", "topic:etc-passwd"}


def test_summary(graph: nx.MultiDiGraph[str]) -> None:
    text = summary(graph)
    lines = text.splitlines()
    assert lines[0] == "9 nodes, 15 edges"
    assert lines[1] == "nodes: 2 claim, 2 expert, 3 source, 2 topic"
    assert lines[2].startswith("edges: 3 quoted-in, 1 spoken-by, 1 origin, 3 evidence, 1 related")
    assert "most connected claims:" in lines
    i = lines.index("most connected claims:")
    assert lines[i + 1].split() == ["8", "rapid-onset"]
    assert lines[-1] == "components: 1 (largest 9 nodes, 0 isolated)"


def test_summary_top_limits_the_lists(graph: nx.MultiDiGraph[str]) -> None:
    text = summary(graph, top=1)
    i = text.splitlines().index("most connected sources:")
    assert text.splitlines()[i + 1].split() == ["5", "example-news"]
    assert text.splitlines()[i + 2] == "most connected experts:"


def test_summary_of_an_empty_graph() -> None:
    text = summary(nx.MultiDiGraph())
    assert text.splitlines()[0] == "0 nodes, 0 edges"
    assert text.splitlines()[-1] == "components: 0 (largest 0 nodes, 0 isolated)"
