"""The safe YAML reader: values with the place of every key and value, and every way to fail."""

from __future__ import annotations

import pytest

from kb.reading.yamlio import MAX_DEPTH, decode, read_yaml
from kb.reading.yamlmarks import KEY


def issues(text: str) -> list[tuple[str, int, int]]:
    """(code, line, col) of every issue met reading `text`."""
    return [(i.code, i.line, i.col) for i in read_yaml(text).issues]


class TestValuesAndMarks:
    def test_values(self) -> None:
        doc = read_yaml("a: 1\nb: [x, 'y', true, null, 1.5]\nc: {d: 2010-08-20}\n")
        assert doc.ok and not doc.issues
        assert doc.value == {"a": 1, "b": ["x", "y", True, None, 1.5], "c": {"d": "2010-08-20"}}

    def test_dates_and_timestamps_stay_as_written(self) -> None:
        assert read_yaml("d: 2010-08-20\nt: 2010-08-20 10:00:00\n").value == {
            "d": "2010-08-20",
            "t": "2010-08-20 10:00:00",
        }

    def test_quoted_and_block_scalars_are_text(self) -> None:
        doc = read_yaml("a: '1'\nb: \"true\"\nc: |\n  12\nd: ! 5\n")
        assert doc.value == {"a": "1", "b": "true", "c": "12\n", "d": "5"}

    def test_marks_of_keys_and_values(self) -> None:
        doc = read_yaml("a:\n  b: 1\n  c:\n    - x\n    - y: 2\n")
        m = doc.marks
        assert m[()] == (1, 1)
        assert m[("a", KEY)] == (1, 1)
        assert m[("a", "b", KEY)] == (2, 3)
        assert m[("a", "b")] == (2, 6)
        assert m[("a", "c", 0)] == (4, 7)
        assert m[("a", "c", 1)] == (5, 7)
        assert m[("a", "c", 1, "y", KEY)] == (5, 7)
        assert m[("a", "c", 1, "y")] == (5, 10)

    def test_columns_count_characters_not_bytes(self) -> None:
        doc = read_yaml("éé: ü\n")
        assert doc.marks[("éé",)] == (1, 5)

    def test_flow_style_marks(self) -> None:
        doc = read_yaml("a: {b: 1, c: [x, y]}\n")
        assert doc.marks[("a", "c", 1)] == (1, 18)

    def test_empty_file(self) -> None:
        doc = read_yaml("")
        assert doc.ok and doc.value is None and not doc.issues
        assert read_yaml("# only a comment\n").value is None

    def test_keys_are_text(self) -> None:
        assert read_yaml("1: a\ntrue: b\nnull: c\n1.5: d\n").value == {
            "1": "a",
            "true": "b",
            "null": "c",
            "1.5": "d",
        }

    def test_plain_equals_and_merge_key_are_text(self) -> None:
        """YAML 1.1 resolves `=` and `<<` to tags no record uses; here they are plain text."""
        assert read_yaml("a: =\n<<: x\n").value == {"a": "=", "<<": "x"}


class TestLineEndingsAndEncoding:
    def test_crlf(self) -> None:
        doc = read_yaml("a: 1\r\nb:\r\n  - x\r\n")
        assert doc.value == {"a": 1, "b": ["x"]}
        assert doc.marks[("b", 0)] == (3, 5)

    def test_bom(self) -> None:
        text, issue = decode(b"\xef\xbb\xbfa: 1\n")
        assert issue is None and text == "a: 1\n"
        assert read_yaml(text).value == {"a": 1}

    def test_invalid_utf8_names_line_and_column(self) -> None:
        text, issue = decode("a: 1\nbé: x\xff".encode().replace(b"\xc3\xbf", b"\xff"))
        assert text is None and issue is not None
        assert (issue.code, issue.line, issue.col) == ("bad-encoding", 2, 6)
        assert "0xff" in issue.message

    def test_invalid_utf8_after_a_bom(self) -> None:
        _, issue = decode(b"\xef\xbb\xbfab\xfe")
        assert issue is not None and (issue.line, issue.col) == (1, 3)
        assert "0xfe" in issue.message

    def test_control_character(self) -> None:
        assert issues("ab: 1\néé: \x01\n") == [("bad-encoding", 2, 5)]

    def test_lone_surrogate(self) -> None:
        assert issues("a: \ud800\n") == [("bad-encoding", 1, 4)]

    def test_tab_indentation_is_a_syntax_error(self) -> None:
        assert issues("a:\n\t- 1\n") == [("yaml-syntax", 2, 1)]
        assert read_yaml("a:\n\t- 1\n").ok is False

    def test_tabs_inside_values_are_fine(self) -> None:
        assert read_yaml("a: x\ty\n").value == {"a": "x\ty"}


