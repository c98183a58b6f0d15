"""The round-trip YAML editor: each YAML style is edited in place, everything else survives."""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from kb.reading.edit import EditRefused, edit_file, folded, plain
from kb.reading.yamlio import read_yaml

RATIONALE = (
    "A rationale long enough to be folded over several lines, which says which sources were "
    "read and why the verdict stands as it does after all of them were weighed."
)


def review(doc: MutableMapping[str, Any]) -> None:
    """What `kb review` does: the old review into the history, a new one in its place."""
    old = doc.get("review")
    if isinstance(old, MutableMapping):
        history = [{k: plain(v) for k, v in old.items() if k != "history"}]
        history += plain(old.get("history") or [])
        old["verdict"] = "misleading"
        old["date"] = "2026-12-07"
        old["rationale"] = folded(RATIONALE)
        old["history"] = history
    else:
        doc["review"] = {
            "verdict": "misleading",
            "date": "2026-12-07",
            "rationale": folded(RATIONALE),
        }


def value(text: str) -> Any:
    doc = read_yaml(text.removeprefix("\ufeff"))
    assert not doc.issues, doc.issues
    return doc.value


def edited(tmp_path: Path, text: str, newline: str = "\n", bom: bool = False) -> str:
    """Edit `text` as a claim file; check the review happened and nothing else changed."""
    raw = text.replace("\n", newline)
    data = (b"\xef\xbb\xbf" if bom else b"") + raw.encode()
    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    before = value(raw)
    assert edit_file(path, review)
    out = path.read_bytes()
    assert out.startswith(b"\xef\xbb\xbf") == bom
    new = out.decode("utf-8-sig")
    after = value(new)
    want = dict(before)
    old = want.pop("review", None)
    got_review = after.pop("review")
    assert after == want  # everything else survived, in value
    assert list(after) == [k for k in want]  # and in order
    assert got_review["verdict"] == "misleading"
    assert got_review["date"] == "2026-12-07"
    assert got_review["rationale"] == RATIONALE
    if old:
        assert got_review["history"][0] == {k: v for k, v in old.items() if k != "history"}
    if newline == "\r\n":
        assert new.count("\n") == new.count("\r\n")
    return new


BLOCK = """\
statement: Ketamine acts on NMDA receptors.
topics: [mechanism, glutamate]
quotes:
  - text: "One likely target for ketamine is NMDA receptors."
    source: nybh-ketamine
    speaker: robert-meisner
    origin: unknown
evidence:
  - source: anis-1983
    stance: supports
    note: >-
      First report that ketamine selectively reduces excitation of central neurones by
      N-methyl-aspartate.
review:
  verdict: accurate
  reviewer: editorial-team
  date: 2026-11-27
  fingerprint: 73790064e354
"""


def test_block(tmp_path: Path) -> None:
    new = edited(tmp_path, BLOCK)
    # untouched lines are untouched, byte for byte, and the folded note stays folded
    head = BLOCK.split("review:")[0]
    assert new.startswith(head)
    assert "fingerprint: 73790064e354\n" in new  # still text, not a float


def test_block_without_a_review(tmp_path: Path) -> None:
    text = BLOCK.split("review:")[0]
    new = edited(tmp_path, text)
    assert new.startswith(text)
    assert "\nreview:\n  verdict: misleading\n" in new


def test_flow(tmp_path: Path) -> None:
    text = (
        "{statement: Ketamine acts on NMDA receptors., topics: [mechanism],\n"
        " quotes: [{text: 'One likely target.', source: nybh-ketamine}],\n"
        " review: {verdict: accurate, date: 2026-11-27}}\n"
    )
    new = edited(tmp_path, text)
    assert new.lstrip().startswith("{")  # still a flow mapping
    assert "'One likely target.'" in new


def test_one_line_json(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "statement": "Ketamine acts on NMDA receptors.",
            "quotes": [{"text": "One likely target.", "source": "nybh-ketamine"}],
            "review": {"verdict": "accurate", "date": "2026-11-27"},
        }
    )
    new = edited(tmp_path, text)
    assert "\n" not in new
    assert json.loads(new)["review"]["history"][0]["verdict"] == "accurate"


