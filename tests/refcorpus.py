"""The reference corpus (tests/data/references/corpus.yaml) formatted by kb and by citeproc-js."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from kb.cite.claims import cite_sources
from kb.cite.csl import csl_items
from kb.cite.styles import adapt_item, load_style
from kb.model import KnowledgeBase

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "references" / "corpus.yaml"
NODE_DIR = HERE / "node"
STYLES = ("apa", "ama", "vancouver", "chicago", "mla")


def corpus() -> dict[str, dict[str, Any]]:
    """The corpus's entries by id (invented works only)."""
    data: dict[str, dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return {sid: {k: _plain(v) for k, v in entry.items()} for sid, entry in data.items()}


def _plain(value: Any) -> Any:
    """Dates as ISO text and numbers as they were written, as a YAML source file has them."""
    return value if isinstance(value, str | list | dict) else str(value)


def kb_references(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    """style -> id -> reference as plain text, as kb (pandoc's citeproc) formats it."""
    cited = cite_sources(kb, STYLES, None, jobs=2)
    return {s: {sid: c.reference_text for sid, c in cited[s].items()} for s in STYLES}


def citeproc_js(kb: KnowledgeBase, style: str) -> dict[str, str]:
    """id -> reference as plain text, as citeproc-js formats the items kb gives pandoc."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "citeproc").is_dir():
        raise RuntimeError("node and tests/node/node_modules are needed (.ci/run installs them)")
    loaded = load_style(style)
    items = [dict(adapt_item(loaded, it)) for it in csl_items(kb)]
    job = {"style": loaded.text, "items": items, "format": "html"}
    done = subprocess.run(
        [node, str(NODE_DIR / "render.js")],
        input=json.dumps(job, ensure_ascii=False).encode("utf-8"),
        capture_output=True,
        timeout=300,
        check=True,
    )
    out: dict[str, dict[str, str]] = json.loads(done.stdout)
    return {sid: v["reference"] for sid, v in out.items()}
