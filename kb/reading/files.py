"""Where a knowledge base keeps what is not a record: its cache folder."""

from __future__ import annotations

from pathlib import Path


def cache_dir(root: Path) -> Path | None:
    """Return the cache folder of the base at `root`, or None (no cache) when it is a link.

    A knowledge base is data from anyone: a `.kb-cache` that links elsewhere must not make kb
    write there. Without it citations are only slower.
    """
    path = Path(root) / ".kb-cache"
    if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(root.resolve())):
        return None
    return path
