"""The site's Jinja set-up: `a.b` compiled inline for plain dicts reads as Jinja reads it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from jinja2 import UndefinedError
from markupsafe import Markup

from kb.site.jinja import environment


@dataclass
class _Thing:
    name: str
    inner: dict[str, object]


def _render(source: str, **context: object) -> str:
    return environment().from_string(source).render(**context)


def test_attribute_access_is_compiled_inline_for_names_dict_lacks() -> None:
    """The compiled template reads `d.name` itself; a name dict has goes to Jinja's getattr."""
    code = environment().compile("{{ d.name }} {{ d.items }}", raw=True)
    assert "_kb_o['name'] if type(_kb_o := " in code
    assert "environment.getattr(" in code  # `items` is a name of dict: Jinja's own way
    assert "_kb_o['items']" not in code


def test_a_dict_key_an_attribute_and_nesting_read_as_jinja_reads_them() -> None:
    thing = _Thing("T<1>", {"deep": {"er": "x&y"}, "n": 3})
    got = _render(
        "{{ d.a }}|{{ d.b.c }}|{{ t.name }}|{{ t.inner.deep.er }}|{{ t.inner.n + 1 }}|"
        "{{ d.items() | list | length }}|{{ (d.a ~ '!').upper() }}",
        d={"a": "<b>", "b": {"c": Markup("<i>ok</i>")}},
        t=thing,
    )
    assert got == "&lt;b&gt;|<i>ok</i>|T&lt;1&gt;|x&amp;y|4|2|&lt;B&gt;!"


def test_a_key_named_as_a_dict_method_is_the_method_as_in_jinja() -> None:
    """Jinja finds an attribute before a key: `d.keys` is the method even when `keys` is a key."""
    assert _render("{{ d.keys() | list | length }}", d={"keys": "k", "x": 1}) == "2"


@pytest.mark.parametrize(
    "source",
    ["{{ d.missing }}", "{{ d.b.missing }}", "{{ t.missing }}", "{{ nothing.a }}"],
)
def test_a_missing_key_or_attribute_still_fails_loudly(source: str) -> None:
    """StrictUndefined: a page that names a key its view lacks fails, inline or not."""
    with pytest.raises(UndefinedError):
        _render(source, d={"b": {}}, t=_Thing("n", {}))


def test_a_dict_subclass_goes_through_jinja() -> None:
    """Only a plain dict is read inline; a subclass may define attributes of its own."""

    class Special(dict[str, object]):
        @property
        def label(self) -> str:
            return "from the property"

    assert _render("{{ s.label }}|{{ s.other }}", s=Special(label="key", other="o")) == (
        "from the property|o"
    )
