from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Undefined
from jinja2.exceptions import SecurityError, UndefinedError

from mockserver.engine.render import Const, TemplateError, compile_response, compile_tree, unknown_names


def test_a_whole_expression_keeps_its_type_and_text_stays_text():
    tree = compile_tree({"status": "{{ error.status }}", "text": "code {{ error.status }}", "n": 3})
    assert tree.render({"error": {"status": 404}}) == {"status": 404, "text": "code 404", "n": 3}


def test_omit_drops_members_and_items():
    tree = compile_tree({"a": "{{ x or omit }}", "b": ["{{ omit }}", "{{ 1 }}"]})
    assert tree.render({"x": None}) == {"b": [1]}
    assert tree.render({"x": "v"}) == {"a": "v", "b": [1]}


def test_constant_trees_are_folded_at_load():
    assert isinstance(compile_tree({"a": [1, "b", {"c": None}]}), Const)


def test_undefined_values_do_not_raise():
    assert compile_tree("{{ request.json.a.b.c }}").render({"request": {"json": None}}) is None
    assert compile_tree("x{{ nothing.here }}y").render({}) == "xy"


def test_the_sandbox_refuses_python_internals():
    assert compile_tree("{{ x.__class__ }}").render({"x": 1}) is None


def test_a_broken_template_names_its_field():
    with pytest.raises(TemplateError) as caught:
        compile_tree({"body": {"a": "{{ oops("}}, "error_response")
    assert caught.value.where == "error_response.body.a"


def test_a_fixed_response_is_rendered_once():
    response = compile_response({"status": 201, "body": {"message": "success"}}, "respond")
    first = response.render({})
    assert first is response.render({"anything": 1})
    assert first.body == b'{"message":"success"}'
    assert ("Content-Type", "application/json") in first.headers


def test_specialize_renders_only_what_reads_bound_names():
    tree = compile_tree({"fixed": "{{ error.title }}", "live": "{{ items }}", "mixed": "{{ error.id ~ uuid() }}"})
    special = tree.specialize({"error": {"title": "T", "id": "x"}})
    runtime = {"error": {"title": "T", "id": "x"}, "items": [1], "uuid": lambda: "-u"}
    assert special.render(runtime) == {"fixed": "T", "live": [1], "mixed": "x-u"}
    assert special.members[0][1].constant and not special.members[1][1].constant
    assert compile_tree("{{ items }}").specialize({"error": {}}).render({"items": [2]}) == [2]


EXPRESSIONS = [
    "error.status", "error.status | string", "error.missing", "error.missing.deeper", "error['title']",
    "{'pointer': error.pointer} if error.pointer else omit", "error.pointer or 'none'", "not error.pointer",
    "error.id ~ '-' ~ error.status", "[error.id, 1, none]", "error.status == 404", "'x' in error.id",
    "errors | map(attribute='id') | list", "error.title | lower", "error.id.upper()", "items[0]", "nothing",
    "dict(error, extra=1)", "dict(error, **{'status': 1})", "error.status is number", "error.pointer is none",
    "errors | selectattr('pointer') | list", "errors | rejectattr('pointer', 'none') | map(attribute='id') | join(',')",
    "items[:1]", "items[1:]", "error.title | replace('Not', 'Never')", "error | tojson",
    "'{id}-{status}'.format_map(error)", "'x' ~ none ~ error.nothing",
    "error.title.split(' ')", "range(3) | list", "errors | length", "error.get('status', 0)",
    "error.details is defined", "error.details is undefined", "error.details | default('d')", "nothing is none",
    "error.nothing | length", "error.nothing | list", "(error.nothing or 'x') ~ 'y'", "error.nothing == none",
    # dict members read without the sandbox's exception; dict methods still win over keys
    "error.keys() | list", "error.items() | list", "error.get", "error.nothing.deeper", "errors[0].title",
    # str.format / format_map with one shared sandboxed formatter
    "'{title}: {id}'.format_map(error)", "'{0}-{1}'.format(error.id, error.status)", "'{}'.format(error.title)",
    "error.title.format_map(dict(error, title='x'))", "'{status:>5}|{id!r}'.format_map(error)",
    "'{0[id]}'.format(error)", "'{a}'.format(a=error.status)",
    # list, join, selectattr, rejectattr, map(attribute=): fastfilters.py, and Jinja's path for other shapes
    "errors | selectattr('pointer') | list", "errors | rejectattr('pointer') | list",
    "errors | selectattr('nothing') | list", "errors | rejectattr('nothing', 'undefined') | list",
    "errors | selectattr('nothing', 'defined') | list", "errors | rejectattr('pointer', 'none') | list",
    "errors | map(attribute='id') | list", "errors | map(attribute='nothing', default='d') | list",
    "errors | map(attribute='nothing') | list | length", "errors | map(attribute='id') | join(', ')",
    "errors | map(attribute='status') | join(1)", "errors | join", "error.nothing | join(',')",
    "error.nothing | selectattr('x') | list", "error.nothing | map(attribute='x') | list",
    "items | selectattr('upper') | list", "items | map(attribute='items') | list | length",
    "errors | selectattr('status', 'equalto', 404) | list", "errors | selectattr('title.upper') | list",
    "errors | map('string') | list", "errors | map(attribute='0') | list", "errors | join(attribute='id')",
    "[error, {'id': 'y'}] | selectattr('pointer', 'none') | map(attribute='id') | join('+')",
    "errors | list == errors", "(errors | selectattr('pointer')) is not none",
    # found by the property below: None | string is "None"; a tuple stays one (it prints so)
    "error.pointer | string", "(error.id, error.status)", "(error.id, error.status) ~ ''",
]


