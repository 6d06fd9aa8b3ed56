from __future__ import annotations

import pytest

from mockserver.engine.render import Const, TemplateError, compile_response, compile_tree


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