def test_indented_json(tmp_path: Path) -> None:
    text = json.dumps({"statement": "S.", "topics": ["a", "b"]}, indent=4) + "\n"
    new = edited(tmp_path, text)
    assert new.startswith('{\n    "statement": "S.",\n')
    assert json.loads(new)["topics"] == ["a", "b"]


def test_top_level_mapping_indented(tmp_path: Path) -> None:
    text = "".join("  " + ln if ln.strip() else ln for ln in BLOCK.splitlines(True))
    new = edited(tmp_path, text)
    assert new.startswith(text.split("  review:")[0])
    assert "\n  review:\n    verdict: misleading\n" in new


def test_comments(tmp_path: Path) -> None:
    text = (
        "# a claim, with comments everywhere\n"
        "statement: Ketamine acts on NMDA receptors.   # the claim\n"
        "topics: [mechanism]  # tags\n"
        "quotes:\n"
        "  # the article's words\n"
        "  - text: One likely target.\n"
        "    source: nybh-ketamine  # the article\n"
        "review:\n"
        "  verdict: accurate  # first look\n"
        "  # who\n"
        "  reviewer: editorial-team\n"
        "# the end\n"
    )
    new = edited(tmp_path, text)
    for comment in (
        "# a claim, with comments everywhere",
        "# the claim",
        "# tags",
        "# the article's words",
        "# the article",
        "# first look",
        "# who",
        "# the end",
    ):
        assert comment in new


def test_crlf(tmp_path: Path) -> None:
    new = edited(tmp_path, BLOCK, newline="\r\n")
    assert new.startswith(BLOCK.split("review:")[0].replace("\n", "\r\n"))


def test_bom(tmp_path: Path) -> None:
    new = edited(tmp_path, BLOCK, bom=True)
    assert new.startswith(BLOCK.split("review:")[0])


def test_bom_and_crlf_and_comments(tmp_path: Path) -> None:
    edited(tmp_path, "# c\nstatement: S.  # s\nreview: {verdict: accurate}\n", "\r\n", bom=True)


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ("statement: S.\r\ntopics: [a]\nreview: {verdict: accurate}\n", ":2:1:", "CRLF and LF"),
        ("statement: S.\rtopics: [a]\n", ":1:1:", "carriage return"),
        ("statement: 'S.\ntopics: [a\n", ":", "not edited"),
        ("- a list\n- of things\n", ":1:1:", "not a mapping"),
        ("statement: S.\nstatement: T.\n", ":2:1:", "duplicate-key"),
        ("statement: &a S.\ntopics: [*a]\n", ":1:12:", "yaml-alias"),
    ],
)
def test_refused_and_unchanged(tmp_path: Path, text: str, where: str, why: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(text.encode())
    with pytest.raises(EditRefused) as exc:
        edit_file(path, review, "claims/c.yaml")
    message = str(exc.value)
    assert message.startswith("claims/c.yaml" + where), message
    assert why in message and "not edited" in message
    assert path.read_bytes() == text.encode()
    assert os.listdir(tmp_path) == ["c.yaml"]  # no temporary file left


def test_an_edit_that_would_lose_a_comment_is_refused(tmp_path: Path) -> None:
    text = "statement: S.\nreview:\n  verdict: accurate  # keep me\n"
    path = tmp_path / "c.yaml"
    path.write_text(text)

    def drop(doc: MutableMapping[str, Any]) -> None:
        doc["review"] = {"verdict": "misleading"}  # replaces the mapping the comment is on

    with pytest.raises(EditRefused, match=r"c\.yaml:3:\d+: the edit would lose the comment"):
        edit_file(path, drop)
    assert path.read_text() == text


def test_no_change_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BLOCK)
    os.utime(path, (1, 1))
    assert not edit_file(path, lambda doc: None)
    assert path.stat().st_mtime == 1
    assert path.read_text() == BLOCK


def test_a_link_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_text(BLOCK)
    link = tmp_path / "c.yaml"
    link.symlink_to(target)
    with pytest.raises(EditRefused, match="cannot open"):
        edit_file(link, review)
    assert target.read_text() == BLOCK


def test_permissions_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BLOCK)
    path.chmod(0o640)
    edit_file(path, review)
    assert path.stat().st_mode & 0o777 == 0o640
