"""`kb export`: write one export to a file or standard output."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from kb.cli import COMMANDS
from kb.cli.report import refuse_base_file
from kb.codes import did_you_mean
from kb.errors import KBError, Problem, Severity
from kb.model import KnowledgeBase
from kb.urls import EXPORT_FILES


def resolve_format(name: str) -> str:
    """Return the canonical format name for a name, alias or file name; else a usage error."""
    if name.lower() in ("sqlite", "db", "kb.db", "datasette"):
        return "sqlite"
    for key, (file, aliases) in EXPORT_FILES.items():
        if name.lower() in (key, file, *aliases):
            return key
    hint = did_you_mean(name, EXPORT_FILES)
    raise KBError(f"unknown export format {name!r}{hint}; choose {', '.join(EXPORT_FILES)}, sqlite")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `export` subcommand."""
    lines = "\n".join(f"  {k:12} {f}" for k, (f, _) in EXPORT_FILES.items())
    lines += "\n  sqlite       kb.db and metadata.json for Datasette (with -o; not in the site)"
    p = sub.add_parser(
        "export",
        help=COMMANDS["export"].summary,
        description="Write one of the exports that `kb build` puts in site/exports/, to\n"
        "standard output or to a file. Formats (and the file each is in the site):\n" + lines,
        epilog="examples:\n  kb export bibtex -o refs.bib\n  kb export csl-json > kb.csl.json\n"
        "  kb export sqlite -o kb.db   # then: datasette kb.db -m metadata.json\n"
        "  pandoc --citeproc --bibliography kb.csl.json --csl apa.csl draft.md -o draft.docx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("format", metavar="FORMAT", help=", ".join([*EXPORT_FILES, "sqlite"]))
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not to stdout")
    p.add_argument(
        "--no-bom",
        action="store_true",
        help="CSV formats: leave out the UTF-8 byte-order mark (written by default for Excel)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="write nothing when any record has an error (default: write the records that "
        "loaded, list the errors and the files left out, exit 1)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Run `kb export`."""
    from kb.checks import run_checks
    from kb.export import FORMATS
    from kb.graph import build_graph
    from kb.reading.load import load_kb

    fmt = resolve_format(args.format)
    if args.output is not None and str(args.output) != "-":
        refuse_base_file(Path(args.root), args.output)
    kb, problems = load_kb(args.root)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    for p in errors:
        print(p.text(), file=sys.stderr)
    if errors and args.strict:
        print(f"kb export: {len(errors)} error(s); nothing written (--strict)", file=sys.stderr)
        return 1
    if errors:
        left = sorted({p.loc.path for p in errors if not _loaded(kb, p.loc.path)})
        print(
            f"kb export: {len(errors)} error(s); writing the records that loaded"
            + (f"; left out: {', '.join(left)}" if left else ""),
            file=sys.stderr,
        )
    if fmt == "claimreview" and kb.claims and not kb.config.base_url:
        print(
            "kb export: warning: kb.yaml has no base_url, so ClaimReview's urls are relative; "
            "Google requires absolute ones (set base_url to the site's address)",
            file=sys.stderr,
        )
    if fmt == "sqlite":
        return _sqlite(kb, args.output, 1 if errors else 0)
    graph = build_graph(kb)
    problems = sorted([*problems, *run_checks(kb, graph)], key=Problem.sort_key)
    data = FORMATS[fmt][1](kb, graph, problems)
    if args.no_bom and FORMATS[fmt][0].endswith(".csv"):
        data = data.removeprefix("\ufeff".encode())
    code = 1 if errors else 0
    if args.output is None or str(args.output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return code
    _write_file(args.output, data)
    print(f"wrote {args.output} ({FORMATS[fmt][0]}, {len(data)} bytes)", file=sys.stderr)
    return code


def _write_file(output: Path, data: bytes) -> None:
    """Write an export through a new file beside `output`, moved over it when complete (an
    export that fails leaves the previous file as it was); only a regular file is replaced."""
    import os
    import stat

    try:
        st = os.stat(output)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise KBError(f"cannot write {output}: {exc.strerror}", exit_code=1) from exc
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise KBError(f"{output} is not a regular file: an export is not written there")
    tmp = output.with_name(f".{output.name}.kb-export-{os.getpid()}.tmp")
    try:
        # a new file gets the mode any new file gets here (the umask applies)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            if st is not None:  # the file it replaces keeps its mode
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            os.replace(tmp, output)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise KBError(f"cannot write {output}: {exc.strerror or exc}", exit_code=1) from exc


def _loaded(kb: KnowledgeBase, path: str) -> bool:
    """Whether the record of a file (`claims/x.yaml`) is in the loaded base."""
    folder, _, name = path.partition("/")
    stem = name.rsplit(".", 1)[0]
    if folder == "claims":
        return stem in kb.claims
    if folder == "sources":
        return stem in kb.sources
    return folder != "experts" or stem in kb.experts


def _sqlite(kb: KnowledgeBase, output: Path | None, code: int) -> int:
    """Write the SQLite database (through a new file moved into place) and its metadata.json
    beside it; a metadata.json that kb did not write is kept, and `<stem>.metadata.json` used."""
    import json
    import os
    import tempfile

    from kb.export.sqlite import MARK, metadata, write_db

    if output is None or str(output) == "-":
        raise KBError("kb export sqlite needs -o FILE (a database is not written to stdout)", 2)
    folder = output.parent
    meta = folder / "metadata.json"
    try:
        if meta.exists() and json.loads(meta.read_text("utf-8")).get("source") != MARK:
            meta = folder / f"{output.stem}.metadata.json"
    except (OSError, ValueError, AttributeError, RecursionError):
        meta = folder / f"{output.stem}.metadata.json"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".kb-db-", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            os.unlink(tmp)  # sqlite makes it afresh
            write_db(kb, Path(tmp))
            os.replace(tmp, output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        text = json.dumps(metadata(kb, output.stem), ensure_ascii=False, indent=2) + "\n"
        meta.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KBError(f"cannot write {output}: {exc}", exit_code=1) from exc
    print(f"wrote {output} (SQLite) and {meta}; then: datasette {output} -m {meta}",
          file=sys.stderr)  # fmt: skip
    return code
