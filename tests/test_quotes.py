"""Finding quotes in archived text, and the word-level drift between a quote and its origin."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.text.quotes import context, drift, fold_plain, locate, segments, word_diff, words

SNAPSHOT = (
    "“It’s a game—changer,” said Dr. Krystal.\n"
    "The   drug works\tfast. It's a game-changer, others said.\n"
    "She said nothing; he said a lot.\n"
)


def found(quote: str, snapshot: str = SNAPSHOT, **kw: str) -> list[str]:
    """The original text of every place the quote is found."""
    return [snapshot[a:b] for a, b in locate(quote, snapshot, **kw)]


class TestNormalising:
    def test_curly_and_straight_quote_marks_match(self) -> None:
        assert found('"it\'s a game-changer,"') == ["“It’s a game—changer,”"]

    def test_dashes_match_each_other(self) -> None:
        for dash in "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212":
            assert len(found(f"it's a game{dash}changer")) == 2, repr(dash)

    def test_white_space_runs_and_line_breaks_match_one_space(self) -> None:
        assert found("Dr. Krystal. The drug works fast.") == [
            "Dr. Krystal.\nThe   drug works\tfast."
        ]
        assert found("the\u00a0drug   works") == ["The   drug works"]

    def test_letter_case_is_ignored(self) -> None:
        assert found("THE DRUG WORKS") == ["The   drug works"]

    def test_fold_plain(self) -> None:
        assert fold_plain("  “A”\u2014B\n\n’C’  ") == "\"a\"-b 'c'"

    def test_other_punctuation_still_counts(self) -> None:
        assert found("the drug works, fast") == []
        assert found("Dr Krystal") == []


class TestEllipsis:
    @pytest.mark.parametrize("ellipsis", ["…", "...", " … ", " ... ", ". . ."])
    def test_an_ellipsis_stands_for_omitted_words(self, ellipsis: str) -> None:
        spans = found(f"The drug{ellipsis}others said")
        assert spans == ["The   drug works\tfast. It's a game-changer, others said"]

    def test_the_parts_must_come_in_order(self) -> None:
        assert found("others said … the drug") == []

    def test_leading_and_trailing_ellipses(self) -> None:
        assert found("… the drug works …") == ["The   drug works"]

    def test_segments(self) -> None:
        assert segments("One … two...three . . . four") == ["one", "two", "three", "four"]
        assert segments("…") == []

    def test_an_ellipsis_alone_matches_nothing(self) -> None:
        assert locate("...", SNAPSHOT) == []


class TestPlaces:
    def test_several_places_are_all_reported(self) -> None:
        assert len(locate("it's a game-changer", SNAPSHOT)) == 2

    def test_a_prefix_picks_one(self) -> None:
        spans = locate("it's a game-changer", SNAPSHOT, prefix="works fast. ")
        assert [SNAPSHOT[a:b] for a, b in spans] == ["It's a game-changer"]
        assert spans[0][0] == SNAPSHOT.index("It's a game-changer")

    def test_a_suffix_picks_one(self) -> None:
        spans = found("it's a game-changer", suffix=", others said")
        assert spans == ["It's a game-changer"]

    def test_a_prefix_that_is_not_there_leaves_nothing(self) -> None:
        assert locate("it's a game-changer", SNAPSHOT, prefix="nobody said") == []

    def test_prefix_and_suffix_are_normalised_too(self) -> None:
        assert found("It's a game-changer", prefix='"', suffix=',"') == ["It’s a game—changer"]

    def test_a_match_is_whole_words(self) -> None:
        """'he said' is not in 'She said'; 'cat' is not in 'concatenate'."""
        assert found("he said") == ["he said"]
        assert found("she said") == ["She said"]
        assert locate("cat", "concatenate") == []
        assert locate("a lot", "a lottery") == []
        assert locate("the end", "the endless end, the end.") == [(17, 24)]

    def test_quotes_that_start_or_end_with_punctuation(self) -> None:
        assert locate("$5 now", "it costs $5 now.") == [(9, 15)]
        assert locate("(see below)", "text (see below) text") == [(5, 16)]

    def test_not_found(self) -> None:
        assert locate("Ketamine cures everything.", SNAPSHOT) == []
        assert locate("anything", "") == []


class TestSpansMapBack:
    def test_spans_are_offsets_in_the_original_text(self) -> None:
        text = "  A\u00a0\u00a0b —\n\n “c”  d  "
        [(a, b)] = locate('a b - "c" d', text)
        assert text[a:b] == "A\u00a0\u00a0b —\n\n “c”  d"

    def test_a_letter_whose_lower_case_is_longer(self) -> None:
        """U+0130 lower-cases to two characters; offsets must still land on the original."""
        text = "x \u0130stanbul says hello there"
        [(a, b)] = locate("says hello", text)
        assert text[a:b] == "says hello"

    @settings(max_examples=100, deadline=None)
    @given(
        words_=st.lists(
            st.sampled_from(["the", "drug", "It’s", "“works”", "fast—", "A", "b", "\u00a0", "…"]),
            min_size=1,
            max_size=25,
        ),
        seps=st.lists(st.sampled_from([" ", "  ", "\n", "\t", " \n "]), min_size=25, max_size=25),
        cut=st.tuples(st.integers(0, 24), st.integers(1, 25)),
    )
    def test_any_slice_of_the_text_is_found_where_it_is(
        self, words_: list[str], seps: list[str], cut: tuple[int, int]
    ) -> None:
        """A run of whole words taken from a text is found, at a span that folds to it."""
        text = "".join(w + s for w, s in zip(words_, seps, strict=False))
        i, j = sorted(cut)
        j = min(max(j, i + 1), len(words_))
        i = min(i, j - 1)
        quote = " ".join(words_[i:j])
        if not fold_plain(quote) or "…" in quote:
            return
        spans = locate(quote, text)
        assert spans
        assert any(fold_plain(text[a:b]) == fold_plain(quote) for a, b in spans)


def _reference_locate(
    quote: str, snapshot: str, prefix: str | None = None, suffix: str | None = None
) -> list[tuple[int, int]]:
    """The plain quadratic search: every start, every later part searched again, by regex."""
    hay = fold_plain(snapshot)
    parts = segments(quote)
    pre, suf = fold_plain(prefix or ""), fold_plain(suffix or "")

    def places(part: str, pos: int) -> list[int]:
        pat = (r"(?<!\w)" if re.match(r"\w", part) else "") + re.escape(part)
        pat += r"(?!\w)" if re.search(r"\w$", part) else ""
        return [m.start() for m in re.compile(f"(?=({pat}))").finditer(hay, pos)]

    out: list[tuple[int, int]] = []
    for start in places(parts[0], 0) if parts else []:
        end = start + len(parts[0])
        for part in parts[1:]:
            nxt = places(part, end)
            if not nxt:
                return out
            end = nxt[0] + len(part)
        if hay[:start].rstrip().endswith(pre) and hay[end:].lstrip().startswith(suf):
            out.append((start, end))
    return out


class TestAgainstAPlainSearch:
    @settings(max_examples=200, deadline=None)
    @given(
        text=st.lists(
            st.sampled_from(("the", "drug", "works", "x", "fast", '"fast"', ".")), max_size=20
        ),
        quote=st.lists(
            st.sampled_from(("the", "drug", "x", "the drug", "“fast”")), min_size=1, max_size=3
        ),
        ellipsis=st.booleans(),
        prefix=st.sampled_from([None, "the", "x", "drug works"]),
        suffix=st.sampled_from([None, "the", "x", "."]),
    )
    def test_same_places(
        self,
        text: list[str],
        quote: list[str],
        ellipsis: bool,
        prefix: str | None,
        suffix: str | None,
    ) -> None:
        """The fast search finds what the plain one finds (on text whose folding is 1:1)."""
        snapshot = " ".join(text)
        q = (" … " if ellipsis else " ").join(quote)
        want = _reference_locate(q, snapshot, prefix, suffix)
        assert locate(q, snapshot, prefix, suffix) == want

    def test_linear_on_many_repeats(self) -> None:
        """A common word, an ellipsis and a prefix on a 1 MB text: seconds, not minutes."""
        import time

        text = "the " * 250_000 + "end"
        began = time.monotonic()
        assert len(locate("the … end", text)) == 250_000
        assert locate("the", text, prefix="zzz") == []
        assert locate("the … the", text, suffix="zzz") == []
        assert time.monotonic() - began < 20  # the quadratic search took over 200 s


class TestDrift:
    def test_dropped_added_changed(self) -> None:
        d = drift("The quick brown fox jumps over the dog", "The quick fox leaps over the lazy dog")
        assert d.dropped == ("brown",)
        assert d.changed == (("jumps", "leaps"),)
        assert d.added == ("lazy",)
        assert d.describe() == "dropped 'brown'; added 'lazy'; changed 'jumps' to 'leaps'"
        assert d

    def test_case_and_punctuation_alone_are_not_drift(self) -> None:
        d = drift("“It’s a game—changer,” he said.", "it's a game changer he said")
        assert not d
        assert d.describe() == ""

    def test_an_ellipsis_names_the_words_it_hides(self) -> None:
        d = drift("one two three four five", "one … five")
        assert d.dropped == ("two three four",)
        assert not d.added and not d.changed

    def test_words(self) -> None:
        assert words("It’s a GAME—changer, 100%!") == ["it's", "a", "game", "changer", "100"]

    def test_word_diff_keeps_each_side_spelling(self) -> None:
        runs = word_diff("Patients improved very quickly.", "Patients improved Quickly!")
        assert runs == [("equal", "Patients improved"), ("delete", "very"), ("equal", "Quickly!")]
        assert word_diff("a b", "a c") == [("equal", "a"), ("delete", "b"), ("insert", "c")]


def test_context_is_the_sentence_around_a_span() -> None:
    text = "First sentence. The drug works fast, they said. Last one.\n\nNext paragraph."
    a = text.index("works fast")
    before, quoted, after = context(text, (a, a + len("works fast")))
    assert (before, quoted, after) == ("The drug ", "works fast", ", they said.")
