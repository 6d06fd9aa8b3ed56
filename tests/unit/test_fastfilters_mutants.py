"""engine/fastfilters.py's closures give what Jinja's own filters give: shapes a mutation audit found no test held.

A scenario file's template is Jinja (docs/architecture.md, "Templates:"; "Performance": `list`, `join`,
`selectattr`, `rejectattr` and `map(attribute=)` with constant arguments run as closures doing what Jinja's own code
does). Whatever shape takes the fast path, a client must get the bytes Jinja's `SandboxedEnvironment` renders.
"""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from mockserver.engine.fastexpr import compile_fast
from mockserver.engine.fastfilters import fast_filter
from mockserver.engine.render import Expr, compile_tree
from tests.unit.test_render import _outcome

ERROR = {"id": "not-found", "status": 404, "title": "Not Found", "pointer": "/data"}
CONTEXT = {"error": ERROR, "errors": [ERROR, {"id": "y", "pointer": None}], "items": ["i", "j"]}


def _fast_and_jinja(source: str, context: dict[str, Any] | None = None, fast: bool = True) -> tuple[Any, Any]:
    """The expression as the server renders it (on the fast path, when `fast`) and on Jinja's."""
    tree = compile_tree("{{ " + source + " }}")
    assert isinstance(tree, Expr) and ("render" in vars(tree)) is fast, source
    context = CONTEXT if context is None else context
    return _outcome(tree.render, context), _outcome(tree._render_slow, context)


@pytest.mark.parametrize(("source", "fast"), [
    ("errors | map(attribute='id') | join(*[','])", False),  # the separator given through *args: Jinja's path
    ("errors | map(attribute='id') | join(**{'d': '+'})", False),
    ("errors | join(',', 'id')", True),  # join's second positional argument is the attribute to join
    ("errors | join('', 'id')", True),
])
def test_join_with_arguments_the_closure_does_not_take_is_jinjas_join(source: str, fast: bool) -> None:
    """`join(',', 'id')` joins each item's `id` and `join(*seps)` takes its separator from a list, as Jinja does
    (its `join(d, attribute)` filter). A closure that read only the first constant argument would print the
    items' reprs or no separator: the body a client parses would not be the one documented."""
    rendered, jinja = _fast_and_jinja(source, fast=fast)
    assert rendered == jinja
    assert rendered[1] in ("not-found,y", "not-found+y", "not-foundy")


class _Shouting(SandboxedEnvironment):
    """An environment whose `join` is its own: the fast path must use it, not Jinja's."""

    def __init__(self) -> None:
        super().__init__()
        self.filters = {**self.filters, "join": lambda value, d="": d.join(map(str, value)).upper()}


def test_a_filter_an_environment_replaces_is_never_taken_for_jinjas() -> None:
    """fast_filter stands in for Jinja's own filters only: where an environment has replaced one (`join` here),
    the expression runs the replacement, never the closure that copies Jinja's."""
    env = _Shouting()
    node = env.parse("{{ items | join('-') }}").body[0].nodes[0]  # type: ignore[attr-defined]
    assert isinstance(node, nodes.Filter)
    assert fast_filter(env, node, lambda ctx: ["a", "b"]) is None
    compiled = compile_fast(env, node)
    assert compiled is not None and compiled({"items": ["a", "b"]}) == "A-B"


@pytest.mark.parametrize("source", ["errors | selectattr | list", "errors | rejectattr() | list"])
@pytest.mark.parametrize("errors", [[ERROR], []])
def test_selectattr_without_an_attribute_fails_where_jinja_fails(source: str, errors: list[Any]) -> None:
    """`selectattr` with no attribute name is Jinja's FilterArgumentError when a request has items, and an empty list
    when it has none: the template loads (no traceback from `mockserver validate`) and renders as Jinja renders it."""
    rendered, jinja = _fast_and_jinja(source, {"errors": errors})
    assert rendered == jinja == (("raised", None) if errors else ("value", []))


@pytest.mark.parametrize("source", ["[{'x': error.nothing}] | map(attribute='x', default='d') | list",
                                    "[{'x': error.nothing}, {}] | map(attribute='x', default='d') | join(',')"])
def test_map_gives_its_default_for_a_member_that_is_undefined(source: str) -> None:
    """Jinja's `map(attribute=..., default=...)` gives the default wherever the attribute is undefined, a member
    holding an undefined value included (make_attrgetter checks what getitem returned). The fast path returned a
    dict's member as it was: `['d']` became `[Undefined]` (the body's "nothing is undefined", a 500) and `d,d` `,d`."""
    rendered, jinja = _fast_and_jinja(source, {"error": {}})
    assert rendered == jinja


@pytest.mark.parametrize("source", ["items | map(attribute='i') | list", "items | selectattr('i') | list",
                                    "items | map(attribute='i', default='-') | join(',')",
                                    "errors | map(attribute='id') | list"])
def test_an_attribute_is_read_as_jinja_reads_it_whatever_the_item(source: str) -> None:
    """make_attrgetter reads an item's attribute with the sandbox's getitem: a string item `'i'` has no member 'i'
    (though `'i' in 'i'`), so it is undefined, not a TypeError; a dict's key is its value. Only a dict's key is read
    directly on the fast path."""
    rendered, jinja = _fast_and_jinja(source)
    assert rendered == jinja and rendered[0] == "value"


@pytest.mark.parametrize("source", ["[{'x': 'upper'}, {'x': 'nope'}] | selectattr('x', 'filter') | list",
                                    "[{'x': 'none'}, {'x': 'nope'}] | rejectattr('x', 'test') | list",
                                    "errors | selectattr('id', 'nothing_such') | list"])
def test_a_test_that_takes_the_environment_or_is_unknown_is_jinjas(source: str) -> None:
    """`selectattr('x', 'filter')` asks Jinja's `filter` test, which takes the environment first (pass_environment),
    whether each item's `x` names a filter; an unknown test is Jinja's error on a list that has items. The fast path
    takes only tests of the value alone: these stay Jinja's, with its answer."""
    rendered, jinja = _fast_and_jinja(source)
    assert rendered == jinja
    assert rendered[0] == ("raised" if "nothing_such" in source else "value")
