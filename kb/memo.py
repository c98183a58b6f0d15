"""What an output keeps between the builds of a long-running process, as site and exports see it.

The build (through kb.fast.memory) hands each output a memo; the outputs know it only by this
Protocol, so that they stay plain functions of the records when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Memo(Protocol):
    """`store` is the output's own, kept from build to build; the rest says what changed, so
    that an output encodes again only the records that changed. Each output checks what its
    pieces depend on."""

    digests: Mapping[str, str | None]  # graph node -> its record's digest (None: not cached)
    world: int  # changes whenever kb.yaml, a source or an expert changes
    structure: int  # changes whenever the graph's nodes or edges (attributes included) change
    store: dict[str, Any]

    def digest(self, node: str) -> str | None:
        """The digest of a record this build (None: not known, make its piece again)."""
