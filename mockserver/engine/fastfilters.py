"""Jinja's `list`, `join`, `selectattr`, `rejectattr` and `map(attribute=...)` in the shapes scenario
files use (constant arguments, a plain attribute name, a test that takes no argument), as closures.

Jinja runs each through an async-or-not wrapper, an evaluation or template context made for the call,
and an attribute getter prepared per call: DCS's answers use five of them. These do what Jinja's own
code does for those shapes (`jinja2/filters.py`: sync_do_list, sync_do_join, select_or_reject,
make_attrgetter, sync_do_map), lazily where Jinja is lazy; every other shape returns None and takes
Jinja's path. tests/unit/test_render.py compares both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import Undefined, nodes
from jinja2 import filters as jinja_filters
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

Fast = Callable[[Mapping[str, Any]], Any]


def fast_filter(env: SandboxedEnvironment, node: nodes.Filter, target: Fast) -> Fast | None:
    """A closure for `target | name(...)`, or None when Jinja's own path should run."""
    name = node.name
    if env.filters.get(name) is not jinja_filters.FILTERS.get(name) or node.dyn_args or node.dyn_kwargs:
        return None  # a filter replaced in this environment, or *args / **kwargs: Jinja's path
    args = [a.value for a in node.args if isinstance(a, nodes.Const)]
    kwargs: dict[str, Any] = {str(k.key): k.value.value for k in node.kwargs if isinstance(k.value, nodes.Const)}
    if len(args) != len(node.args) or len(kwargs) != len(node.kwargs):
        return None  # an argument computed per request
    if name == "list" and not args and not kwargs:
        return lambda ctx: list(target(ctx))
    if name == "join" and not kwargs and len(args) <= 1 and not env.autoescape:
        separator = str(args[0]) if args else ""
        return lambda ctx: separator.join(map(str, target(ctx)))
    if name in ("selectattr", "rejectattr") and not kwargs and 1 <= len(args) <= 2:
        chosen = _attribute_getter(env, args[0])
        test = _plain_test(env, args[1]) if len(args) == 2 else bool
        if chosen is None or test is None:
            return None
        getter, keep = chosen, name == "selectattr"
        return lambda ctx: _select(target(ctx), getter, test, keep)
    if name == "map" and not args and set(kwargs) <= {"attribute", "default"} and "attribute" in kwargs:
        mapped = _attribute_getter(env, kwargs["attribute"], kwargs.get("default"))
        if mapped is None:
            return None
        getter_ = mapped
        return lambda ctx: _map(target(ctx), getter_)
    return None


def _attribute_getter(env: SandboxedEnvironment, attribute: Any, default: Any = None) -> Callable[[Any], Any] | None:
    """make_attrgetter for one plain name (not dotted, not an index): the environment's getitem."""
    if not isinstance(attribute, str) or "." in attribute or attribute.isdigit():
        return None
    getitem = env.getitem

    def get(item: Any) -> Any:
        if item.__class__ is dict and attribute in item:
            return item[attribute]  # what getitem returns for a key that is there
        return getitem(item, attribute)

    if default is None:
        return get

    def get_or_default(item: Any) -> Any:
        value = get(item)  # a dict's member too may be undefined: `{'x': error.nothing}`
        return default if isinstance(value, Undefined) else value

    return get_or_default


def _plain_test(env: SandboxedEnvironment, name: Any) -> Callable[[Any], Any] | None:
    """A test such as `none` or `undefined` that takes the value alone and no context."""
    test: Any = env.tests.get(name) if isinstance(name, str) else None
    if test is None or _PassArg.from_obj(test) is not None:
        return None
    return test  # type: ignore[no-any-return]


def _select(value: Any, getter: Callable[[Any], Any], test: Callable[[Any], Any], keep: bool) -> Iterator[Any]:
    if value:
        for item in value:
            if bool(test(getter(item))) is keep:
                yield item


def _map(value: Any, getter: Callable[[Any], Any]) -> Iterator[Any]:
    if value:
        for item in value:
            yield getter(item)
