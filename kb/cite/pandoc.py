"""Run the pandoc binary that pypandoc-binary ships: argv lists, stdin, a timeout, clear errors."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from kb.errors import KBError


class PandocError(KBError):
    """Pandoc is missing, failed or took too long; the message says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=1)


@cache
def pandoc_path() -> str:
    """Return the pandoc executable: $KB_PANDOC, pypandoc-binary's copy, or pandoc on PATH."""
    override = os.environ.get("KB_PANDOC")
    if override:
        return override
    spec = importlib.util.find_spec("pypandoc")
    if spec and spec.origin:  # found without importing pypandoc (its import takes 50 ms)
        shipped = Path(spec.origin).parent / "files" / "pandoc"
        if shipped.is_file() and os.access(shipped, os.X_OK):
            return str(shipped)
    found = shutil.which("pandoc")
    if found:
        return found
    raise PandocError(
        "pandoc was not found: install it with `pip install pypandoc-binary` "
        "(or set KB_PANDOC to a pandoc executable)"
    )


def run_pandoc(args: list[str], stdin: str, timeout: float, what: str) -> str:
    """Run pandoc with `args`, feeding `stdin`; return its standard output as text.

    `what` names the job in error messages ("APA references for 120 sources").
    """
    argv = [pandoc_path(), *args]
    try:
        done = subprocess.run(
            argv,
            input=stdin.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PandocError(f"pandoc took longer than {timeout:.0f} s on {what}") from exc
    except OSError as exc:
        raise PandocError(f"cannot run pandoc ({argv[0]}) for {what}: {exc}") from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").split("stack traceback:")[0]
        lines = [line.strip() for line in err.strip().splitlines() if line.strip()]
        detail = "; ".join(lines[-3:]) or f"exit status {done.returncode}"
        raise PandocError(f"pandoc failed on {what}: {detail}")
    return done.stdout.decode("utf-8", "replace")


@cache
def pandoc_version() -> str:
    """Return pandoc's version line, e.g. `pandoc 3.9` (part of every citation cache key)."""
    out = run_pandoc(["--version"], "", 30, "a version check")
    return out.splitlines()[0].strip() if out else "pandoc"
