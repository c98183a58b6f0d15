"""The text of a saved page, a PDF or a text file, for a snapshot quotes are checked against.

HTML: the main text, extracted by trafilatura (menus, footers and scripts left out; entities
decoded), one heading or paragraph a line, with a blank line between. PDF: the text of every
page (pypdf), with words hyphenated at a line break joined again. Text: as it is.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from kb.errors import KBError

MARKUP_RE = re.compile(
    r"<!doctype\s+html|<html[\s>]|</?(?:head|body|div|span|p|a|br|li|ul|ol|h[1-6]|script|style"
    r"|meta|link|table|tr|td|img|section|article|nav|footer)\b[^>]{0,300}>"
    r"|&(?:amp|nbsp|quot|lt|gt|rsquo|lsquo|ldquo|rdquo|mdash|ndash|hellip|#\d{1,6}|#x[0-9a-f]{1,6});",
    re.IGNORECASE,
)


# Control characters a snapshot is not to hold (tab, line feed, form feed and carriage return
# are text); kb.reading.files reports them in a snapshot as bad-encoding.
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Extracted:
    """The text made from a document, what kind of document it was, and how many control
    characters were left out of it."""

    text: str
    kind: str  # "html" | "pdf" | "text"
    dropped: int = 0


def kind_of(data: bytes, name: str, content_type: str | None = None) -> str:
    """Whether the bytes are a PDF, an HTML page or plain text: by the content type, the name's
    ending, then the first bytes."""
    ct = (content_type or "").split(";")[0].strip().lower()
    low = name.lower()
    if ct == "application/pdf" or low.endswith(".pdf") or data[:5] == b"%PDF-":
        return "pdf"
    if ct in ("text/html", "application/xhtml+xml") or low.endswith((".html", ".htm", ".xhtml")):
        return "html"
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in head:
        return "html"
    return "text"


def looks_like_markup(text: str) -> int:
    """How many tags and entities of HTML the text holds (0 for a clean snapshot)."""
    return len(MARKUP_RE.findall(text[:200_000]))


def _decode(data: bytes, name: str) -> str:
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
    for enc in ("utf-8-sig", "utf-16") if utf16 else ("utf-8-sig",):
        try:
            return data.decode(enc)
        except UnicodeDecodeError as exc:
            bad = exc
    line = data.count(b"\n", 0, bad.start) + 1
    raise KBError(
        f"{name} is not UTF-8 text (byte 0x{data[bad.start]:02x} on line {line}): save it as "
        "UTF-8 first (e.g. `iconv -f latin1 -t utf-8`)"
    )


def html_text(data: bytes, name: str) -> str:
    """The main text of an HTML page, one heading or paragraph a line."""
    import trafilatura

    text = trafilatura.extract(
        data,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_links=False,
        favor_recall=True,
        deduplicate=False,
    )
    if not text or not text.strip():
        raise KBError(f"{name}: no main text was found in the page")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n\n".join(line for line in lines if line) + "\n"


_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\r?\n[ \t]*(?=[^\W\d_A-Z])")


def pdf_text(data: bytes, name: str) -> str:
    """The text of every page of a PDF, words hyphenated at a line break joined again."""
    import logging

    from pypdf import PdfReader

    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its warnings about a damaged file: the error below says it
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # a damaged or hostile file may fail anywhere in the parser
        raise KBError(f"{name}: pypdf cannot read this PDF: {exc}") from exc
    finally:
        quiet.setLevel(level)
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise KBError(f"{name}: the PDF has no text layer (a scan?); save its text by hand")
    text = _HYPHEN_BREAK.sub("", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def extract(data: bytes, name: str, content_type: str | None = None) -> Extracted:
    """The snapshot text of a document."""
    kind = kind_of(data, name, content_type)
    if kind == "pdf":
        text = pdf_text(data, name)
    elif kind == "html":
        text = html_text(data, name)
    else:
        text = _decode(data, name).replace("\r\n", "\n")
        text = text if text.endswith("\n") else text + "\n"
    clean, dropped = CONTROL_RE.subn("", text)
    return Extracted(clean, kind, dropped)
