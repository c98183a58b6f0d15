"""What an export keeps between the builds of a long-running process."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Memo:
    """What an export keeps between the builds of a long-running process (`kb serve`), so that
    it encodes again only the records that changed: `store` is its own, kept from build to
    build; the rest says what changed. Each export checks what its pieces depend on.
    """

    digests: Mapping[str, str | None]  # graph node -> its record's digest (None: not cached)
    world: int  # changes whenever kb.yaml, a source or an expert changes
    structure: int  # changes whenever the graph's nodes or edges (attributes included) change
    store: dict[str, Any] = field(default_factory=dict)

    def digest(self, node: str) -> str | None:
        """The digest of a record this build (None: not known, make its piece again)."""
        return self.digests.get(node)