TEXTS = ["a{{ error.nothing }}b", "p={{ error.pointer }}", "{{ none }}-{{ error.status }}", "n={{ error | length }}"]


@pytest.mark.parametrize("source", TEXTS)
def test_the_fast_text_path_agrees_with_jinja(source):
    from mockserver.engine.render import Text

    tree = compile_tree(source)
    assert isinstance(tree, Text)
    for error in ({"status": 404, "pointer": "/data"}, {"status": 500, "pointer": None}):
        assert tree.render({"error": error}) == tree._render_slow({"error": error})


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_the_fast_path_agrees_with_jinja(source):
    from mockserver.engine.render import Expr

    tree = compile_tree("{{ " + source + " }}")
    assert isinstance(tree, Expr)
    for error in ({"id": "not-found", "status": 404, "title": "Record Not Found", "pointer": "/data"},
                  {"id": "x", "status": 500, "title": "T", "pointer": None}):
        context = {"error": error, "errors": [error], "items": ["i"]}
        assert tree.render(context) == tree._render_slow(context)


@pytest.mark.parametrize("source", ["'{0.__class__}'.format(error)", "'{x.__class__.__mro__}'.format_map(error)",
                                    "error.__class__", "error.items.__self__", "lipsum.__globals__"])
def test_the_sandbox_still_guards_the_fast_path(source):
    from mockserver.engine.render import Expr

    tree = compile_tree("{{ " + source + " }}")
    context = {"error": {"x": 1}}
    rendered = tree.render(context)
    assert "class" not in str(rendered) and "globals" not in str(rendered)
    if isinstance(tree, Expr):
        assert rendered == tree._render_slow(context) or not rendered


def test_the_sandbox_verdict_on_an_attribute_is_kept_per_class():
    """`x.mro` is data on an object of ours and internal on a class: what one class earned, another does not."""

    class Holder:
        mro = "fine"

    tree = compile_tree("{{ x.mro }}")
    for _ in range(2):  # the second read of each takes the remembered verdict
        assert tree.render({"x": Holder()}) == "fine"
        assert tree.render({"x": int}) is None  # the sandbox's unsafe undefined, as on Jinja's path
        assert tree.render({"x": object()}) is None  # no such attribute: missing


def test_format_map_misuse_fails_as_on_jinjas_path():
    tree = compile_tree("{{ '{x}'.format_map(error, error) }}")
    with pytest.raises(TypeError, match="exactly one argument"):
        tree.render({"error": {"x": 1}})
    with pytest.raises(TypeError, match="exactly one argument"):
        tree._render_slow({"error": {"x": 1}})  # type: ignore[attr-defined]


