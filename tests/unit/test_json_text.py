"""JSON bodies are written straight to JSON text: the bytes must be what encoding the rendered value gives."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engine.match import find_route
from mockserver.engine.render import JsonText, compile_response, compile_tree
from mockserver.scenario.load import load_catalog

ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# Template strings over the context below: typed values, text, omit, and missing names.
TEMPLATES = st.sampled_from([
    "{{ s }}", "{{ n }}", "{{ f }}", "{{ b }}", "{{ nothing }}", "{{ omit }}", "{{ s or omit }}",
    "{{ nothing or omit }}", "{{ d }}", "{{ l }}", "{{ d.k }}", "{{ d.missing }}", "{{ l[1:] }}",
    "x {{ s }} y", "{{ n + 1 }}", "{{ d.k ~ '!' }}", "{{ u }}",
])
PLAIN_TEXT = st.text(max_size=12).filter(lambda t: "{{" not in t and "{%" not in t and "{#" not in t)
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
    PLAIN_TEXT, TEMPLATES,
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
CONTEXTS = st.fixed_dictionaries({
    "s": st.text(max_size=10), "n": st.integers(-1000, 1000), "f": st.floats(allow_nan=False, allow_infinity=False),
    "b": st.booleans(), "u": st.text(alphabet="é漢\"\\\n\t\x00", max_size=5),
    "d": st.fixed_dictionaries({"k": st.one_of(st.none(), st.text(max_size=5), st.integers())}),
    "l": st.lists(st.integers(), max_size=4),
})


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.lists(VALUES, max_size=4), st.dictionaries(st.text(max_size=6), VALUES, max_size=5)),
       context=CONTEXTS)
def test_json_text_is_the_encoded_rendered_value(value: Any, context: dict[str, Any]) -> None:
    tree = compile_tree(value)
    assert tree.json_text(context) == ENCODE(tree.render(context))


@settings(max_examples=100, deadline=None)
@given(body=st.dictionaries(st.text(max_size=6), VALUES, max_size=5), context=CONTEXTS)
def test_a_response_body_is_the_same_bytes_either_way(body: dict[str, Any], context: dict[str, Any]) -> None:
    response = compile_response({"status": 200, "headers": {"X-N": "{{ n }}"}, "body": body}, "respond")
    rendered = response.render(context)
    assert rendered.body == ENCODE(compile_tree(body).render(context)).encode()
    assert rendered.headers[0] == ("X-N", str(context["n"]))


def test_items_are_spliced_only_where_a_body_reads_them_whole() -> None:
    whole = compile_response({"status": 404, "body": {"errors": "{{ items }}"}}, "r")
    assert whole.splices("items")
    spliced = whole.render({"items": JsonText('[{"id":"a"}]')})
    assert json.loads(spliced.body) == {"errors": [{"id": "a"}]}
    assert not compile_response({"status": 404, "body": {"first": "{{ items[0] }}"}}, "r").splices("items")
    assert not compile_response({"status": 404, "headers": {"X-N": "{{ items | length }}"},
                                 "body": {"errors": "{{ items }}"}}, "r").splices("items")
    assert not compile_response({"status": 404, "body": "{{ items }}"}, "r").splices("items")  # not a JSON body


def test_a_remembered_route_is_the_route_found_afresh() -> None:
    api = load_catalog().apis["reactor"]
    for method, path in [("GET", "/properties/PR1"), ("PATCH", "/properties/PR1"), ("PUT", "/properties/PR1"),
                         ("GET", "/nowhere"), ("GET", "/properties/PR1")]:
        first = find_route(api, method, path)
        assert find_route(api, method, path) is first
        api.route_cache.clear()
        again = find_route(api, method, path)
        assert (again.match, again.route, again.params, again.allowed) == (
            first.match, first.route, first.params, first.allowed)
