"""Edit a record's YAML in place, keeping its comments and layout, or refuse and change nothing.

Every command that changes a record file (`kb review`, quote capture) goes through `edit_file`:

- the file is read as `kb check` reads it; a file with a loading error is refused;
- the edit is made on a round-trip tree (ruamel.yaml), which keeps comments, key order, flow
  or block style, quoting and folded text; a file in JSON (one line or indented) is edited as
  JSON and written back in the same form; a byte-order mark, CRLF line endings and a top-level
  mapping indented as a whole are kept;
- the new text is read back with kb's own reader and must equal the old value with exactly the
  requested change, and every comment of the old text must still be in it; otherwise nothing
  is written and the refusal names the file, line and column;
- the file is replaced atomically (a temporary file beside it, then one rename), keeping its
  permissions.

Plain scalars are resolved as kb's reader resolves them (YAML 1.1, as PyYAML does), so that
a value such as `73790064e354` stays text and `yes` stays what it was.
"""

from __future__ import annotations

import copy
import datetime
import io
import json
import os
import re
import stat
import tempfile
import warnings
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, ClassVar

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, MarkedYAMLError
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import FoldedScalarString
from ruamel.yaml.tokens import CommentToken
from ruamel.yaml.util import load_yaml_guess_indent

from kb.errors import KBError
from kb.reading.safe import UnsafeFile, read_regular
from kb.reading.yamlio import MAX_BYTES, decode, read_yaml

Change = Callable[[MutableMapping[str, Any]], None]
WIDTH = 96  # where new folded text is wrapped


