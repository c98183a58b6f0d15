"""Load a knowledge base directory into typed records, collecting every problem in one pass."""

from __future__ import annotations

import os
from pathlib import Path

from kb.codes import CODES, apply_severity
from kb.errors import Loc, Problem, Severity, printable
from kb.model import KINDS, STYLE_FILES, Config, KnowledgeBase, Located, Source
from kb.reading import problems as L
from kb.reading import schema as S
from kb.reading.fields import RecordReader
from kb.reading.files import (
    ParseCache,
    ReadingSource,
    StartHelper,
    _inside,
    read_file,
    read_snapshot,
)
from kb.reading.records import BUILDERS

RECORD_SUFFIXES = (".yaml", ".yml")


def load_kb(
    root: Path, cache: ParseCache | None = None, helper: StartHelper | None = None
) -> tuple[KnowledgeBase, list[Problem]]:
    """Read kb.yaml, claims/, experts/ and sources/ under `root`; never raises on bad content.

    `cache` (kept by a long-running caller such as `kb serve`) maps a file to the hash of its
    bytes and what reading them gave, so that only changed files are parsed again; a file whose
    stat() is the same as when it was read is not even read again (see read_file).

    Callers pause the cyclic garbage collector meanwhile (kb.fast.collector.gc_paused, as
    kb.pipeline and kb.build do): loading makes many objects that live on and form no cycles,
    and each full collection would scan them all again.
    """
    return _load_kb(Path(root), cache, helper)


def _load_kb(
    root: Path, cache: ParseCache | None, start_helper: StartHelper | None
) -> tuple[KnowledgeBase, list[Problem]]:
    problems: list[Problem] = []
    config = _load_config(root, problems)
    kb = KnowledgeBase(root=root, config=config)
    snapshot_files: dict[str, str] = {}
    listed: list[tuple[str, list[Problem], list[tuple[str, str, str]]]] = []
    for kind in KINDS:
        strays: list[Problem] = []
        listed.append((kind, strays, _record_files(root, kind, strays, snapshot_files)))
    paths = [(rel, path) for _, _, files in listed for _, rel, path in files]
    helper = start_helper(paths) if start_helper is not None and not cache else None
    try:
        _load_records(kb, listed, problems, cache, helper)
    finally:
        if helper is not None:
            helper.stop()
    _attach_snapshots(kb, root, snapshot_files, problems, cache)
    return kb, apply_severity(problems, config.severity)


def _load_records(
    kb: KnowledgeBase,
    listed: list[tuple[str, list[Problem], list[tuple[str, str, str]]]],
    problems: list[Problem],
    cache: ParseCache | None,
    helper: ReadingSource | None,
) -> None:
    i = -1  # the index of the file among all kinds' (as the helper was given them)
    for kind, strays, files in listed:
        problems.extend(strays)
        for ident, rel, path in files:
            i += 1
            parsed = helper.get(i) if helper is not None else None
            doc = read_file(path, rel, problems, cache, kb.digests, parsed)
            if doc is None:
                continue
            records = getattr(kb, kind)
            built = doc.built
            if built is not None and built[0] == kind and built[1] == ident:
                if built[2] is not None:  # the same bytes, read before: the same record
                    records[ident] = built[2]
                problems.extend(built[3])
                continue
            where = Located(rel, doc.marks)
            subject = f"{kind[:-1]}:{ident}"
            start = len(problems)
            reader = RecordReader(where, problems, subject, doc.escapes)
            BUILDERS[kind](kb, ident, doc.value, reader)
            if cache is not None:  # kept for the next build of a long-running caller
                doc.built = (kind, ident, records.get(ident), tuple(problems[start:]))
                # the file's kind and id follow from its name: the cached document is not built
                # again, and its value need not be kept (its marks keep what places need)
                if doc.marks.shape is not None:
                    doc.value = None


def _record_files(
    root: Path, kind: str, problems: list[Problem], snapshots: dict[str, str]
) -> list[tuple[str, str, str]]:
    """List (id, relative path, path) of the record files of one kind, reporting strays."""
    folder = root / kind
    if not folder.is_dir():
        return []
    if folder.is_symlink() and not _inside(folder, root):
        problems.append(
            L.unsafe_path(Loc(kind), kind, "a link that leads outside the knowledge base")
        )
        return []
    found: dict[str, tuple[str, str]] = {}
    out: list[tuple[str, str, str]] = []
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        problems.append(L.unreadable(Loc(kind), f"the folder {kind}/", exc.strerror or str(exc)))
        return []
    for entry in entries:
        name = entry.name
        rel = f"{kind}/{printable(name)}"  # a name that is not UTF-8 is shown escaped
        path = entry.path  # a str: a Path per file is slow to make
        if name.startswith("."):
            continue  # hidden files: editor and VCS droppings
        if entry.is_symlink() and not _inside(path, root):
            problems.append(
                L.unsafe_path(Loc(rel), name, "a link that leads outside the knowledge base")
            )
            continue
        if entry.is_dir():
            problems.append(
                L.stray_file(Loc(rel), printable(name) + "/", "folders inside are not read")
            )
            continue
        stem, dot, suffix = name.rpartition(".")
        if not dot or f".{suffix}" not in RECORD_SUFFIXES:
            if kind == "sources":
                snapshots[name] = path
            else:
                problems.append(L.stray_file(Loc(rel), printable(name), "not a .yaml record"))
            continue
        if not L.ID_RE.match(stem):
            problems.append(L.bad_id(Loc(rel), stem))
            continue
        if stem in found:
            problems.append(L.duplicate_id(Loc(rel), stem, found[stem][0]))
            continue
        found[stem] = (rel, path)
        out.append((stem, rel, path))
    return out