class TestRefused:
    def test_duplicate_key_keeps_the_first(self) -> None:
        doc = read_yaml("a: 1\nb: 2\na: 3\n")
        assert doc.ok and doc.value == {"a": 1, "b": 2}
        assert issues("a: 1\nb: 2\na: 3\n") == [("duplicate-key", 3, 1)]
        assert "first at line 1" in doc.issues[0].message

    def test_duplicate_key_in_flow_and_nested(self) -> None:
        assert issues("x: {a: 1, a: 2}\ny:\n  - b: 1\n    b: [2, 3]\n") == [
            ("duplicate-key", 1, 11),
            ("duplicate-key", 4, 5),
        ]

    def test_keys_equal_as_text_are_duplicates(self) -> None:
        assert issues("1: a\n'1': b\n") == [("duplicate-key", 2, 1)]

    def test_anchor(self) -> None:
        doc = read_yaml("a: &x 1\nb: *x\n")
        assert issues("a: &x 1\nb: *x\n") == [("yaml-alias", 1, 4)]
        assert not doc.ok

    def test_alias_without_anchor(self) -> None:
        assert issues("a: 1\nb: *x\n") == [("yaml-alias", 2, 4)]

    def test_billion_laughs_is_refused_at_once(self) -> None:
        lol = "a: &a [lol, lol]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        assert issues(lol) == [("yaml-alias", 1, 4)]

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("a: !!python/object:os.system x\n", (1, 4)),
            ("a: 1\nb: !!binary aGk=\n", (2, 4)),
            ("a: !!set {x}\n", (1, 4)),
            ("a: !custom 1\n", (1, 4)),
            ("a: !!int x\n", (1, 4)),
            ("a: !!int\n", (1, 4)),
            ("a: !!float x\n", (1, 4)),
            ("a: !!bool maybe\n", (1, 4)),
            ("a: !!seq {b: 1}\n", (1, 4)),
            ("a: !!map [1]\n", (1, 4)),
            ("a: !!str [1]\n", (1, 4)),
            ("? [1, 2]\n: 3\n", (1, 3)),
            ("a:\n  ? {b: 1}\n  : 2\n", (2, 5)),
        ],
    )
    def test_tags_and_complex_keys(self, text: str, where: tuple[int, int]) -> None:
        """Tags other than the plain ones, bad tagged values and non-scalar keys: yaml-syntax."""
        doc = read_yaml(text)
        assert [(i.code, i.line, i.col) for i in doc.issues] == [("yaml-syntax", *where)]
        assert not doc.ok

    def test_explicit_plain_tags_are_fine(self) -> None:
        assert read_yaml("a: !!str 1\nb: !!int '2'\nc: !!float 1\n").value == {
            "a": "1",
            "b": 2,
            "c": 1.0,
        }

    def test_second_document(self) -> None:
        doc = read_yaml("a: 1\n---\nb: 2\n")
        assert issues("a: 1\n---\nb: 2\n") == [("yaml-syntax", 2, 1)]
        assert "second YAML document" in doc.issues[0].message

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("a: 'unclosed\n", (2, 1)),
            ("a: [1, 2\n", (2, 1)),
            ("a: b: c\n", (1, 5)),
            ("a: 1\n b: 2\n", (2, 3)),
        ],
    )
    def test_syntax_errors_where_the_parser_stops(self, text: str, where: tuple[int, int]) -> None:
        doc = read_yaml(text)
        assert [(i.code, i.line, i.col) for i in doc.issues] == [("yaml-syntax", *where)]
        assert doc.issues[0].message.startswith("invalid YAML: ")


class TestDepth:
    def test_the_limit_itself_is_allowed(self) -> None:
        text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
        assert read_yaml(text).ok

    def test_one_more_is_refused_where_it_starts(self) -> None:
        text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
        assert issues(text) == [("yaml-too-deep", 1, MAX_DEPTH + 1)]

    def test_the_top_mapping_is_a_level(self) -> None:
        text = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH
        assert issues(text) == [("yaml-too-deep", 1, 3 + MAX_DEPTH)]

    def test_block_nesting(self) -> None:
        text = "".join("  " * i + "- \n" for i in range(MAX_DEPTH + 5))
        assert [i.code for i in read_yaml(text).issues] == ["yaml-too-deep"]

    @pytest.mark.parametrize("opener", ["[", "{a: "])
    def test_100000_levels_without_recursion_error(self, opener: str) -> None:
        """No input can make the reader recurse: 100,000 levels stop at the 51st."""
        closer = "]" if opener == "[" else "}"
        text = opener * 100_000 + closer * 100_000
        doc = read_yaml(text)
        assert [i.code for i in doc.issues] == ["yaml-too-deep"]
        assert not doc.ok

    def test_100000_levels_unclosed(self) -> None:
        assert [i.code for i in read_yaml("[" * 100_000).issues] == ["yaml-too-deep"]
