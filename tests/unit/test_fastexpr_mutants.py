"""engine/fastexpr.py's closures give what Jinja's sandboxed expressions give: cases a mutation audit found untested.

A scenario file's template is Jinja (docs/architecture.md, "Templates:"), rendered in `SandboxedEnvironment`; the
fast path ("Performance": common expressions compiled from Jinja's AST, sandbox checks kept) must give the same value
of the same type, print the same text, and refuse what the sandbox refuses: a client reads the bytes Jinja renders.
"""

from __future__ import annotations

from typing import Any

import pytest
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from mockserver.engine.fastexpr import compile_fast
from mockserver.engine.generate import Generator
from mockserver.engine.render import ENV, Expr, TemplateError, Text, compile_tree
from tests.unit.test_render import _outcome

ERROR = {"id": "not-found", "status": 404, "title": "Not Found", "pointer": "/data"}
CONTEXT = {"error": ERROR, "errors": [ERROR, {"id": "y", "pointer": None}], "items": ["i", "j"], "n": 3}


def _both(template: str, context: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """The template as the server renders it (checked to be the fast path) and as Jinja renders it."""
    tree = compile_tree(template)
    assert isinstance(tree, Expr | Text) and "render" in vars(tree), "the fast path should take " + template
    context = dict(CONTEXT if context is None else context)
    return _outcome(tree.render, context), _outcome(tree._render_slow, context)


# -- bugs the audit found, fixed ----------------------------------------------------------------------------------

@pytest.mark.parametrize("template", ["<{{ error.nothing if error.nothing }}>", "{{ ('a' if false) ~ 'b' }}",
                                      "{{ ('a' if false) is defined }}", "{{ ('a' if false) | default('d') }}"])
def test_an_inline_if_without_else_is_undefined_as_in_jinja(template: str) -> None:
    """Jinja: "the else part is optional. If not provided, the else block implicitly evaluates to an Undefined
    object" (Template Designer Documentation, If Expression). So `<{{ x if x }}>` prints `<>`, and `default`
    and `is defined` see a missing value; the fast path gave None: `<None>`, `Noneb`, True, None."""
    fast, jinja = _both(template)
    assert fast == jinja


@pytest.mark.parametrize("template", ["{{ (error.nothing | selectattr('x')).send(none) }}",
                                      "<{{ (errors | map(attribute='id') | list | selectattr('x')).send(none) }}>"])
def test_a_call_that_raises_stop_iteration_is_undefined_as_in_jinja(template: str) -> None:
    """Jinja's `Context.call` turns a StopIteration from a called function into undefined ("value was undefined
    because a callable raised a StopIteration exception"): the template prints nothing. The fast path's call let
    it through, and the answer was the mock's 500 instead."""
    fast, jinja = _both(template, {"error": {}, "errors": []})
    assert jinja[0] == "value" and fast == jinja


# -- what takes the fast path -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("template", [
    "{{ n }}", "{{ error.id }}", "{{ errors[0] }}", "{{ n == 3 }}", "{{ n != 3 }}", "{{ n < 3 }}", "{{ n > 3 }}",
    "{{ n <= 3 }}", "{{ n >= 3 }}", "{{ 'i' in items }}", "{{ 'i' not in items }}", "{{ error.get('id') }}",
    "{{ error.id if n else 'x' }}", "{{ error.id ~ '-' ~ n }}", "{{ '{id}'.format_map(error) }}", "{{ not n }}",
    "id={{ error.id }}", "{{ n }}/{{ error.status }}", "{{ error.title | lower }}", "{{ errors | length }}",
    "{{ items[1:] }}", "{{ items[::2] }}", "{{ (error.id, n) }}",
])
def test_the_common_expressions_take_the_fast_path_and_give_jinjas_value(template: str) -> None:
    """docs/architecture.md ("Performance", Templates): names, attributes, items, calls, comparisons, `~`, inline
    ifs, format_map, filters and texts of literal parts and such expressions run as closures (about 1 µs, where
    Jinja's compiled expression costs about 50), every one with the value Jinja gives."""
    fast, jinja = _both(template)
    assert fast == jinja and fast[0] == "value"


# -- calls ------------------------------------------------------------------------------------------------------------

def _generated(template: str) -> tuple[Any, Any]:
    """The template on the fast path and on Jinja's, each with its own request generator seeded alike."""
    tree = compile_tree(template)
    assert "render" in vars(tree), "the fast path should take " + template
    outcomes = []
    for render in (tree.render, tree._render_slow):
        generator = Generator(7, "session", 1)
        context = {"hex": generator.hex, "uuid": generator.uuid, "randint": generator.integer,
                   "token": generator.token, "digits": generator.digits, "items": [6, 4]}
        outcomes.append(_outcome(render, context))
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize("template", [
    "{{ hex(8) }}", "{{ uuid() }}", "{{ randint(3, 9) }}", "{{ randint(low=3, high=9) }}", "{{ token(length=5) }}",
    "{{ hex(*items[:1]) }}", "{{ randint(*items[1:], **{'high': 9}) }}", "{{ digits() }}",
    "id-{{ hex(4) }}-{{ uuid() }}",
])
def test_the_generators_functions_are_called_as_jinja_calls_them(template: str) -> None:
    """`hex(n)`, `uuid()`, `randint(a, b)`, `token(n)` (docs/architecture.md, "Templates:") are in every error answer,
    so the fast path calls them without the sandbox's lookups: with positional, named, `*` and `**` arguments they
    give what Jinja's call gives from the same seeded stream (or the same TypeError: `digits()` needs a length)."""
    fast, jinja = _generated(template)
    assert fast == jinja
    assert fast[0] == ("raised" if "digits()" in template else "value")