def _attach_snapshots(
    kb: KnowledgeBase,
    root: Path,
    files: dict[str, str],
    problems: list[Problem],
    cache: ParseCache | None = None,
) -> None:
    """Read each source's snapshot; report unsafe names, bad text and changed hashes."""
    used: set[str] = {s.original for s in kb.sources.values() if s.original}
    for sid, src in sorted(kb.sources.items()):
        name = src.snapshot or (f"{sid}.txt" if f"{sid}.txt" in files else None)
        if name is None:
            continue
        if name not in files:
            loc = src.where.at("snapshot")
            if "/" in name or "\\" in name or name.startswith("."):
                problems.append(L.unsafe_path(loc, name, "a snapshot is a file name in sources/"))
            else:
                problems.append(L.bad_value(loc, "snapshot", name, "no such file in sources/"))
            continue
        used.add(name)
        read = read_snapshot(files[name], f"sources/{printable(name)}", problems, cache)
        if read is not None:
            kb.sources[sid] = _replace_snapshot(src, name, *read, problems)
    for name in sorted(set(files) - used):
        problems.append(
            L.stray_file(
                Loc(f"sources/{printable(name)}"),
                printable(name),
                "no source names it as its snapshot",
            )
        )


def _replace_snapshot(
    src: Source, name: str, text: str, digest: str, problems: list[Problem]
) -> Source:
    from dataclasses import replace

    new = replace(src, snapshot=name, snapshot_text=text, snapshot_sha256=digest)
    if src.snapshot_sha256 and src.snapshot_sha256.strip().lower() != digest:
        problems.append(
            L.snapshot_changed(replace(new, snapshot_sha256=src.snapshot_sha256), digest)
        )
    return new


def _load_config(root: Path, problems: list[Problem]) -> Config:
    path = root / "kb.yaml"
    if path.is_symlink() and not _inside(path, root):
        problems.append(
            L.unsafe_path(Loc("kb.yaml"), "kb.yaml", "a link that leads outside the knowledge base")
        )
        return Config()
    if not path.is_file():
        return Config()
    doc = read_file(path, "kb.yaml", problems)
    if doc is None:
        return Config()
    where = Located("kb.yaml", doc.marks)
    r = RecordReader(where, problems, None, doc.escapes)
    if doc.value is None:
        return Config(where=where)
    m = r.mapping(doc.value, (), "kb.yaml", S.CONFIG_KEYS)
    if m is None:
        return Config(where=where)
    severity: dict[str, Severity] = {}
    sev = m.get("severity")
    if isinstance(sev, dict):
        for code_name in sev:
            p = ("severity", code_name)
            if code_name not in CODES:
                problems.append(L.bad_value(where.key_at(*p), "severity", code_name, CODES))
                continue
            if sev[code_name] is False:  # YAML 1.1 reads a bare `off` as false
                severity[code_name] = Severity.OFF
                continue
            level = r.enum(sev, code_name, ("severity",), [s.value for s in Severity], None)
            if level:
                severity[code_name] = Severity(level)
    elif sev is not None:
        r.report(L.bad_type(r.loc(("severity",)), "severity", "a mapping of code to level", sev))
    base_url = r.text(m, "base_url", ())
    if base_url and not L.check_url(base_url):
        problems.append(L.bad_url(r.loc(("base_url",)), base_url))
        base_url = None
    style = r.enum(m, "style", (), STYLE_FILES, "apa") or "apa"
    styles: list[str] = []
    for i, name in enumerate(r.text_list(m, "styles", ())):
        if name in STYLE_FILES:
            styles.append(name)
        else:
            problems.append(L.bad_value(where.at("styles", i), "styles", name, STYLE_FILES))
    if styles and style not in styles:
        styles.insert(0, style)
    return Config(
        title=r.text(m, "title", ()) or Config().title,
        base_url=base_url,
        style=style,
        styles=tuple(styles),
        severity=severity,
        where=where,
    )