class EditRefused(KBError):
    """An edit that was not made: the file is as it was. The message names file:line:col."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=1)


class _Resolver(VersionedResolver):
    """ruamel's resolver with PyYAML's implicit types (YAML 1.1), the ones kb reads with."""

    # dates stay text, as kb reads them (a bad date is the checks' business, not the editor's)
    _TABLE: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        ch: [r for r in rules if r[0] != "tag:yaml.org,2002:timestamp"]
        for ch, rules in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }

    @property
    def versioned_resolver(self) -> Any:
        return self._TABLE

    @property
    def processing_version(self) -> Any:
        return (1, 1)


def folded(text: str) -> str:
    """A long text to be written as a folded block (`>-`), wrapped at single spaces; a short
    one, or one that folding could change, as it is."""
    if len(text) <= WIDTH - 20 or re.search(r"[\n\t\r]|^\s|\s$|  ", text):
        return text
    fs = FoldedScalarString(text)
    pos: list[int] = []
    start = 0  # where the current line starts
    space = -1  # the last space seen on it
    for i, ch in enumerate(text):
        if ch != " ":
            continue
        if i - start > WIDTH - 4 and space > start:
            pos.append(space)
            start = space + 1
        space = i
    if len(text) - start > WIDTH - 4 and space > start:
        pos.append(space)
    fs.fold_pos = pos
    result: str = fs
    return result


def _as_read(value: Any) -> Any:
    """A value as kb's reader gives it back: dates as ISO text, text as plain str."""
    if isinstance(value, dict):
        return {k: _as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_read(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    return value


def plain(value: Any) -> Any:
    """A copy of a value as plain dicts, lists and scalars (no comments, no shared parts)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def edit_file(path: Path, change: Change, shown: str | None = None) -> bool:
    """Apply `change` to the top-level mapping of the YAML file at `path` and write it back.

    `change` is called twice: on a plain copy of the value as kb reads it (the expected
    result) and on the round-trip tree; it must treat both alike (read with `.get`, write new
    values built from plain types, `datetime.date`, `plain()` or `folded()`). Returns False
    when the change left the value as it was (nothing is written). Raises EditRefused, with
    nothing written, when the file cannot be edited safely.
    """
    name = shown or str(path)
    data = _read(path, name)
    text, err = decode(data)
    if text is None:
        assert err is not None
        raise EditRefused(f"{name}:{err.line}:{err.col}: {err.message}; not edited")
    bom = "\ufeff" if data.startswith(b"\xef\xbb\xbf") else ""
    doc = read_yaml(text)
    if doc.issues:
        i = doc.issues[0]
        raise EditRefused(f"{name}:{i.line}:{i.col}: {i.message} [{i.code}]; not edited")
    if not isinstance(doc.value, dict):
        raise EditRefused(f"{name}:1:1: the file is not a mapping of keys to values; not edited")
    expected = copy.deepcopy(doc.value)
    change(expected)
    expected = _as_read(expected)
    if expected == doc.value:
        return False
    newline = _newline(text, name)
    body = text.replace("\r\n", "\n")
    new = _edit_json(body, change) if _is_json(body) else _edit_yaml(body, change, name)
    new = new.replace("\n", newline) if newline != "\n" else new
    _verify(text, new, expected, name)
    _write(path, (bom + new).encode("utf-8"), name)
    return True


def _read(path: Path, name: str) -> bytes:
    try:
        return read_regular(path, MAX_BYTES, follow=False)[0]
    except UnsafeFile as exc:
        why = "not a regular file" if exc.size is None else "larger than 5 MB"
        raise EditRefused(f"{name}:1:1: {why}; not edited") from exc
    except OSError as exc:
        raise EditRefused(f"{name}:1:1: cannot open: {exc.strerror}; not edited") from exc


def _newline(text: str, name: str) -> str:
    crlf = text.count("\r\n")
    if "\r" in text.replace("\r\n", ""):
        line = text[: text.replace("\r\n", "\n\n").find("\r")].count("\n") + 1
        raise EditRefused(f"{name}:{line}:1: a lone carriage return (CR) ends a line; not edited")
    if crlf and crlf != text.count("\n"):
        lines = text.split("\n")
        at = next(i for i, ln in enumerate(lines[:-1], 1) if not ln.endswith("\r"))
        raise EditRefused(
            f"{name}:{at}:1: lines end in both CRLF and LF; save the file with one kind of line "
            "ending; not edited"
        )
    return "\r\n" if crlf else "\n"


def _is_json(text: str) -> bool:
    if not text.lstrip().startswith("{"):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _edit_json(text: str, change: Change) -> str:
    value = json.loads(text)
    change(value)
    lines = text.strip("\n").split("\n")
    indent: int | None = None
    if len(lines) > 1:
        second = lines[1]
        indent = len(second) - len(second.lstrip(" ")) or 2
    out = json.dumps(_as_read(value), ensure_ascii=False, indent=indent)
    return out + ("\n" if text.endswith("\n") else "")


def _edit_yaml(text: str, change: Change, name: str) -> str:
    margin = _margin(text)
    if margin:
        text = "".join(ln[margin:] if ln.strip() else ln for ln in text.splitlines(True))
    y = _yaml(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = y.load(text)
    except Exception as exc:  # kb reads it, ruamel does not: refused, whatever ruamel raised
        raise _refusal(name, exc) from exc
    if not isinstance(tree, CommentedMap):
        raise EditRefused(f"{name}:1:1: the file is not a mapping of keys to values; not edited")
    lasts = _last_keys(tree)
    change(tree)
    _unfold_in_flow(tree, False)
    _keep_trailing_comments(lasts)
    out = io.StringIO()
    try:
        y.dump(tree, out)
    except Exception as exc:  # whatever ruamel raised: refused, nothing written
        raise _refusal(name, exc) from exc
    new = out.getvalue()
    if not text.endswith("\n") and new.endswith("\n") and text.count("\n") == 0:
        new = new[:-1]  # a one-line file stays one line
    if margin:
        pad = " " * margin
        new = "".join(pad + ln if ln.strip() else ln for ln in new.splitlines(True))
    return new


def _last_keys(node: Any, out: list[tuple[CommentedMap, Any]] | None = None) -> list[Any]:
    """Every block mapping of the tree with its last key, before the change."""
    out = [] if out is None else out
    if isinstance(node, CommentedMap) and node and not node.fa.flow_style():
        out.append((node, next(reversed(node))))
    if isinstance(node, dict):
        for v in node.values():
            _last_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            _last_keys(v, out)
    return out


def _keep_trailing_comments(lasts: list[tuple[CommentedMap, Any]]) -> None:
    """ruamel keeps the comments that follow a mapping's last value (the lines before the next
    key of its parent) with that value; when keys are added after it, those lines move to the
    end of the new last value, so that they stay just before what they were before."""
    for node, old in lasts:
        if not node or old not in node or next(reversed(node)) == old:
            continue
        entry = node.ca.items.get(old)
        token = entry[2] if entry and len(entry) > 2 else None
        if token is None:
            continue
        head, nl, tail = token.value.partition("\n")
        if not nl or not tail.strip():
            continue
        if head.strip():
            token.value = head + "\n"
        else:
            entry[2] = None
        container: Any = node
        key: Any = next(reversed(node))
        while isinstance(container[key], (dict, list)) and container[key]:
            container[key] = _commented(container[key])
            container = container[key]
            key = next(reversed(container)) if isinstance(container, dict) else len(container) - 1
        moved = CommentToken("\n" + tail, CommentMark(0))
        if isinstance(container, CommentedMap):
            container.ca.items.setdefault(key, [None, None, None, None])[2] = moved
        elif isinstance(container, CommentedSeq):
            container.ca.items.setdefault(key, [None, None, None, None])[0] = moved


def _commented(value: Any) -> Any:
    """A plain dict or list as ruamel's commented kind, so that a comment can be attached."""
    if isinstance(value, dict) and not isinstance(value, CommentedMap):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _commented(v)
        return m
    if isinstance(value, list) and not isinstance(value, CommentedSeq):
        return CommentedSeq(_commented(v) for v in value)
    return value


def _unfold_in_flow(node: Any, flow: bool) -> Any:
    """Folded text cannot be written inside a flow collection: there it becomes plain text."""
    if isinstance(node, (CommentedMap, CommentedSeq)):
        flow = flow or bool(node.fa.flow_style())
    if isinstance(node, dict):
        for k, v in node.items():
            node[k] = _unfold_in_flow(v, flow)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            node[i] = _unfold_in_flow(v, flow)
    elif flow and isinstance(node, FoldedScalarString):
        return str(node)
    return node


def _yaml(text: str) -> YAML:
    y = YAML(typ="rt")
    y.Resolver = _Resolver
    y.preserve_quotes = True
    y.width = 1 << 20  # lines are kept as long as they were; folded text keeps its folds
    y.brace_single_entry_mapping_in_flow_sequence = True
    y.allow_duplicate_keys = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _tree, indent, seq = load_yaml_guess_indent(text)
    except Exception:  # the guess is only a guess; the edit itself reports
        indent, seq = None, None
    indent = indent or 2
    seq = seq or 0
    y.indent(mapping=indent - seq if seq and indent > seq else indent, sequence=indent, offset=seq)
    return y


def _margin(text: str) -> int:
    """The indentation shared by every line that holds something (a mapping indented as a
    whole), when the first such line is indented."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if not lines or not lines[0].startswith(" "):
        return 0
    return min(len(ln) - len(ln.lstrip(" ")) for ln in lines)


def _refusal(name: str, exc: Exception) -> EditRefused:
    mark = getattr(exc, "problem_mark", None) if isinstance(exc, MarkedYAMLError) else None
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = str(getattr(exc, "problem", None) or exc).splitlines()[0]
    return EditRefused(
        f"{name}:{line}:{col}: this YAML cannot be edited safely ({what}); not edited"
    )


def _verify(old: str, new: str, expected: dict[str, Any], name: str) -> None:
    doc = read_yaml(new.removeprefix("\ufeff"))
    if doc.issues or doc.value != expected:
        where = _first_difference(doc.value, expected) if not doc.issues else None
        i = doc.issues[0] if doc.issues else None
        detail = (
            f"the edited text would not read back ({i.message} at line {i.line})"
            if i
            else f"the edited text would read differently at {where}"
        )
        raise EditRefused(f"{name}:1:1: {detail}; not edited")
    kept = [c for _l, _c, c in _comments(new)]
    for line, col, comment in _comments(old):
        if comment in kept:
            kept.remove(comment)
        else:
            raise EditRefused(
                f"{name}:{line}:{col}: the edit would lose the comment {comment!r}; not edited"
            )


def _first_difference(got: Any, want: Any, path: str = "") -> str:
    if isinstance(got, dict) and isinstance(want, dict):
        for k in list(want) + [k for k in got if k not in want]:
            if got.get(k) != want.get(k):
                return _first_difference(got.get(k), want.get(k), f"{path}.{k}" if path else k)
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return path or "the top"


def _skip_noting_comments(s: Any) -> None:
    """PyYAML's Scanner.scan_to_next_token, noting each comment it skips."""
    if s.index == 0 and s.peek() == "\ufeff":
        s.forward()
    found = False
    while not found:
        while s.peek() == " ":
            s.forward()
        if s.peek() == "#":
            mark = s.get_mark()
            start = s.index
            while s.peek() not in "\0\r\n\x85\u2028\u2029":
                s.forward()
            s.comments.append((mark.line + 1, mark.column + 1, s.buffer[start : s.index].rstrip()))
        if s.scan_line_break():
            if not s.flow_level:
                s.allow_simple_key = True
        else:
            found = True


def _start(s: Any, text: str) -> None:
    yaml.reader.Reader.__init__(s, text)
    yaml.scanner.Scanner.__init__(s)
    s.comments = []


_CommentLoader: Any = type(
    "_CommentLoader",
    (yaml.reader.Reader, yaml.scanner.Scanner),
    {"__init__": _start, "scan_to_next_token": _skip_noting_comments},
)


def _comments(text: str) -> list[tuple[int, int, str]]:
    """Every comment of a YAML text: (line, column, text)."""
    loader = _CommentLoader(text)
    try:
        while loader.check_token():
            loader.get_token()
    except yaml.YAMLError:
        pass
    comments: list[tuple[int, int, str]] = loader.comments
    return comments


def _write(path: Path, data: bytes, name: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise EditRefused(f"{name}:1:1: cannot write: {exc.strerror}; not edited") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError):
            raise EditRefused(f"{name}:1:1: cannot write: {exc.strerror}; not edited") from exc
        raise


__all__ = ["Change", "CommentedMap", "CommentedSeq", "EditRefused", "edit_file", "folded", "plain"]
