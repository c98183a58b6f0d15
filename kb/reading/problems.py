"""Loading checks: what is wrong with a file before its meaning is looked at."""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.codes import code, did_you_mean, problem
from kb.errors import Loc, Problem, Severity
from kb.model import Source

F = "loading"
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,79}\Z")
DATE_RE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?\Z")


@code("yaml-syntax", F)
def yaml_syntax(loc: Loc, message: str) -> Problem:
    """The file is not valid YAML.

    Reported at the place where the parser gave up, with the parser's own explanation: a tab used
    for indentation, an unclosed quote or bracket, a key with no value, a second document, a YAML
    tag (`!!python/...`) that could make the file mean something other than plain data.
    Fix: correct the YAML at that line; `kb new` writes a template that loads.
    """
    return problem("yaml-syntax", loc, message)


@code("yaml-alias", F)
def yaml_alias(loc: Loc, message: str) -> Problem:
    """The file uses a YAML anchor (`&name`) or alias (`*name`).

    Anchors and aliases let a few lines expand into gigabytes ("billion laughs") and nothing in a
    knowledge base needs them, so they are refused before anything is expanded.
    Fix: write the repeated value out in full.
    """
    return problem("yaml-alias", loc, message)


@code("yaml-too-deep", F)
def yaml_too_deep(loc: Loc, message: str) -> Problem:
    """The file nests lists or mappings more than 50 levels deep.

    No record needs more than a few levels; deeper nesting is refused where it starts, without
    reading further, so that no input can exhaust memory or the stack.
    """
    return problem("yaml-too-deep", loc, message)


@code("bad-encoding", F)
def bad_encoding(loc: Loc, message: str) -> Problem:
    """The file is not UTF-8 text, or holds a control character YAML does not allow.

    A UTF-8 byte-order mark and CRLF line endings are accepted. The line and column of the first
    bad byte are given. Fix: save the file as UTF-8. A text value that holds a control character
    written as an escape (`"\\0"`, `"\\e"`, `"\\x07"`) is refused too: no export format can
    carry a NUL, and an escape sequence would act on the terminal that shows it. Tab, line feed
    and carriage return are text. A snapshot must be UTF-8 too and may hold no control character
    but tab, line feed, form feed and carriage return (`kb snapshot` leaves the others out).
    """
    return problem("bad-encoding", loc, message)


@code("file-too-large", F)
def file_too_large(loc: Loc, size: int, limit: int) -> Problem:
    """A record file or snapshot is larger than 5 MB.

    The file is not read at all. A real record is a few kilobytes; a snapshot of a long source
    should be trimmed to an excerpt (`snapshot_scope: excerpt`).
    """
    return problem(
        "file-too-large", loc, f"file is {size:,} bytes; the limit is {limit:,} bytes: not read"
    )


# How long one text value may be: a quote, a rationale, a note or an abstract; anything else
# (a title, a name, a statement, a URL). A value is shown on many pages (a source's title on
# every page that cites it), so a received base with megabyte values would fill the disk.
TEXT_MAX_LONG = 20_000
TEXT_MAX = 4_000
LONG_TEXT_KEYS = frozenset(
    {"text", "rationale", "note", "abstract", "summary", "prefix", "suffix", "where", "what"}
)


@code("value-too-long", F)
def value_too_long(loc: Loc, key: str, length: int, limit: int) -> Problem:
    """A text value is longer than kb shows: 20,000 characters for a quote's text, a prefix or
    suffix, a rationale, a summary, a note or an abstract, 4,000 for any other (a title, a
    name, a statement, a URL).

    Each value is shown on many pages (a source's title on every page that cites it), so a
    base with values of megabytes would make a site of gigabytes. Shorten the value: quote the
    part the claim needs (an ellipsis `…` stands for the words left out), or keep a long text
    in the source's snapshot.
    """
    return problem(
        "value-too-long",
        loc,
        f"{key!r} is {length:,} characters long; at most {limit:,} are allowed",
    )


