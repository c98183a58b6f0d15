"""Pausing Python's cyclic garbage collector around work that makes many objects and no cycles.

Loading a base, indexing it and rendering pages make millions of objects that either live to
the end of a build or are freed by reference counting; a collection scans every young object,
so collections during that work cost a fifth of it, and the first one after it (when the
collector resumes, with every object made meanwhile still young) scans them all at once: 0.1 s
at 10,000 claims. So what was made while paused is moved past the young generations without
a scan when the pause ends, or frozen (`gc.freeze`) for the rest of a build.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector; when the pause ends, the objects made meanwhile are
    not scanned: they are frozen with `freeze` (kept out of collections, and out of the pages
    a forked worker copies, until the caller unfreezes them: see kb.build.build), else moved
    to the oldest generation, which is collected only when it has grown by a quarter."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        elif was and not gc.get_freeze_count():  # the outermost pause; nothing frozen before
            gc.freeze()  # every young object to the permanent generation, counts reset...
            gc.unfreeze()  # ...then to the oldest one: no scan of what was made
        if was:
            gc.enable()
