"""Lay out one record's neighbourhood as a small static SVG: no script, every node a link."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from kb.present import EDGE_LABELS, KIND_LABELS, Links, short, verdict_label
from kb.site import Site

WIDTH, HEIGHT = 820, 420
_CX, _CY, _RX, _RY = WIDTH / 2, HEIGHT / 2, 190.0, 160.0
_TYPE_ORDER = {"claim": 0, "source": 1, "expert": 2, "topic": 3}
_BUSY = 40  # neighbours with more edges than this are not scanned for edges between neighbours


def _shape(kind: str, x: float, y: float, r: float) -> str:
    if kind == "claim":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
    if kind == "source":
        s = r * 0.9
        return f'<rect x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}"/>'
    if kind == "expert":
        d = r * 1.25
        pts = [(x, y - d), (x + d, y), (x, y + d), (x - d, y)]
    else:
        d = r * 1.3
        pts = [(x, y - d), (x + d * 0.87, y + d * 0.5), (x - d * 0.87, y + d * 0.5)]
    return '<polygon points="' + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + '"/>'


def _title(data: dict[str, Any], node: str) -> tuple[str, str, str]:
    kind = data["type"]
    label = str(data.get("label", node))
    verdict = data.get("verdict") or ""
    title = f"{KIND_LABELS.get(kind, kind)}: {label}"
    if verdict:
        title += f" ({verdict_label(verdict)})"
    return kind, verdict, title


def _node_bits(site: Site, node: str) -> tuple[str, str, str, str, tuple[int, str, str]]:
    """(kind, verdict class, escaped title, escaped short label, sort key) of a node, memoised."""
    key = ("lg", node)
    bits = site.refs.get(key)
    if bits is None:
        data = site.node_data[node]
        kind, verdict, title = _title(data, node)
        label = str(data.get("label", node))
        bits = site.refs[key] = {
            "b": (
                kind,
                f" v-{escape(verdict)}" if verdict else "",
                str(escape(title)),
                str(escape(short(label, 26))),
                (_TYPE_ORDER.get(kind, 9), label.casefold(), node),
            )
        }
    result: tuple[str, str, str, str, tuple[int, str, str]] = bits["b"]
    return result


@lru_cache(maxsize=64)
def _ring(n: int) -> tuple[tuple[float, float, float, float, str], ...]:
    """Where n neighbours go around the centre: (x, y, label x, label y, text-anchor)."""
    spots = []
    for k in range(n):
        angle = -math.pi / 2 + 2 * math.pi * k / n
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = _CX + _RX * cos, _CY + _RY * sin
        anchor = "start" if cos > 0.25 else "end" if cos < -0.25 else "middle"
        lx = x + 14 * cos + (0 if anchor == "middle" else (4 if cos > 0 else -4))
        ly = y + 14 * sin + (4 if anchor != "middle" else (12 if sin > 0 else -6))
        spots.append((x, y, lx, ly, anchor))
    return tuple(spots)


@lru_cache(maxsize=512)
def _edge_title(types: frozenset[str]) -> str:
    return ", ".join(EDGE_LABELS.get(t, t) for t in sorted(types))


def _line(a: tuple[float, float], b: tuple[float, float], kind: str, title: str) -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<line class="e e-{kind}" x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" '
        f'y2="{b[1]:.1f}">{tip}</line>'
    )


def local_graph(site: Site, center: str, u: Links, limit: int = 24) -> dict[str, Any] | None:
    """Return a node and its direct neighbours (at most `limit`) as an SVG, with counts.

    The drawing is plain markup: every neighbour is an `<a>` to its page with a `<title>`, so it
    works without script, under the CSP, and by keyboard.
    """
    graph = site.graph
    if center not in graph:
        return None
    kinds = {v: t for v, t in site.links.get(center, {}).items() if v != center}
    if not kinds:
        return None
    order = sorted(kinds, key=lambda n: _node_bits(site, n)[4])
    shown = order[:limit]
    spots = _ring(len(shown))
    pos: dict[str, tuple[float, float]] = {center: (_CX, _CY)}
    for other, spot in zip(shown, spots, strict=True):
        pos[other] = (spot[0], spot[1])
    lines = [
        _line(pos[center], pos[o], min(kinds[o]), _edge_title(frozenset(kinds[o]))) for o in shown
    ]
    for a in shown:
        adjacent = site.succ[a]
        if len(adjacent) > _BUSY:
            continue
        for b in sorted(b for b in shown if b != a and b in adjacent):
            lines.append(_line(pos[a], pos[b], "between", ""))
    kind, vcls, title, _, _ = _node_bits(site, center)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="kb-lg-caption">',
        '<g class="lg-edges">',
        *lines,
        '</g><g class="lg-nodes">',
        f'<g class="n n-{kind} center{vcls}"><title>{title} (this page)</title>'
        f"{_shape(kind, _CX, _CY, 13.0)}</g>",
    ]
    for other, (x, y, lx, ly, anchor) in zip(shown, spots, strict=True):
        kind, vcls, title, label, _ = _node_bits(site, other)
        parts.append(
            f'<a href="{escape(u.node(other))}" class="n n-{kind}{vcls}">'
            f"<title>{title}</title>{_shape(kind, x, y, 8.0)}"
            f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">{label}</text></a>'
        )
    parts.append("</g></svg>")
    return {
        "svg": Markup("\n".join(parts)),
        "more": len(order) - len(shown),
        "total": len(order),
    }