@code("unreadable", F)
def unreadable(loc: Loc, what: str, why: str) -> Problem:
    """A record file, snapshot or record folder cannot be read (permission denied, an I/O
    error).

    Reported with the system's reason; nothing in it is loaded. Fix: give yourself read access
    (`chmod u+r`), or move the file out of the knowledge base.
    """
    return problem("unreadable", loc, f"cannot read {what}: {why}")


@code("not-a-mapping", F)
def not_a_mapping(loc: Loc, what: str, got: str) -> Problem:
    """A record, or a part of it that must be a mapping of keys to values, is something else.

    An empty file, a list at the top of a file, or `quotes: [text]` where each quote must be a
    mapping with `text:` and `source:` keys.
    """
    return problem("not-a-mapping", loc, f"{what} must be a mapping of keys to values, not {got}")


@code("missing-key", F)
def missing_key(loc: Loc, key: str, what: str) -> Problem:
    """A required key is missing.

    Required: a claim's `statement`; a source's `type` and `title`; an expert's `name`; a quote's
    `text` and `source`; an evidence item's `source` and `stance`; a related item's `claim` and
    `relation`; a review's `verdict`; an origin's `source` and `text`; a role's `title`.
    """
    return problem("missing-key", loc, f"{what} needs a {key!r} key")


@code("unknown-key", F)
def unknown_key(loc: Loc, key: str, what: str, allowed: Iterable[str]) -> Problem:
    """A key that the format does not define.

    Usually a typo; the message suggests the closest known key. Sources accept every CSL-JSON
    variable name, spelled as CSL spells it (`container-title`, `DOI`, `URL`).
    """
    hint = did_you_mean(key, allowed)
    return problem("unknown-key", loc, f"unknown key {key!r} in {what}{hint}")


@code("duplicate-key", F)
def duplicate_key(loc: Loc, message: str) -> Problem:
    """A key is given twice in one mapping.

    YAML loaders silently keep the last value, which loses data; kb keeps the first and reports
    the second.
    """
    return problem("duplicate-key", loc, message)


@code("bad-type", F)
def bad_type(loc: Loc, key: str, expected: str, got: object) -> Problem:
    """A value has the wrong type, such as a list where text is expected."""
    shown = short(got)
    got_text = f"{type_name(got)} {shown}" if shown else type_name(got)
    return problem("bad-type", loc, f"{key!r} must be {expected}, not {got_text}")


@code("bad-value", F)
def bad_value(loc: Loc, key: str, value: object, allowed: Iterable[str] | str) -> Problem:
    """A value is not one of those allowed, such as a verdict or stance that does not exist.

    The message lists what is allowed and suggests the closest.
    """
    if isinstance(allowed, str):
        return problem("bad-value", loc, f"{key!r} {short(value)}: {allowed}")
    allowed = list(allowed)
    hint = did_you_mean(str(value), allowed)
    return problem(
        "bad-value",
        loc,
        f"{key!r} is {short(value)}{hint}; allowed: {', '.join(allowed)}",
    )


@code("bad-date", F)
def bad_date(loc: Loc, key: str, value: object, why: str | None = None) -> Problem:
    """A date is neither an ISO date (`2010-08-20`, `2010-08`, `2010`, a range `2010/2012`, with
    a real month and day) nor a CSL date object (`{date-parts: [[2010, 8, 20]]}`, with `season`,
    `circa`, `literal` or `raw`)."""
    reason = why or "not an ISO date (YYYY-MM-DD, YYYY-MM or YYYY)"
    return problem("bad-date", loc, f"{key!r} is {short(value)}, {reason}")


def check_date(value: str) -> bool:
    """Return True when `value` is an ISO date with a real month and day."""
    import datetime

    m = DATE_RE.match(value)
    if not m:
        return False
    year, month, day = (int(g) if g is not None else 1 for g in m.groups())
    try:  # "2010-00" and "2010-01-00" are not dates: a 0 is not a missing month or day
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


