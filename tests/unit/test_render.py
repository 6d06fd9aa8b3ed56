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