@pytest.mark.parametrize(("source", "raised"), [
    ("{{ 'a' in request.json }}", TypeError), ("{{ request.json.get('a') }}", UndefinedError),
    ("<{{ 'a' not in request.json }}>", TypeError), ("<{{ request.json.get('a') }}>", UndefinedError),
])
def test_the_fast_path_refuses_what_jinja_refuses(source: str, raised: type[Exception]) -> None:
    """A request without JSON: `request.json` is None. Jinja raises on `'a' in none` and on calling the undefined
    `none.get`; the fast path did not (False, nothing), so one template answered two ways with its `{% if %}` form."""
    tree = compile_tree(source)
    assert "render" in vars(tree)  # on the fast path
    context = {"request": {"json": None}}
    with pytest.raises(raised):
        tree.render(context)
    with pytest.raises(raised):
        tree._render_slow(context)  # type: ignore[attr-defined]
    assert compile_tree("{{ (request.json or {}).get('a', 'none sent') }}").render(context) == "none sent"


@pytest.mark.parametrize(("source", "fast"), [
    ("errors | list", True), ("errors | join(',')", True), ("errors | selectattr('pointer')", True),
    ("errors | rejectattr('code', 'none')", True), ("errors | map(attribute='id', default='-')", True),
    ("errors | selectattr('a.b')", False), ("errors | selectattr('status', 'equalto', 1)", False),
    ("errors | map('upper')", False), ("errors | join(error.id)", False), ("errors | join(attribute='id')", False),
])
def test_the_common_filter_shapes_take_the_fast_filters(source: str, fast: bool) -> None:
    from mockserver.engine.fastfilters import fast_filter
    from mockserver.engine.render import ENV

    node = ENV.parse("{{ " + source + " }}").body[0].nodes[0]  # type: ignore[attr-defined]
    assert (fast_filter(ENV, node, lambda ctx: []) is not None) is fast


# -- the fast path against Jinja's own, on expressions made up from the shapes scenario files use -----------------
_NAMES = ["error", "errors", "items", "n", "s", "nothing", "none", "true"]
_ATTRS = ["id", "status", "title", "pointer", "nothing", "upper", "keys", "get"]
_FILTERS = ["string", "lower", "length", "list", "first", "default('d')", "join(',')", "selectattr('pointer')",
            "rejectattr('pointer', 'none')", "map(attribute='id')", "map(attribute='nothing', default='-')", "int",
            "tojson", "replace('x', 'y')", "upper", "trim"]
_TESTS = ["defined", "undefined", "none", "number", "string", "mapping"]


def _expressions() -> st.SearchStrategy[str]:
    literal = st.sampled_from(["0", "1", "404", "-1", "''", "'x'", "'id'", "none", "true", "false", "[]", "[1, 'x']",
                               "{'id': 'k'}", "(1, 2)"])
    atom = st.sampled_from(_NAMES) | literal

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds("{}.{}".format, inner, st.sampled_from(_ATTRS)),
            # subscripts of what a context gives (Jinja folds a literal's, `not 0[1:]`, to True at compile time)
            st.builds("{}[{}]".format, st.sampled_from([*_NAMES[:6], "error.title", "errors[0]", "(errors | list)"]),
                      st.sampled_from(["0", "'id'", "'nothing'", "-1", "1:", ":1"])),
            st.builds("({} {} {})".format, inner, st.sampled_from(["or", "and", "~", "==", "!=", "<"]), inner),
            # `in` anything, `none` (Jinja's TypeError) and what is missing (never in it) too
            st.builds("({} {} {})".format, inner, st.sampled_from(["in", "not in"]),
                      st.sampled_from(["errors", "items", "s", "error", "'text'", "[1, 'x']", "error.title", "none",
                                       "nothing", "error.nothing", "n"])),
            st.builds("(not {})".format, inner),
            st.builds("({} if {} else {})".format, inner, inner, inner),
            st.builds("({} | {})".format, inner, st.sampled_from(_FILTERS)),
            st.builds("({} is {})".format, inner, st.sampled_from(_TESTS)),
            st.builds("({} is not {})".format, inner, st.sampled_from(_TESTS)),
            # calls, on what is missing too (Jinja's UndefinedError: `request.json.get('a')` with no JSON)
            st.builds("{}.get({}, {})".format, st.sampled_from(["error", "nothing", "error.nothing"]), inner, inner),
            st.builds("dict({}, k=1)".format, inner),
            st.builds("[{}, {}]".format, inner, inner),
            st.builds("'{{}}-{{id}}'.format({}, id={})".format, inner, inner),
        )

    return st.recursive(atom, extend, max_leaves=6)