@code("bad-url", F)
def bad_url(loc: Loc, value: str) -> Problem:
    """A `URL` is not an absolute http or https address (a source's `URL` may be `ftp://`).

    `javascript:`, `data:`, `file:` and relative URLs are refused: every URL becomes a link that
    a reader may click. (An `ftp://` address is kept in a source's data and exports, and shown
    without a link.)
    """
    return problem(
        "bad-url", loc, f"URL {short(value)} must be an absolute http:// or https:// address"
    )


def check_url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    """Return True for an absolute URL of one of `schemes` with a host and no white space or
    control characters."""
    from urllib.parse import urlsplit

    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.netloc)


@code("bad-doi", F)
def bad_doi(loc: Loc, value: str) -> Problem:
    """A `DOI` does not look like `10.NNNN/suffix`.

    A DOI written as a URL (`https://doi.org/10...`) or with `doi:` is read as the bare DOI;
    registrant codes may be subdivided (`10.1000.10/x`, ISBN-A's `10.978.86123/x`).
    """
    return problem("bad-doi", loc, f"DOI {short(value)} must look like 10.NNNN/suffix")


@code("bad-id", F)
def bad_id(loc: Loc, ident: str) -> Problem:
    """A file name (the record's id) is not a valid id.

    Ids are lower-case letters, digits and `-`, 1 to 80 characters, starting with a letter or
    digit. The record is not loaded.
    """
    return problem(
        "bad-id",
        loc,
        f"id {short(ident)} must be lower-case letters, digits and '-', 1 to 80 characters, "
        "starting with a letter or digit; the record is not loaded",
    )


@code("id-mismatch", F)
def id_mismatch(loc: Loc, given: object, stem: str) -> Problem:
    """A file's own `id:` key differs from its file name, which is the id."""
    return problem("id-mismatch", loc, f"id {short(given)} differs from the file name {stem!r}")


@code("duplicate-id", F)
def duplicate_id(loc: Loc, ident: str, other: str) -> Problem:
    """Two records of one kind have the same id (`x.yaml` and `x.yml` in one folder)."""
    return problem("duplicate-id", loc, f"id {ident!r} is already used by {other}")


@code("stray-file", F, Severity.WARNING)
def stray_file(loc: Loc, name: str, hint: str) -> Problem:
    """A file in claims/, experts/ or sources/ that is neither a record nor a snapshot.

    It is skipped, as is a folder inside them. Records are `.yaml` (or `.yml`) files; any other
    file in sources/ is a snapshot only when a source names it (or is `<id>.txt` for a source
    `<id>`).
    """
    return problem("stray-file", loc, f"{name} is skipped: {hint}")


@code("unsafe-path", F)
def unsafe_path(loc: Loc, name: str, why: str) -> Problem:
    """A file or snapshot name that would read outside the knowledge base.

    Symbolic links that lead outside the knowledge base directory, snapshot names with a
    directory part (`../../etc/passwd`), and files that are not regular files (a named pipe would
    make kb wait forever, a device could be endless) are refused and not read.
    """
    return problem("unsafe-path", loc, f"{short(name)} is refused: {why}")


def type_name(value: object) -> str:
    """Describe a YAML value's type in the format's words."""
    if value is None:
        return "empty"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def short(value: object, limit: int = 60) -> str:
    """Quote a value for a message, cut to `limit` characters, on one line."""
    text = repr(value) if not isinstance(value, (list, dict)) else ""
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…'"


@code("snapshot-changed", "quotes")  # a quote check, found while loading
def snapshot_changed(src: Source, digest: str) -> Problem:
    """A snapshot's SHA-256 differs from the `snapshot_sha256` its source records.

    The archived text was edited after it was recorded. If the change is intended, record the new
    hash; every review that saw the old text becomes stale.
    """
    return problem(
        "snapshot-changed",
        src.where.at("snapshot_sha256"),
        f"sources/{src.snapshot} has SHA-256 {digest[:12]}…, not the recorded "
        f"{(src.snapshot_sha256 or '')[:12]}…: the archived text changed",
        f"source:{src.id}",
    )