@pytest.mark.parametrize("template", ["{{ '{}-{}'.format(*items) }}", "{{ dict(**error) }}", "{{ error.get(*['id']) }}",
                                      "{{ error.get(*['nothing', 0]) }}", "{{ dict(*[error], **{'extra': 1}) }}"])
def test_a_call_with_star_arguments_passes_them_as_jinja_does(template: str) -> None:
    """`f(*args, **kwargs)` in a template passes the list and mapping as Python does, on either path."""
    fast, jinja = _both(template)
    assert fast == jinja and fast[0] == "value"


# -- the sandbox's verdict ----------------------------------------------------------------------------------------

class _Holder:
    def __init__(self, value: str) -> None:
        self.a = value


class _ByValue(SandboxedEnvironment):
    """A sandbox whose verdict on an attribute depends on its value, not only on the class and the name."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return value != "secret" and super().is_safe_attribute(obj, attr, value)


def test_a_sandbox_judging_by_value_is_asked_on_every_read() -> None:
    """fastexpr remembers the sandbox's verdict per class only where the verdict is SandboxedEnvironment's own, which
    depends on the class and the name alone (`is_internal_attribute`); an environment that judges by value is asked
    each time, as Jinja asks it: a class allowed once does not let a refused value through."""
    env = _ByValue()
    node = env.parse("{{ x.a }}").body[0].nodes[0]  # type: ignore[attr-defined]
    read = compile_fast(env, node)
    assert read is not None
    assert read({"x": _Holder("fine")}) == "fine"
    assert read({"x": _Holder("secret")}) is None  # the sandbox's unsafe undefined, as on Jinja's path
    assert env.compile_expression("x.a", undefined_to_none=True)(x=_Holder("secret")) is None


def _deletes() -> str:
    return "deleted"


_deletes.alters_data = True  # type: ignore[attr-defined]


@pytest.mark.parametrize("template", ["{{ f() }}", "{{ f(1) }}", "{{ f(*[]) }}", "{{ f(**{}) }}", "x{{ f() }}"])
def test_a_call_the_sandbox_refuses_is_refused_on_the_fast_path(template: str) -> None:
    """Jinja's sandbox refuses to call what is marked `alters_data` or `unsafe_callable` (SecurityError: "... is not
    safely callable"); the fast path asks it the same question before any call that is not one of ours."""
    tree = compile_tree(template)
    assert "render" in vars(tree)
    for render in (tree.render, tree._render_slow):
        with pytest.raises(SecurityError, match="is not safely callable"):
            render({"f": _deletes})


@pytest.mark.parametrize(("template", "outcome"), [
    ("{{ '{id}'.format_map(error, x=1) }}", "raised"), ("{{ '{id}'.format_map() }}", "raised"),
    ("{{ error.format_map }}", "value"), ("{{ error.format }}", "value"), ("{{ error.id.format_map(error) }}", "value"),
])
def test_format_and_format_map_are_the_sandboxs_own(template: str, outcome: str) -> None:
    """`str.format_map` takes exactly one mapping (a keyword argument is Python's and Jinja's TypeError); `format` and
    `format_map` of what is not a string are that object's (a dict's are missing), not a string formatter."""
    fast, jinja = _both(template)
    assert fast == jinja and fast[0] == outcome


# -- filters and tests: the first argument Jinja passes them -----------------------------------------------------------

@pytest.mark.parametrize("template", [
    "{{ items | sort | list }}", "{{ errors | sort(attribute='id') | map(attribute='id') | list }}",
    "{{ error | attr('id') }}", "{{ items | unique | list }}", "{{ items | max }}",  # pass_environment
    "{{ items | map('upper') | map('lower') | list }}", "{{ errors | map(attribute='id') | select('string') | list }}",
    "{{ error | tojson }}", "{{ items | join(',') | wordcount }}",
])
def test_filters_get_the_environment_or_context_jinja_gives_them(template: str) -> None:
    """Jinja passes some filters its environment (`sort`, `attr`, `unique`, `max`), others the template context (`map`,
    `select`) or the evaluation context (`tojson`); the fast path passes each the same, and one context serves every
    filter of an answer."""
    fast, jinja = _both(template)
    assert fast == jinja and fast[0] == "value"


@pytest.mark.parametrize("template", ["{{ error.id is nosuch }}", "{{ error.id | nosuch }}"])
def test_a_test_or_filter_jinja_does_not_know_is_refused_at_load(template: str) -> None:
    """`x is nosuch` and `x | nosuch` are Jinja's TemplateAssertionError when the template compiles: `mockserver
    validate` names the field, instead of every request failing."""
    with pytest.raises(TemplateError, match="template does not compile"):
        compile_tree({"a": template})


class _Upper(SandboxedEnvironment):
    def __init__(self) -> None:
        super().__init__()
        self.filters = {**self.filters, "upper": lambda value: f"<{value}>"}


def test_a_context_made_for_one_environment_is_not_given_to_anothers_filters() -> None:
    """The Jinja context made for an answer's filters is its environment's: the same values rendered in another
    environment (its own `upper`) give that environment's filters to `map('upper')`."""
    context = {"items": ["a"]}
    for env, expected in ((ENV, ["A"]), (_Upper(), ["<a>"])):
        node = env.parse("{{ items | map('upper') | list }}").body[0].nodes[0]  # type: ignore[attr-defined]
        compiled = compile_fast(env, node)
        assert compiled is not None and compiled(context) == expected
