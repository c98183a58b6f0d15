"""`kb snapshot SOURCE FILE|URL`: archive the text quotes are checked against."""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path
from typing import Any

from kb.cli import COMMANDS
from kb.cli.review import _today
from kb.codes import did_you_mean
from kb.errors import KBError

MAX_DOCUMENT = 50 * 1024 * 1024  # a saved page or a PDF may be larger than its text
SUFFIX = {"html": ".html", "pdf": ".pdf", "text": ".txt"}


def register(sub: Any) -> None:
    """Add the `snapshot` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "snapshot",
        help=COMMANDS["snapshot"].summary,
        description="Write the text of a document as the snapshot of SOURCE (sources/<id>.txt, "
        "or the file its `snapshot:` names): the main text of an HTML page (trafilatura: "
        "entities decoded, a heading or paragraph a line), the text of a PDF (pypdf: words "
        "hyphenated at line breaks joined), or a text file as it is. The source records the "
        "snapshot's SHA-256 (snapshot_sha256), the date (snapshot_retrieved) and what it was "
        "made from (snapshot_from); the rest of its file is kept as it was.",
        epilog="examples:\n  kb snapshot my-article saved-page.html --keep-original\n"
        "  kb snapshot my-article paper.pdf --replace\n"
        "  kb snapshot my-article https://example.org/story --replace",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", help="a source id (sources/<id>.yaml)")
    p.add_argument("document", metavar="FILE|URL", help="a file, a file:// or an http(s) URL")
    p.add_argument(
        "--keep-original",
        action="store_true",
        help="also keep the document itself beside the snapshot (sources/<id>.orig.html, ...)",
    )
    p.add_argument("--replace", action="store_true", help="replace an existing snapshot")
    p.add_argument(
        "--excerpt",
        action="store_true",
        help="the text is only part of the source (snapshot_scope: excerpt)",
    )
    p.add_argument("--date", help="retrieval date (default: today, or SOURCE_DATE_EPOCH)")
    p.set_defaults(func=cmd_snapshot)


def fetch(document: str) -> tuple[bytes, str, str | None, str]:
    """(the bytes, a name for messages, the content type, what to record as made from)."""
    import urllib.error  # here: `kb --help` need not load the HTTP client
    import urllib.parse
    import urllib.request

    scheme = urllib.parse.urlsplit(document).scheme.lower()
    if scheme in ("http", "https"):
        req = urllib.request.Request(document, headers={"User-Agent": "kb snapshot"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                data = resp.read(MAX_DOCUMENT + 1)
                ctype = resp.headers.get("Content-Type")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise KBError(f"cannot fetch {document}: {exc}", 1) from exc
        if len(data) > MAX_DOCUMENT:
            raise KBError(f"{document} is larger than {MAX_DOCUMENT:,} bytes")
        return data, document, ctype, document
    if scheme == "file":
        path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(document).path))
    elif scheme and len(scheme) > 1:
        raise KBError(f"{document}: only files, file:// and http(s) URLs can be archived")
    else:
        path = Path(document)
    from kb.reading.safe import read_input

    return read_input(path, MAX_DOCUMENT), str(path), None, path.name


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Run `kb snapshot`."""
    from kb.reading.edit import edit_file
    from kb.reading.extract import extract
    from kb.reading.load import load_kb
    from kb.reading.yamlio import MAX_BYTES

    kb, _problems = load_kb(args.root)
    src = kb.sources.get(args.source)
    if src is None:
        raise KBError(f"no source {args.source!r}{did_you_mean(args.source, kb.sources)}")
    folder = Path(args.root) / "sources"
    name = src.snapshot or f"{src.id}.txt"
    target = folder / name
    if (target.exists() or target.is_symlink()) and not args.replace:
        raise KBError(f"{target} exists; pass --replace to replace it (nothing was written)")
    date = _today(args.date)
    data, shown, ctype, made_from = fetch(args.document)
    got = extract(data, shown, ctype)
    body = got.text.encode("utf-8")
    if len(body) > MAX_BYTES:
        raise KBError(f"the text of {shown} is {len(body):,} bytes, over the {MAX_BYTES:,} limit")
    original = f"{src.id}.orig{SUFFIX[got.kind]}" if args.keep_original else None
    _write(target, body)
    if original:
        _write(folder / original, data)
    digest = hashlib.sha256(body).hexdigest()
    fetched = made_from.startswith(("http://", "https://"))

    def record(m: Any) -> None:
        if src.snapshot is None and name != f"{src.id}.txt":
            m["snapshot"] = name
        m["snapshot_sha256"] = digest
        m["snapshot_retrieved"] = date
        m["snapshot_from"] = made_from
        if original:
            m["snapshot_original"] = original
        if args.excerpt:
            m["snapshot_scope"] = "excerpt"
        if fetched and not m.get("URL"):
            m["URL"] = made_from
        if fetched and not m.get("accessed"):
            m["accessed"] = date

    edit_file(Path(args.root) / src.where.file, record, src.where.file)
    words = len(got.text.split())
    print(f"wrote sources/{name}: {words} word(s) of {got.kind} from {shown}"
          + (f"; the original is sources/{original}" if original else ""))  # fmt: skip
    if got.dropped:
        print(f"  note: {got.dropped} control character(s) left out (a snapshot is text)")
    return 0


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KBError(f"cannot write {path}: {exc.strerror}") from exc
