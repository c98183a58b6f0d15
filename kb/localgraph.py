"""Lay out one record's neighbourhood as a small static SVG: no script, every node a link."""

from __future__ import annotations

import math
from typing import Any

from kb.present import EDGE_LABELS, KIND_LABELS, Links, short, verdict_label
from kb.site import Site

WIDTH, HEIGHT = 820, 420
_CX, _CY, _RX, _RY = WIDTH / 2, HEIGHT / 2, 190.0, 160.0
_TYPE_ORDER = {"claim": 0, "source": 1, "expert": 2, "topic": 3}
_BUSY = 40  # neighbours with more edges than this are not scanned for edges between neighbours


def _shape(kind: str, x: float, y: float, r: float) -> dict[str, Any]:
    if kind == "claim":
        return {"tag": "circle", "r": f"{r:.1f}"}
    if kind == "source":
        s = r * 0.9
        return {"tag": "rect", "x": f"{x - s:.1f}", "y": f"{y - s:.1f}", "size": f"{2 * s:.1f}"}
    if kind == "expert":
        d = r * 1.25
        pts = [(x, y - d), (x + d, y), (x, y + d), (x - d, y)]
    else:
        d = r * 1.3
        pts = [(x, y - d), (x + d * 0.87, y + d * 0.5), (x - d * 0.87, y + d * 0.5)]
    return {"tag": "polygon", "points": " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)}


def _node(site: Site, node: str, u: Links, x: float, y: float, r: float) -> dict[str, Any]:
    data = site.graph.nodes[node]
    kind = data["type"]
    label = str(data.get("label", node))
    verdict = data.get("verdict")
    title = f"{KIND_LABELS.get(kind, kind)}: {label}"
    if verdict:
        title += f" ({verdict_label(verdict)})"
    return {
        "id": node,
        "kind": kind,
        "verdict": verdict or "",
        "x": f"{x:.1f}",
        "y": f"{y:.1f}",
        "shape": _shape(kind, x, y, r),
        "label": short(label, 26),
        "title": title,
        "href": u.node(node),
    }


def local_graph(site: Site, center: str, u: Links, limit: int = 24) -> dict[str, Any] | None:
    """Return the SVG drawing data of a node and its direct neighbours (at most `limit`)."""
    graph = site.graph
    if center not in graph:
        return None
    kinds: dict[str, set[str]] = {}
    for v, kind, _ in site.outgoing(center):
        kinds.setdefault(v, set()).add(kind)
    for v, kind, _ in site.incoming(center):
        kinds.setdefault(v, set()).add(kind)
    kinds.pop(center, None)
    if not kinds:
        return None
    order = sorted(
        kinds,
        key=lambda n: (
            _TYPE_ORDER.get(graph.nodes[n]["type"], 9),
            str(graph.nodes[n].get("label", "")).casefold(),
            n,
        ),
    )
    shown = order[:limit]
    pos: dict[str, tuple[float, float]] = {center: (_CX, _CY)}
    nodes = [_node(site, center, u, _CX, _CY, 13.0)]
    nodes[0]["center"] = True
    n = len(shown)
    for k, other in enumerate(shown):
        angle = -math.pi / 2 + 2 * math.pi * k / n
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = _CX + _RX * cos, _CY + _RY * sin
        pos[other] = (x, y)
        node = _node(site, other, u, x, y, 8.0)
        node["center"] = False
        anchor = "start" if cos > 0.25 else "end" if cos < -0.25 else "middle"
        lx = x + 14 * cos + (0 if anchor == "middle" else (4 if cos > 0 else -4))
        ly = y + 14 * sin + (4 if anchor != "middle" else (12 if sin > 0 else -6))
        node.update(lx=f"{lx:.1f}", ly=f"{ly:.1f}", anchor=anchor)
        nodes.append(node)
    edges = []
    for other in shown:
        (x1, y1), (x2, y2) = pos[center], pos[other]
        types = sorted(kinds[other])
        edges.append(
            {
                "x1": f"{x1:.1f}",
                "y1": f"{y1:.1f}",
                "x2": f"{x2:.1f}",
                "y2": f"{y2:.1f}",
                "type": types[0],
                "title": ", ".join(EDGE_LABELS.get(t, t) for t in types),
            }
        )
    members = set(shown)
    for a in shown:
        if graph.out_degree(a) > _BUSY:
            continue
        for b in sorted({v for _, v in graph.out_edges(a)} & members):
            if b == a:
                continue
            (x1, y1), (x2, y2) = pos[a], pos[b]
            edges.append(
                {
                    "x1": f"{x1:.1f}",
                    "y1": f"{y1:.1f}",
                    "x2": f"{x2:.1f}",
                    "y2": f"{y2:.1f}",
                    "type": "between",
                    "title": "",
                }
            )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "nodes": nodes,
        "edges": edges,
        "more": len(order) - len(shown),
        "total": len(order),
    }
