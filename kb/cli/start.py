"""Starting: `kb init` makes a knowledge base, `kb new` a record (a claim quote-first)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from kb.cli import COMMANDS, capture
from kb.cli.report import text_arg
from kb.errors import KBError
from kb.reading import templates as T


def register(sub: Any) -> None:
    """Add the init and new subcommands."""
    p: argparse.ArgumentParser = sub.add_parser(
        "init",
        help=COMMANDS["init"].summary,
        description="Start a knowledge base in DIR (default: the current folder): a commented "
        "kb.yaml, the folders claims/, experts/ and sources/, a .gitignore for the site and the "
        "citation cache, and a README of next steps. Nothing that exists is overwritten.",
        epilog="example:\n  kb init my-kb && cd my-kb && kb check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", nargs="?", type=Path, default=None, help="the folder (made if missing)")
    p.add_argument(
        "--title", type=text_arg, help="the site's title (default: from the folder's name)"
    )
    p.set_defaults(func=cmd_init, needs_base=False)

    p = sub.add_parser(
        "new",
        help=COMMANDS["new"].summary,
        description="Write a commented template for a new claim, expert or source. With "
        "--source and --quote, a claim is written with that quote, after the words are found "
        "in the source's snapshot (nothing is written when they are not: the nearest passage "
        "is shown with a word diff).",
        epilog="examples:\n  kb new source my-article\n  kb new expert dr-someone\n"
        '  kb new expert fact-desk --name "Fact-check desk"\n'
        '  kb new claim my-claim --statement "What the article says." --source my-article '
        '--quote "the words as printed" --speaker dr-someone',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=("claim", "expert", "source"))
    p.add_argument("id", help="lower-case letters, digits and '-'")
    p.add_argument("--statement", type=text_arg, help="a claim's statement, in neutral words")
    p.add_argument("--title", type=text_arg, help="a source's title")
    p.add_argument("--name", type=text_arg, help="an expert's name")
    capture.add_quote_arguments(p, required=False)
    p.set_defaults(func=cmd_new)


def cmd_init(args: argparse.Namespace) -> int:
    """Run `kb init`: make what is missing, never overwrite what exists."""
    from kb.reading.files import MARKERS, RECORD_FOLDERS, find_base

    target: Path = args.dir if args.dir is not None else args.root
    if target.exists() and not target.is_dir():
        raise KBError(f"{target} is not a folder")
    if any((target / m).exists() for m in MARKERS):
        raise KBError(
            f"{target} is already a knowledge base (it has a kb.yaml); nothing was written"
        )
    outer = find_base(target.parent) if target.exists() or target.parent.exists() else None
    try:
        target.mkdir(parents=True, exist_ok=True)
        for folder in RECORD_FOLDERS:
            (target / folder).mkdir(exist_ok=True)
        title = args.title or target.resolve().name.replace("-", " ").replace("_", " ").strip()
        title = title[:1].upper() + title[1:] if title else "Knowledge base"
        wrote = [
            _write_new(target / "kb.yaml", T.CONFIG.format(title=json.dumps(title))),
            _write_new(target / ".gitignore", T.GITIGNORE),
            _write_new(target / "README.md", T.README.format(title=title)),
        ]
    except OSError as exc:
        raise KBError(f"cannot write in {target}: {exc.strerror}") from exc
    print(f"started a knowledge base in {target}")
    for name, done in zip(("kb.yaml", ".gitignore", "README.md"), wrote, strict=True):
        if not done:
            print(f"  {name} exists and was kept as it is")
    if not wrote[1]:
        missing = _unignored(target / ".gitignore")
        if missing:
            print(f"  note: add {' and '.join(missing)} to .gitignore (made again by kb build)")
    if outer is not None:
        print(f"  note: it lies inside the knowledge base at {outer}")
    print(f"next: read {target / 'README.md'}, or run `kb -C {target} check`")
    return 0


def _unignored(gitignore: Path) -> list[str]:
    """The lines of kb's .gitignore that an existing one lacks (none when it cannot be read)."""
    try:
        text = gitignore.read_text(encoding="utf-8")
        have = {line.strip().strip("/") for line in text.splitlines()}
    except (OSError, UnicodeDecodeError):
        return []
    wanted = [line for line in T.GITIGNORE.splitlines() if line and not line.startswith("#")]
    return [w for w in wanted if w.strip("/") not in have]


_PLAIN = re.compile(r"[a-z][a-z0-9-]*\Z")
_YAML_WORDS = frozenset("y n yes no on off true false null nan inf".split())


def scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when it is an id YAML reads back as the same text, else
    a double-quoted string (a JSON string is a valid YAML one)."""
    if _PLAIN.match(value) and value not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _write_new(path: Path, text: str) -> bool:
    """Write `text` to a new file; return False (nothing written) when the file exists."""
    try:
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        return False
    return True


def _claim_text(args: argparse.Namespace, root: Path) -> str:
    """The claim template, with its first quote when --quote is given (checked first)."""
    statement = json.dumps(args.statement or T.PLACEHOLDER_STATEMENT, ensure_ascii=False)
    quotes = ""
    if args.quote or args.source:
        if not (args.quote and args.source):
            raise KBError("--quote and --source go together: the words and where they are")
        from kb.reading.load import load_kb

        kb, _problems = load_kb(root)
        if args.speaker and args.speaker not in kb.experts:
            from kb.codes import did_you_mean

            raise KBError(f"no expert {args.speaker!r}{did_you_mean(args.speaker, kb.experts)}")
        placed = capture.place(kb, args.source, args.quote, args.at)
        item = capture.quote_item(args, placed)
        lines = [f"{'  - ' if i == 0 else '    '}{k}: {scalar(v)}"
                 for i, (k, v) in enumerate(item.items())]  # fmt: skip
        quotes = "\n" + "\n".join(lines)
        print(capture.report(args, placed))
    return T.CLAIM.format(statement=statement, quotes=quotes, id=args.id)


def cmd_new(args: argparse.Namespace) -> int:
    """Run `kb new`: write a template, never over an existing file."""
    from kb.reading import problems as loading

    if not loading.ID_RE.match(args.id):
        raise KBError(f"{args.id!r} is not a valid id: lower-case letters, digits and '-'")
    if args.kind != "claim" and (args.quote or args.source or args.statement):
        raise KBError("--statement, --source and --quote are for `kb new claim`")
    folder = args.root / f"{args.kind}s"
    path = folder / f"{args.id}.yaml"
    if path.exists() or path.is_symlink() or path.with_suffix(".yml").exists():
        raise KBError(f"{path} already exists; nothing was written")
    root = Path(args.root).resolve()
    if folder.is_symlink() and not folder.resolve().is_relative_to(root):
        raise KBError(
            f"{folder} is a link that leads outside the knowledge base; nothing was written"
        )
    if args.kind == "claim":
        text = _claim_text(args, args.root)
    elif args.kind == "expert":
        text = T.EXPERT.format(name=json.dumps(args.name or T.PLACEHOLDER_NAME, ensure_ascii=False))
    else:
        title = json.dumps(args.title or T.PLACEHOLDER_TITLE, ensure_ascii=False)
        text = T.SOURCE.format(title=title, id=args.id)
    try:
        folder.mkdir(exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:  # e.g. claims is a file, or the folder is read-only
        raise KBError(f"cannot write {path}: {exc.strerror}") from exc
    print(f"wrote {path}")
    return 0
