"""A persistent cache of formatted citations: one JSON file per style under `.kb-cache/`.

Entries are stored per group of items that can affect each other (see kb.cite.citeproc), keyed by a
hash of the style, pandoc's version and the group's CSL data, so a change to one source
reformats only its group, and a new source that makes an old one ambiguous reformats both.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One item formatted in one style: pandoc's HTML of its reference and of its citation."""

    reference_html: str
    intext_html: str


class CiteCache:
    """The formatted groups of one style; without a directory it only lives in memory."""

    def __init__(self, cache_dir: Path | None, style_digest: str) -> None:
        self.path = cache_dir / f"citations-{style_digest[:24]}.json" if cache_dir else None
        self.groups: dict[str, dict[str, Entry]] = {}
        self.used: set[str] = set()
        self.changed = False
        if self.path is not None:
            self.groups = _read(self.path)

    def get(self, digest: str) -> dict[str, Entry] | None:
        """Return a group's entries (item id -> entry), or None when not cached."""
        hit = self.groups.get(digest)
        if hit is not None:
            self.used.add(digest)
        return hit

    def put(self, digest: str, entries: dict[str, Entry]) -> None:
        """Remember a group's entries."""
        self.groups[digest] = entries
        self.used.add(digest)
        self.changed = True

    def save(self, prune: bool = False) -> None:
        """Write the file atomically if anything changed; `prune` drops groups not used now."""
        if self.path is None:
            return
        if prune and set(self.groups) - self.used:
            self.groups = {d: e for d, e in self.groups.items() if d in self.used}
            self.changed = True
        if not self.changed:
            return
        data = {
            "format": FORMAT,
            "groups": {
                d: {i: [e.reference_html, e.intext_html] for i, e in sorted(g.items())}
                for d, g in sorted(self.groups.items())
            },
        }
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".citations-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
                os.chmod(tmp, 0o644)  # mkstemp makes it private; it holds nothing secret
                os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        self.changed = False


def _read(path: Path) -> dict[str, dict[str, Entry]]:
    """Read a cache file; a missing, damaged or older one is an empty cache."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # damaged, or nested past what JSON reads
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    groups: dict[str, dict[str, Entry]] = {}
    raw = data.get("groups")
    if not isinstance(raw, dict):
        return {}
    for digest, entries in raw.items():
        if not isinstance(entries, dict):
            continue
        ok = {
            i: Entry(str(v[0]), str(v[1]))
            for i, v in entries.items()
            if isinstance(v, list) and len(v) == 2
        }
        if len(ok) == len(entries):
            groups[digest] = ok
    return groups
