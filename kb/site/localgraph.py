"""Lay out one record's neighbourhood as a small static SVG: no script, every node a link."""

from __future__ import annotations

import heapq
import math
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from kb.site.present import EDGE_LABELS, KIND_LABELS, Links, esc, short, verdict_label
from kb.site.state import Site

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


# What the drawing shows of a node: (kind, verdict class, escaped title, escaped short label
# followed by the tags that close it).
_Bits = tuple[str, str, str, str]


def _node_bits(site: Site, node: str) -> _Bits:
    """Return what the drawing shows of a node, made once per node and kept in the site."""
    bits: _Bits | None = site.graph_bits.get(node)
    if bits is None:
        data = site.node_data[node]
        kind, verdict, title = _title(data, node)
        bits = site.graph_bits[node] = (
            kind,
            f" v-{esc(verdict)}" if verdict else "",
            esc(title),
            esc(short(str(data.get("label", node)), 26)) + "</text></a>",
        )
    return bits


def _order_of(data: dict[str, Any], node: str) -> tuple[int, str, str]:
    """Where a neighbour (its node data, its id) comes in a drawing: by kind, then label, then
    id. Made each time, not kept: a key per node would cost each rendering process 4 MB at
    10,000 claims for 0.1 s of CPU."""
    return (_TYPE_ORDER.get(data["type"], 9), str(data.get("label", node)).casefold(), node)


def _link_open(node: str, u: Links, bits: _Bits, links: dict[str, str]) -> str:
    """Return the `<a ...><title>...</title>` of a neighbour on pages of u's folder, kept in
    `links` (that folder's, in `site.graph_links`) unless its link depends on more."""
    kind, vcls, title, _ = bits
    got = f'<a href="{esc(u.node(node))}" class="n n-{kind}{vcls}"><title>{title}</title>'
    if kind in _TYPE_ORDER and "/" not in node:  # else not only the folder's prefix of its kind
        links[node] = got
    return got


def _xy(x: float, y: float) -> tuple[str, str]:
    return f"{x:.1f}", f"{y:.1f}"


_CENTER = _xy(_CX, _CY)


@lru_cache(maxsize=64)
def _ring(n: int) -> tuple[tuple[str, str, str], ...]:
    """Where n neighbours go around the centre, as markup: (x, y, `<text ...>` opening tag)."""
    spots = []
    for k in range(n):
        angle = -math.pi / 2 + 2 * math.pi * k / n
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = _CX + _RX * cos, _CY + _RY * sin
        anchor = "start" if cos > 0.25 else "end" if cos < -0.25 else "middle"
        lx = x + 14 * cos + (0 if anchor == "middle" else (4 if cos > 0 else -4))
        ly = y + 14 * sin + (4 if anchor != "middle" else (12 if sin > 0 else -6))
        spots.append((*_xy(x, y), f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">'))
    return tuple(spots)


@lru_cache(maxsize=2048)
def _spot_shape(kind: str, n: int, k: int) -> str:
    """The shape of a neighbour of kind `kind` at place k of n around the centre."""
    angle = -math.pi / 2 + 2 * math.pi * k / n
    return _shape(kind, _CX + _RX * math.cos(angle), _CY + _RY * math.sin(angle), 8.0)


@lru_cache(maxsize=8)
def _center_shape(kind: str) -> str:
    return _shape(kind, _CX, _CY, 13.0)


@lru_cache(maxsize=512)
def _edge(types: frozenset[str]) -> tuple[str, str]:
    """The class and escaped tooltip of the line to a neighbour linked by edges of `types`."""
    return min(types), esc(", ".join(EDGE_LABELS.get(t, t) for t in sorted(types)))


def _line(a: tuple[str, ...], b: tuple[str, ...], kind: str, title: str) -> str:
    tip = f"<title>{title}</title>" if title else ""
    return f'<line class="e e-{kind}" x1="{a[0]}" y1="{a[1]}" x2="{b[0]}" y2="{b[1]}">{tip}</line>'


@lru_cache(maxsize=8192)
def _spoke(n: int, k: int, types: frozenset[str]) -> str:
    """The line from the centre to the neighbour at place k of n, linked by edges of `types`."""
    return _line(_CENTER, _ring(n)[k], *_edge(types))


@lru_cache(maxsize=1024)
def _chord(n: int, a: int, b: int) -> str:
    """The line between the neighbours at places a and b of n."""
    spots = _ring(n)
    return _line(spots[a], spots[b], "between", "")


@lru_cache(maxsize=2048)
def _spot(kind: str, n: int, k: int) -> str:
    """A neighbour's shape at place k of n, and the opening tag of its label."""
    return _spot_shape(kind, n, k) + _ring(n)[k][2]


def local_graph(site: Site, center: str, u: Links, limit: int = 24) -> dict[str, Any] | None:
    """Return a node and its direct neighbours (at most `limit`) as an SVG, with counts.

    The drawing is plain markup: every neighbour is an `<a>` to its page with a `<title>`, so it
    works without script, under the CSP, and by keyboard.
    """
    if center not in site.succ:  # not in the graph
        return None
    kinds = site.links_of(center)
    if not kinds:
        return None
    # the first `limit` neighbours in order (a hub, such as a reviewer of every claim, has
    # thousands: only those shown are drawn, so only their bits are made)
    data = site.node_data
    shown = heapq.nsmallest(limit, kinds, key=lambda n: _order_of(data[n], n))
    n = len(shown)
    place = {other: k for k, other in enumerate(shown)}
    lines = [_spoke(n, k, kinds[other]) for k, other in enumerate(shown)]
    shown_set = set(shown)
    succ = site.succ
    for k, a in enumerate(shown):
        adjacent = succ[a]
        if len(adjacent) > _BUSY:
            continue
        between = adjacent.keys() & shown_set  # iterates the smaller of the two
        between.discard(a)
        if between:
            lines += [_chord(n, k, place[b]) for b in sorted(between)]
    kind, vcls, title, _ = _node_bits(site, center)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="kb-lg-caption">',
        '<g class="lg-edges">',
        *lines,
        '</g><g class="lg-nodes">',
        f'<g class="n n-{kind} center{vcls}"><title>{title} (this page)</title>'
        f"{_center_shape(kind)}</g>",
    ]
    links = site.graph_links.setdefault(u.folder, {})
    graph_bits = site.graph_bits
    for k, other in enumerate(shown):
        bits = graph_bits.get(other) or _node_bits(site, other)
        opening = links.get(other) or _link_open(other, u, bits, links)
        parts.append(opening + _spot(bits[0], n, k) + bits[3])
    parts.append("</g></svg>")
    return {
        "svg": Markup("\n".join(parts)),
        "more": len(kinds) - n,
        "total": len(kinds),
    }
