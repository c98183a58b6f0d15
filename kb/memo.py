"""What an output keeps between builds, as site and exports see it.

The build hands each output a memo: what a long-running process kept (kb.fast.memory), or, in
a new process that updates a previous site, the pieces kept in the base's cache folder
(kb.fast.pieces). The outputs know it only by this Protocol, so that they stay plain functions
of the records when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")


class Memo(Protocol):
    """`store` is the output's own, kept from build to build; the rest says what changed, so
    that an output encodes again only the records that changed. Each output checks what its
    pieces depend on."""

    digests: Mapping[str, str | None]  # graph node -> its record's digest (None: not cached)
    world: int  # changes whenever kb.yaml, a source or an expert changes
    store: dict[str, Any]

    @property
    def structure(self) -> int:
        """Changes whenever the graph's nodes or edges (attributes included) change."""

    def digest(self, node: str) -> str | None:
        """The digest of a record this build (None: not known, make its piece again)."""


def by_digest(memo: Memo | None, nodes: Iterable[str], make: Callable[[str], _T]) -> list[_T]:
    """`make(node)` for each node, in order; with a `memo`, a piece is kept by its node's digest
    and made again only when the digest changed (or is not known). The memo's store becomes the
    pieces of this build."""
    if memo is None:
        return [make(n) for n in nodes]
    old: dict[str, Any] = memo.store
    new: dict[str, Any] = {}
    out: list[_T] = []
    for n in nodes:
        digest = memo.digest(n)
        got = old.get(n)
        if got is None or digest is None or got[0] != digest:
            got = (digest, make(n))
        if digest is not None:
            new[n] = got
        out.append(got[1])
    memo.store = new
    return out
