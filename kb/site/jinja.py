"""The Jinja set-up of the site: the environment, its templates, and long tables drawn in chunks."""

from __future__ import annotations

from collections.abc import MutableMapping
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from markupsafe import Markup, escape

import kb
from kb.site.present import (
    EDGE_LABELS,
    KIND_LABELS,
    attribution_badge,
    badge,
    escape_str,
    evidence_level_label,
    quoted,
    verdict_label,
)
from kb.site.state import Site
from kb.urls import GRAPH_DATA, SEARCH_INDEX

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'none'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)
_DICT_ATTRS = frozenset(dir(dict))  # names that `d.name` finds on a dict before its keys


def _escape_to_str(value: Any) -> str:
    """Escape what a template outputs, as `markupsafe.escape` does, without making a `Markup`.

    Templates only join what they output, so a plain string does; and building a `Markup` for
    each value is most of the cost of escaping it.
    """
    if type(value) is str:
        return escape_str(value)  # one call, not two (esc calls it)
    if type(value) is Markup:
        return value
    if type(value) is int:
        return str(value)
    return escape(value)


class _Template(Template):
    """A template whose `{{ ... }}` outputs are escaped by `_escape_to_str`.

    Jinja 3 compiles each template to a module whose outputs call its global `escape`; were
    that to change, outputs would still be escaped, by Jinja's own `escape`, only slower.
    """

    @classmethod
    def _from_namespace(
        cls,
        environment: Environment,
        namespace: MutableMapping[str, Any],
        globals: MutableMapping[str, Any],
    ) -> Template:
        namespace["escape"] = _escape_to_str  # the name compiled templates call to escape output
        return super()._from_namespace(environment, namespace, globals)


class _CodeGenerator(CodeGenerator):
    """Jinja's compiler, with `a.b` looked up inline when `a` is a plain dict that has the key
    `b` (most of what pages show are such dicts), instead of by a call to `environment.getattr`,
    which a page makes about 200 times. Anything else goes to `environment.getattr` as before,
    so the result is the same: Jinja finds a dict's key when dict has no attribute of that name,
    and the names dict has (`items`, `keys`, ...) are compiled as Jinja compiles them."""

    @optimizeconst
    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        attr = node.attr
        if self.environment.is_async or attr in _DICT_ATTRS:
            super().visit_Getattr(node, frame)
            return
        # `_kb_o` is assigned before it is read and read nowhere else; a nested `x.y.z` has
        # finished with it before the outer one assigns it
        self.write(f"(_kb_o[{attr!r}] if type(_kb_o := ")
        self.visit(node.node, frame)
        self.write(f") is dict and {attr!r} in _kb_o else environment.getattr(_kb_o, {attr!r}))")


class _Environment(Environment):
    """The Jinja environment, with a quicker `a.b` for the plain dicts most pages are made of."""

    template_class = _Template
    code_generator_class = _CodeGenerator

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """Return a template's globals as one plain dict, not a ChainMap over the environment's:
        every render copies them, and a ChainMap copies slowly. The environment's globals are
        all set before the pages' templates are loaded (see `environment`)."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Return `obj.attribute`, else `obj[attribute]`, as Jinja does; a dict key is found
        without first failing to find an attribute (and raising) when dict has no such name."""
        if type(obj) is dict and attribute not in _DICT_ATTRS:
            if attribute in obj:
                return obj[attribute]
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Return the Jinja environment, created once: autoescape on, undefined names fail."""
    folder = resources.files("kb") / "templates"
    env = _Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.globals.update(
        csp=CSP,
        version=kb.__version__,
        verdict_label=verdict_label,
        badge=badge,
        attribution_badge=attribution_badge,
        kind_labels=KIND_LABELS,
        edge_labels=EDGE_LABELS,
        level_label=evidence_level_label,
        search_index=SEARCH_INDEX,
        graph_data=GRAPH_DATA,
    )
    env.filters["quoted"] = quoted
    # Imported once here rather than by `{% import %}` in each page, which re-runs it per render
    # (so the macros' own globals, copied before, lack `m`).
    env.globals["m"] = env.get_template("_macros.html").module
    return env


@lru_cache(maxsize=16)
def _template(name: str) -> Template:
    return environment().get_template(name)


_CHUNK = 200  # rows drawn together, and kept together between builds


def table(site: Site, macro: str, rows: list[tuple[Any, ...]]) -> Markup:
    """Draw a long table's or list's rows (tuples of plain values) with a macro of _tables.html.

    In a long-running process (`site.caches` set) each chunk of rows drawn is noted in
    `site.drawn`, which the build keeps for the next (as `site.caches["rows:" + macro]`): that
    one draws again only the chunks with a changed row. The markup of a chunk depends on
    nothing but its rows (and the templates, which do not change while a process runs).
    """
    draw = getattr(_template("_tables.html").module, macro)
    if site.caches is None:
        return Markup(draw(rows))
    name = "rows:" + macro
    kept = site.caches.get(name, {})
    fresh: dict[tuple[tuple[Any, ...], ...], Markup] = site.drawn.setdefault(name, {})
    parts = []
    for i in range(0, len(rows), _CHUNK):
        chunk = tuple(rows[i : i + _CHUNK])
        got = kept.get(chunk) or fresh.get(chunk)
        if got is None:
            got = Markup(draw(chunk))
        fresh[chunk] = got
        parts.append(got)
    return Markup("").join(parts)
