"""`kb import`: sources from the references people already have, one file each in sources/."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.cli import COMMANDS
from kb.errors import KBError
from kb.model import KnowledgeBase

if TYPE_CHECKING:  # the handlers import the readers: `kb --help` loads none of them
    from kb.reading.bibliography import Entry

DOI_RESOLVER = "https://doi.org"
CSL_JSON = "application/vnd.citationstyles.csl+json"
# The order of the first keys of a written source; the rest follow in the item's order.
FIRST_KEYS = ("type", "title", "author", "editor", "issued", "container-title", "volume",
              "issue", "page", "publisher", "DOI", "URL")  # fmt: skip


def register(sub: Any) -> None:
    """Add the `import` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "import",
        help=COMMANDS["import"].summary,
        description="Write one sources/<id>.yaml for each entry of CSL-JSON (Zotero, Better "
        "BibTeX, citation-js, Manubot), BibTeX or BibLaTeX (read by pandoc) and RIS files, or "
        "of each DOI (its CSL-JSON from doi.org). The id is made from the entry's citation "
        "key, which is kept as `citation-key` (kb export csl-json gives it back as the item's "
        "id, so drafts keep their keys). An entry with the DOI of a source already there, or "
        "its title, year and first author, is reported as a duplicate and not written.",
        epilog="examples:\n  kb import zotero.json refs.bib refs.ris --dry-run\n"
        "  kb import --doi 10.1126/science.1190287",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help=".json, .bib or .ris")
    p.add_argument("--doi", nargs="+", default=[], metavar="DOI", help="DOIs to look up")
    p.add_argument(
        "--dry-run", action="store_true", help="say what would be written, write nothing"
    )
    p.add_argument(
        "--resolver",
        default=os.environ.get("KB_DOI_RESOLVER", DOI_RESOLVER),
        help=f"where DOIs are looked up (default: $KB_DOI_RESOLVER, else {DOI_RESOLVER})",
    )
    p.set_defaults(func=cmd_import)


def fetch_doi(doi: str, resolver: str) -> dict[str, Any]:
    """The CSL-JSON item of a DOI, by content negotiation. Raise KBError saying why not."""
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"{resolver.rstrip('/')}/{urllib.parse.quote(doi, safe='/()<>;:')}"
    req = urllib.request.Request(url, headers={"Accept": CSL_JSON, "User-Agent": "kb import"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read(5 * 1024 * 1024)
    except urllib.error.HTTPError as exc:
        why = "no such DOI" if exc.code == 404 else f"HTTP {exc.code} {exc.reason}"
        raise KBError(f"DOI {doi}: {why} ({url})", 1) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise KBError(f"DOI {doi}: cannot reach {resolver}: {exc}", 1) from exc
    try:
        item = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise KBError(f"DOI {doi}: {url} did not answer with CSL-JSON", 1) from exc
    if not isinstance(item, dict):
        raise KBError(f"DOI {doi}: {url} did not answer with one CSL-JSON item", 1)
    return item


def _norm(text: Any) -> str:
    return " ".join(re.findall(r"\w+", str(text or "").casefold()))


def _year(item: dict[str, Any]) -> str:
    from kb.reading.csl import date_text

    found = re.search(r"\d{4}", date_text(item.get("issued")))
    return found.group() if found else ""


def _first_author(item: dict[str, Any]) -> str:
    names = item.get("author") or item.get("editor") or []
    first = names[0] if isinstance(names, list) and names else {}
    return _norm(first.get("family") or first.get("literal") or first.get("given"))


def dup_keys(item: dict[str, Any]) -> list[tuple[str, str]]:
    """What makes two items the same work, as (what to say, key): the DOI; the title, year and
    first author."""
    keys = []
    if item.get("DOI"):
        keys.append(("DOI", f"doi:{str(item['DOI']).lower()}"))
    if item.get("title"):
        keys.append(("title, year and first author",
                     f"t:{_norm(item['title'])}|{_year(item)}|{_first_author(item)}"))  # fmt: skip
    return keys


# What has each duplicate key: the source files, each with its citation key.
Seen = dict[str, list[tuple[str, str | None]]]


def _seen(kb: KnowledgeBase) -> Seen:
    seen: Seen = {}
    for sid, src in sorted(kb.sources.items()):
        ckey = src.csl.get("citation-key")
        for _what, key in dup_keys(dict(src.csl)):
            seen.setdefault(key, []).append((f"sources/{sid}.yaml", str(ckey) if ckey else None))
    return seen


def _duplicate(item: dict[str, Any], seen: Seen) -> tuple[str, str] | None:
    """(what is the same, the file it is the same as) when `item` is already there. Two items
    with the same title, year and first author but different citation keys are two records
    (Better BibTeX's smith2020 and smith2020a, citation-js's @book and @manual of one work): a
    draft cites each, so both are written."""
    ckey = item.get("citation-key")
    for what, key in dup_keys(item):
        for path, other in seen.get(key, []):
            if not (key.startswith("t:") and ckey and other and ckey != other):
                return what, path
    return None


def source_yaml(item: dict[str, Any], origin: str) -> str:
    """A source file: a comment saying where it came from, then its keys in a readable order."""
    import yaml

    ordered = {k: item[k] for k in FIRST_KEYS if k in item}
    ordered.update((k, v) for k, v in item.items() if k not in ordered)
    body = yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=96)
    return f"# imported by `kb import` from {origin}\n{body}"


def _entries(args: argparse.Namespace) -> list[Entry]:
    from kb.reading.bibliography import Entry, read_file

    entries: list[Entry] = []
    for path in args.files:
        entries.extend(read_file(path))
    for doi in args.doi:
        item = fetch_doi(doi, args.resolver)
        item.pop("id", None)  # a resolver's id is no citation key
        entries.append(Entry(item, None, f"doi.org, DOI {doi}"))
    return entries


def cmd_import(args: argparse.Namespace) -> int:
    """Run `kb import`."""
    from kb.reading.bibliography import clean, kb_id
    from kb.reading.load import load_kb

    if not args.files and not args.doi:
        raise KBError("give files to import, or --doi DOI")
    kb, _problems = load_kb(args.root)
    entries = _entries(args)
    seen = _seen(kb)
    taken = set(kb.sources) | {
        p.stem for p in (Path(args.root) / "sources").glob("*.y*ml")
    }  # fmt: skip
    wrote = dups = 0
    verb = "would write" if args.dry_run else "wrote"
    for entry in entries:
        item = clean(entry)
        dup = _duplicate(item, seen)
        if dup is not None:
            print(f"{entry.origin}: duplicate of {dup[1]} (same {dup[0]}): not written")
            dups += 1
            continue
        ident = base = kb_id(entry.key, item)
        n = 2
        while ident in taken:
            ident = f"{base[:76]}-{n}"
            n += 1
        taken.add(ident)
        path = Path(args.root) / "sources" / f"{ident}.yaml"
        for _what, key in dup_keys(item):
            seen.setdefault(key, []).append((f"sources/{ident}.yaml", entry.key))
        key = f" (key {entry.key})" if entry.key and entry.key != ident else ""
        title = item.get("title", "(no title)")
        print(f"{entry.origin}: {verb} sources/{ident}.yaml{key}: {title}")
        for note in entry.notes:
            print(f"  note: {note}")
        if not args.dry_run:
            _write(path, source_yaml(item, entry.origin))
        wrote += 1
    done = "to write" if args.dry_run else "written"
    print(f"{wrote} source(s) {done}, {dups} duplicate(s) not written")
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise KBError(f"cannot write {path}: {exc.strerror}") from exc
