"""engine/render.py: behaviour a mutation audit found no test held (the bounds of a render, trees made at load)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from mockserver.engine.render import compile_response, compile_tree


def test_a_render_may_take_exactly_a_million_steps() -> None:
    """README ("one render may take a million steps (a `{% for %}`'s iteration ... is one, a call ten"): a loop (a
    call, as the sandbox wraps its items, then 999,990 iterations) takes exactly a million and renders; one more
    iteration is the mock's 500 (SecurityError), not one fewer."""
    tree = compile_tree("{% for c in s %}{% endfor %}done")
    assert tree.render({"s": "x" * 999_990}) == "done"
    with pytest.raises(SecurityError, match="takes over 1,000,000 steps"):
        tree.render({"s": "x" * 999_991})


@pytest.mark.parametrize(("template", "fine", "measure", "made", "over"), [
    ("{{ s * n }}", {"s": "ab", "n": 5_000_000}, len, 10_000_000, {"s": "ab", "n": 5_000_001}),
    ("{{ n * s }}", {"s": "ab", "n": 5_000_000}, len, 10_000_000, {"s": "ab", "n": 5_000_001}),
    ("{{ l * n }}", {"l": [0, 1], "n": 1}, len, 2, {"l": [0, 1], "n": 5_000_001}),
    ("{{ n ** m }}", {"n": 2, "m": 5_000_000}, int.bit_length, 5_000_001, {"n": 2, "m": 5_000_001}),
    ("{{ n ** m }}", {"n": 1, "m": 10**12}, int, 1, {"n": 2, "m": 10**12}),
    ("{{ n ** m }}", {"n": -1, "m": 10**12}, int, 1, {"n": -2, "m": 10**12}),
])
def test_star_and_double_star_make_up_to_ten_million_and_no_more(template: str, fine: dict[str, Any], measure: Any,
                                                                  made: int, over: dict[str, Any]) -> None:
    """README: "In templates `*` and `**` may not make more than ten million characters, items or bits". Ten million
    exactly is made, one more is refused (SecurityError, the mock's 500) before anything is made; a power of 1 or
    -1 makes one bit whatever its exponent."""
    tree = compile_tree(template)
    assert measure(tree.render(fine)) == made
    with pytest.raises(SecurityError, match="too large"):
        tree.render(over)


def test_a_list_is_specialized_member_by_member() -> None:
    """docs/architecture.md ("Templates": a documented error's own parts are rendered into its templates at load,
    `Tree.specialize`): in a list, only the items that read the bound names alone are rendered then; an item reading
    the request (`items`) is rendered with each request, not frozen as missing."""
    tree = compile_tree({"errors": ["{{ error.title }}", "{{ items }}", "x"]})
    special = tree.specialize({"error": {"title": "T"}})
    assert special.render({"error": {"title": "T"}, "items": [1]}) == {"errors": ["T", [1], "x"]}
    assert compile_tree(["{{ error.title }}", "{{ items }}"]).specialize({"error": {"title": "T"}}).render(
        {"items": [2]}) == ["T", [2]]


def test_omit_printed_in_a_text_is_its_name() -> None:
    """`omit` leaves out a member or an item that is it whole (docs/architecture.md, "Templates:"); printed inside a
    text it is the word, not a failed render (the mock's 500)."""
    assert compile_tree("x {{ omit }}").render({}) == "x omit"
    assert compile_tree("x {% if true %}{{ omit }}{% endif %}").render({}) == "x omit"


@pytest.mark.parametrize("status", [0, 99, 600, 1000])
def test_a_status_template_rendering_an_integer_outside_100_to_599_fails(status: int) -> None:
    """README (an answer no server could send is refused): a status template giving an integer out of 100..599 is
    the mock's 500 (ValueError), never a status line the servers cannot write; 100 and 599 are sent."""
    response = compile_response({"status": "{{ n }}", "body": {"a": 1}}, "respond")
    assert response.render({"n": 100}).status == 100 and response.render({"n": 599}).status == 599
    with pytest.raises(ValueError, match="is not an HTTP status"):
        response.render({"n": status})


def test_an_undefined_value_inside_a_body_is_named_when_it_fails() -> None:
    """A body holding an undefined value (`[error.nothing]`) cannot be JSON: the mock's 500 names what was read
    (docs/architecture.md: the exception is named), not only its type."""
    tree = compile_tree({"a": "{{ [error.nothing] }}"})
    with pytest.raises(TypeError, match="nothing is undefined"):
        tree.json_text({"error": {}})


def test_an_expression_the_fast_path_takes_is_never_compiled_by_jinja() -> None:
    """render.py's Expr: Jinja compiles an expression to Python code (about a millisecond each), so only those the
    fast path cannot take pay that; `{{ error.status }}` and its like, in every answer of every API, are rendered
    without it, at load and per request (bench/: the hot path's cost)."""
    tree = compile_tree("{{ error.fields.id | default('x') }}")
    assert tree.render({"error": {"fields": {"id": 7}}}) == 7
    assert tree.render({"error": {}}) == "x"
    assert not hasattr(tree, "compiled")


def test_a_member_an_error_leaves_out_at_load_is_left_out_of_the_json_body() -> None:
    """docs/architecture.md: a member that renders to `omit` is left out, and an error's own parts are rendered into
    its templates at load (`specialize`). A documented error without a `detail` must answer a body without the member
    (valid JSON), not `"detail":omit`, while the members read per request (its items) stay."""
    response = compile_response({"status": 400, "body": {"title": "{{ error.title }}",
                                                         "detail": "{{ error.detail | default(omit) }}", "n": 1,
                                                         "errors": "{{ items }}"}}, "error_response")
    bound = {"error": {"title": "Bad"}}
    special = response.specialize(bound)
    assert json.loads(special.render({"items": [1]}).body) == {"title": "Bad", "n": 1, "errors": [1]}
    assert json.loads(response.render({**bound, "items": [1]}).body) == {"title": "Bad", "n": 1, "errors": [1]}
