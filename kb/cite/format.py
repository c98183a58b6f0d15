"""Turn pandoc's citation HTML into plain text or Markdown, and lay out a cited claim."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import ClassVar

_TAG = re.compile(r"<[^>]*>")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>^~@$|])")


def html_to_text(fragment: str) -> str:
    """Return the plain text of an HTML fragment: tags dropped, entities decoded."""
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def md_escape(text: str) -> str:
    """Escape text so that pandoc's Markdown reads it back literally."""
    return _MD_SPECIAL.sub(r"\\\1", text)


class _ToMarkdown(HTMLParser):
    """Convert the inline HTML that pandoc's citeproc writes (em, strong, a, sup, sub, span)."""

    MARKS: ClassVar[dict[str, str]] = {
        "em": "*",
        "i": "*",
        "strong": "**",
        "b": "**",
        "sup": "^",
        "sub": "~",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, str, int]] = []  # (tag, closing text, start index)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        close = ""
        if tag in self.MARKS:
            self.out.append(self.MARKS[tag])
            close = self.MARKS[tag]
        elif tag == "span" and "smallcaps" in (a.get("class") or ""):
            self.out.append("[")
            close = "]{.smallcaps}"
        elif tag == "a":
            close = "\0a" + (a.get("href") or "")
        elif tag == "br":
            self.out.append("\\\n")
            return
        self.stack.append((tag, close, len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, close, start = self.stack.pop()
            if close.startswith("\0a"):
                href, text = close[2:], "".join(self.out[start:])
                del self.out[start:]
                plain = html_to_text(text)
                self.out.append(f"<{href}>" if plain == href or not text else f"[{text}]({href})")
            else:
                self.out.append(close)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.out.append(md_escape(data))


def html_to_markdown(fragment: str) -> str:
    """Return pandoc Markdown for an inline HTML fragment from pandoc's citeproc."""
    parser = _ToMarkdown()
    parser.feed(fragment)
    parser.close()
    while parser.stack:
        parser.handle_endtag(parser.stack[-1][0])
    return " ".join("".join(parser.out).split(" ")).strip()


@dataclass
class QuoteBlock:
    """One quote of a claim, ready to print: words, who said them, and the citation."""

    text: str
    speaker: str
    attribution: str | None
    intext_html: str
    reference_html: str
    locator: str | None = None
    origin: str | None = None  # reference HTML of the first appearance, or a note
    notes: list[str] = field(default_factory=list)


@dataclass
class ClaimBlock:
    """A cited claim: statement, verdict line (None when accurate), quotes."""

    claim_id: str
    statement: str
    verdict_line: str | None
    quotes: list[QuoteBlock]
    references: list[str] = field(default_factory=list)  # when there is no quote
    attribution_line: str | None = None  # whether the words are the speaker's


def _said(q: QuoteBlock) -> str:
    """`— Name, credentials`, with the source's own words about the speaker when recorded."""
    return f"— {q.speaker}" + (f"; attributed as “{q.attribution}”" if q.attribution else "")


def render_block(block: ClaimBlock, fmt: str) -> str:
    """Render a cited claim as `text`, `markdown` or `html`."""
    if fmt == "html":
        return _render_html(block)
    md = fmt == "markdown"
    conv = html_to_markdown if md else html_to_text
    esc = md_escape if md else (lambda s: s)
    lines = [f"**{block.claim_id}**: {esc(block.statement)}" if md else
             f"{block.claim_id}: {block.statement}"]  # fmt: skip
    if block.verdict_line:
        lines.append(esc(block.verdict_line))
    if block.attribution_line:
        lines.append(esc(block.attribution_line))
    for q in block.quotes:
        lines.append("")
        said = _said(q)
        if md:
            lines += [f"> {esc(q.text)}", ">", f"> {esc(said)}", ""]
        else:
            lines += [f"“{q.text}”", f"  {said}"]
        pad, br = ("- ", "") if md else ("  ", "")
        lines.append(f"{pad}In text: {conv(q.intext_html)}{br}")
        if q.locator:
            lines.append(f"{pad}Locator: {esc(q.locator)}{br}")
        lines.append(f"{pad}Reference: {conv(q.reference_html)}{br}")
        if q.origin:
            lines.append(f"{pad}Earliest found in: {conv(q.origin)}{br}")
        lines += [f"{pad}{esc(n)}{br}" for n in q.notes]
    if block.references:
        lines += ["", "No quote is recorded; the evidence cited for it:"]
        lines += [f"- {conv(r)}" for r in block.references]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _render_html(block: ClaimBlock) -> str:
    e = html.escape
    out = [f'<article class="kb-cite" data-claim="{e(block.claim_id)}">',
           f'<p class="kb-cite-claim">{e(block.statement)}</p>']  # fmt: skip
    if block.verdict_line:
        out.append(f'<p class="kb-cite-verdict">{e(block.verdict_line)}</p>')
    if block.attribution_line:
        out.append(f'<p class="kb-cite-attribution">{e(block.attribution_line)}</p>')
    for q in block.quotes:
        said = _said(q)
        out += [
            f"<blockquote><p>{e(q.text)}</p></blockquote>",
            f'<p class="kb-cite-speaker">{e(said)}</p>',
            f'<p class="kb-cite-intext">{q.intext_html}</p>',
        ]
        if q.locator:
            out.append(f'<p class="kb-cite-locator">{e(q.locator)}</p>')
        out.append(f'<div class="csl-entry">{q.reference_html}</div>')
        if q.origin:
            out.append(f'<p class="kb-cite-origin">Earliest found in: {q.origin}</p>')
        out += [f'<p class="kb-cite-note">{e(n)}</p>' for n in q.notes]
    out += [f'<div class="csl-entry">{r}</div>' for r in block.references]
    out.append("</article>")
    return "\n".join(out) + "\n"
