"""Whether this process may fork a helper."""

from __future__ import annotations

import os
import sys
import threading


def fork_is_safe() -> bool:
    """True where this process may fork a helper: a POSIX system other than macOS (whose
    system libraries may not be used after fork), with no other thread running."""
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    return threading.active_count() == 1  # fork() copies no other thread: their locks may hang