def _outcome(render: Any, context: dict[str, Any]) -> tuple[str, Any]:
    try:
        value = _comparable(render(context))
    except Exception:  # noqa: BLE001 - the two paths must both fail (with Jinja's SyntaxError on `0[1:]`, say)
        return "raised", None
    return "value", value


_MISSING = ("missing",)


def _comparable(value: Any) -> Any:
    """A method (`'x'.title`) is bound to equal but distinct objects on the two paths: compared by its name; a
    filter's generator (`errors | selectattr('x')` without `| list`) by what it gives."""
    if isinstance(value, Undefined):
        return _MISSING
    if isinstance(value, str):  # a method or a filter's generator printed: `<generator object _select at 0x7f...>`
        # Its address may have been through a filter too: `| replace('x', 'y')` gives `0y7f...`, `| upper` `AT 0X7F`.
        return re.sub(r"<generator object \w+", "<generator", re.sub(r" at [^>]*>", ">", value, flags=re.I), flags=re.I)
    if isinstance(value, Iterator):
        return "iterator", [_comparable(v) for v in value]
    if isinstance(value, list | tuple):
        return type(value)(map(_comparable, value))
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return ("callable", getattr(value, "__qualname__", "")) if callable(value) else value


@settings(max_examples=400, deadline=None)
@given(_expressions(), st.sampled_from([{"id": "not-found", "status": 404, "title": "Not Found", "pointer": "/data"},
                                        {"id": "x", "status": 500, "title": "", "pointer": None}, {}]))
def test_any_expression_renders_on_the_fast_path_as_on_jinjas(source: str, error: dict[str, Any]) -> None:
    """engine/fastexpr.py compiles the expression shapes scenario files use to closures that must give what Jinja's
    sandboxed `compile_expression` gives (and print, in a text, as its template prints), or fail where it fails:
    here on expressions made up of those shapes."""
    from mockserver.engine.render import Expr

    with warnings.catch_warnings():  # Python's compile of Jinja's code for `-1[1:]` warns (pytest: an error)
        warnings.simplefilter("ignore", SyntaxWarning)
        tree = compile_tree("{{ " + source + " }}")
        text = compile_tree("<{{ " + source + " }}>")  # the same expression printed in a text (compile_fast_text)
    if not isinstance(tree, Expr) or "render" not in vars(tree):  # a constant, or one the fast path leaves to Jinja
        return
    context = {"error": error, "errors": [error, {"id": "y", "pointer": "/p"}], "items": ["i", "j"], "n": 3,
               "s": "text"}
    assert _outcome(tree.render, context) == _outcome(tree._render_slow, context), source
    if "render" in vars(text):
        assert _outcome(text.render, context) == _outcome(text._render_slow, context), source


@pytest.mark.parametrize("source, n", [
    ("{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}x", 99999),  # 10**10 steps
    ("{% set s = 'x' * n %}{% for i in s %}{% for j in s %}{% endfor %}{% endfor %}", 999999),  # no range() in it
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(n) }}", 60),  # 2**60 calls
    ("{% for i in range(999) %}{{ range(n) | list | length }}{% endfor %}", 99999),  # range() items, not iterations
], ids=["loop-in-a-loop", "over-text", "macro", "range-in-a-loop"])
def test_a_render_takes_a_bounded_number_of_steps(source: str, n: int) -> None:
    """Jinja's sandbox bounds one range() (100,000 items), not a loop in a loop: the server hung on the first. The
    templates read `n`: one reading nothing of the request is rendered at load, and refused there."""
    with pytest.raises(SecurityError, match="the template takes over 1,000,000 steps to render"):
        compile_tree(source).render({"n": n})
    constant = source.replace("range(n)", "range(99999)").replace("* n", "* 999999").replace("f(n) }}", "f(60) }}")
    [told] = unknown_names(constant, "body", frozenset({"request"}))
    assert told.message.startswith("template fails on every render: SecurityError: the template takes over")


def test_the_budget_is_each_renders_own_and_lets_a_long_loop_through() -> None:
    tree = compile_tree("{% for i in range(99999) if i % 2 %}{{ loop.length }}{% endfor %}"
                        "{% for x in items %}{{ x.upper() }}{% endfor %}")
    for _ in range(3):  # a render's steps are not the next one's
        out = tree.render({"items": ["a"] * 20_000})
        assert out.startswith("49999") and out.endswith("A" * 20_000)
    assert compile_tree("{{ range(3) | list }}").render({}) == [0, 1, 2]  # the fast path's range() too
