"""Write with claims: run pandoc on a draft with the base's sources as its bibliography and a
filter that turns `[@claim:ID]` into the claim's verified quote, its speaker and its citation.

The claims a draft cites are found before pandoc runs; a claim that is disputed (misleading,
inaccurate) or whose quote is not verified stops the run unless overridden, as `kb cite` does.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kb.cite.claims import refused, voice
from kb.cite.csl import csl_items, dumps
from kb.cite.pandoc import PandocError, pandoc_path
from kb.cite.styles import load_style
from kb.errors import KBError, Problem
from kb.model import Claim, ClaimId, KnowledgeBase

# A citation key as pandoc's Markdown reads it: @key or @{key}; a claim's is claim:ID.
_KEY = re.compile(r"(?<![\w@])@\{?([A-Za-z0-9_][\w:.#$%&+?<>~/-]*?)\}?(?=[\s;\],.!?)]|$)", re.M)
MAX_DRAFT = 5 * 1024 * 1024
TIMEOUT = 600.0


@dataclass
class Cited:
    """What a draft cites: claims and sources, and the keys that name neither."""

    claims: list[str]
    sources: list[str]
    unknown: list[str]


def cited_keys(text: str, kb: KnowledgeBase) -> Cited:
    """The claims and sources a draft cites (in order of first citation)."""
    claims: list[str] = []
    sources: list[str] = []
    unknown: list[str] = []
    for key in dict.fromkeys(m.group(1) for m in _KEY.finditer(text)):
        if key.startswith("claim:"):
            cid = key[6:]
            (claims if cid in kb.claims else unknown).append(cid if cid in kb.claims else key)
        elif key in kb.sources:
            sources.append(key)
    return Cited(claims, sources, unknown)


def claim_data(kb: KnowledgeBase, claim: Claim) -> dict[str, str | None]:
    """What the filter puts in the draft for a claim: its first quote, the speaker as the source
    attributes them (name and credentials; the source's own voice when none), source, locator."""
    if not claim.quotes:
        raise KBError(f"claim {claim.id} has no quote to put in a draft; cite its sources instead")
    q = claim.quotes[0]
    person = kb.experts.get(q.speaker) if q.speaker else None
    if person is not None:
        speaker: str | None = person.name + (
            f", {person.credentials}" if person.credentials else ""
        )
    else:
        src = kb.sources.get(q.source)
        speaker = voice(src) if src is not None else None
    return {"quote": q.text, "speaker": speaker, "source": q.source, "locator": q.locator}


def refusals(kb: KnowledgeBase, claims: list[str], changed: list[Problem]) -> list[str]:
    """Why each cited claim cannot go into a draft (disputed, or a quote not verified)."""
    out = []
    for cid in claims:
        why = refused(kb, kb.claims[ClaimId(cid)], changed)
        if why:
            out.append(why)
    return out


def _style_file(style: str, root: Path, tmp: Path) -> Path:
    """The CSL file pandoc is given: the style's own, or its parent's for a dependent style."""
    loaded = load_style(style, root)
    raw = loaded.path.read_text(encoding="utf-8-sig")
    if "<citation" in raw:
        return loaded.path
    path = tmp / "style.csl"
    path.write_text(loaded.text, encoding="utf-8")
    return path


def run(kb: KnowledgeBase, draft: Path, claims: list[str], style: str, extra: list[str]) -> int:
    """Run pandoc on `draft` with the base's bibliography, the style and the claims filter;
    pandoc's own options in `extra` (output file, format). Returns pandoc's exit code."""
    data = {"claims": {cid: claim_data(kb, kb.claims[ClaimId(cid)]) for cid in claims}}
    lua = resources.files("kb").joinpath("data/claims.lua")
    with tempfile.TemporaryDirectory(prefix="kb-pandoc-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "claims.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        (tmp / "refs.json").write_text(dumps(csl_items(kb)), encoding="utf-8")
        (tmp / "claims.lua").write_text(lua.read_text(encoding="utf-8"), encoding="utf-8")
        argv = [
            pandoc_path(),
            str(draft),
            "--lua-filter", str(tmp / "claims.lua"),
            "-M", f"kb-data={tmp / 'claims.json'}",
            "--citeproc",
            "--bibliography", str(tmp / "refs.json"),
            "--csl", str(_style_file(style, kb.root, tmp)),
            *[a for a in extra if a not in ("--citeproc", "-C")],
        ]  # fmt: skip
        try:
            done = subprocess.run(argv, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PandocError(f"pandoc took longer than {TIMEOUT:.0f} s on {draft}") from exc
        except OSError as exc:
            raise PandocError(f"cannot run pandoc ({argv[0]}): {exc}") from exc
    return done.returncode


def read_draft(path: Path) -> str:
    """The draft's text (a regular file, UTF-8, at most 5 MB)."""
    try:
        if not path.is_file():
            raise KBError(f"{path}: not a file")
        if path.stat().st_size > MAX_DRAFT:
            raise KBError(f"{path}: larger than 5 MB")
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise KBError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise KBError(f"{path}: not UTF-8 text") from exc
