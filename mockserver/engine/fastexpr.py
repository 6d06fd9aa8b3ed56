"""A fast path for the template expressions scenario files use most, compiled from Jinja's own AST.

Jinja's `compile_expression` builds a fresh context on every call (about 50 µs); an answer has a
dozen expressions. Names, attributes, items, calls, literals, `or`/`and`/`not`, `x if c else y`,
comparisons and plain filters are compiled here into closures instead (about 1 µs). Attribute and
item access, and calls, go through the sandbox's own checks, so the sandbox stays the judge. An
expression using anything else returns None from `compile_fast` and Jinja renders it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter
from jinja2.utils import _PassArg

from mockserver.engine.fastfilters import fast_filter

Fast = Callable[[Mapping[str, Any]], Any]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "gt": operator.gt, "lteq": operator.le,
    "gteq": operator.ge, "in": lambda a, b: a in b, "notin": lambda a, b: a not in b,  # `x in none`: Jinja's TypeError
}


_DICT_NAMES = frozenset(dir(dict))  # what getattr finds on a dict before its keys
_MISSING = object()
_TRUSTED: set[Any] = set()  # functions of ours that templates call on every request


def trust(function: Any) -> Any:
    """Mark one of our own functions (or methods) as safe to call, sparing the sandbox's lookups."""
    _TRUSTED.add(function)
    return function


class _Unsupported(Exception):
    pass


def compile_fast(env: SandboxedEnvironment, node: nodes.Node) -> Fast | None:
    """The expression as a closure; a missing value comes out as None (as `undefined_to_none`)."""
    try:
        inner = _compile(env, node)
    except _Unsupported:
        return None

    def evaluate(ctx: Mapping[str, Any]) -> Any:
        value = inner(ctx)
        return None if isinstance(value, Undefined) else value

    return evaluate


def compile_fast_text(env: SandboxedEnvironment, source: str) -> Fast | None:
    """`CO{{ hex(32) }}`-style text: literal parts and fast expressions, joined."""
    try:
        body = env.parse(source).body
    except Exception:  # noqa: BLE001 - Jinja reports the syntax error itself on the slow path
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output):
        return None
    parts: list[Fast | str] = []
    for child in body[0].nodes:
        if isinstance(child, nodes.TemplateData):
            parts.append(child.data)
        else:
            try:
                parts.append(_compile(env, child))  # undefined stays undefined: it prints as ""
            except _Unsupported:
                return None

    def render(ctx: Mapping[str, Any]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(str(part(ctx)))  # as Jinja prints: None is "None", undefined is ""
        return "".join(out)

    return render


def _compile(env: SandboxedEnvironment, node: nodes.Node) -> Fast:
    if isinstance(node, nodes.Const):
        value = node.value
        return lambda ctx: value
    if isinstance(node, nodes.Name):
        name = node.name  # (never `true`, `none` ...: Jinja's parser makes those constants)
        # A missing name is Jinja's undefined object, not None: `is defined`, `default` and filters
        # then behave as on Jinja's own path.
        default = env.globals[name] if name in env.globals else env.undefined(name=name)
        return lambda ctx: ctx.get(name, default)
    if isinstance(node, nodes.Getattr):
        target, attr = _compile(env, node.node), node.attr
        getattr_ = env.getattr
        if attr in ("format", "format_map"):
            return _str_format(env, target, attr)
        if attr in _DICT_NAMES:  # `x.items` is the method first, for a dict as for anything
            return lambda ctx: getattr_(target(ctx), attr)
        undefined = env.undefined
        # Classes whose `attr` the sandbox allowed: its verdict depends on the class and the name alone
        # (`is_internal_attribute`), so it is asked once per class, not on every request.
        allowed: set[type] = set()
        by_class = type(env).is_safe_attribute is SandboxedEnvironment.is_safe_attribute

        def get_attribute(ctx: Mapping[str, Any]) -> Any:
            obj = target(ctx)
            cls = obj.__class__
            if cls is dict:  # what the sandbox ends with for a dict, without its exception
                value = obj.get(attr, _MISSING)
                return undefined(obj=obj, name=attr) if value is _MISSING else value
            if cls in allowed:
                value = getattr(obj, attr, _MISSING)
                if value is not _MISSING:
                    return value
            elif by_class and len(allowed) < 64 and env.is_safe_attribute(obj, attr, None):
                allowed.add(cls)
            return getattr_(obj, attr)

        return get_attribute
    if isinstance(node, nodes.Getitem):
        target, key = _compile(env, node.node), _compile(env, node.arg)
        if isinstance(node.arg, nodes.Slice):  # as Jinja's code does: a slice bypasses getitem (a dict's raises)
            return lambda ctx: target(ctx)[key(ctx)]
        getitem = env.getitem

        def get_item(ctx: Mapping[str, Any]) -> Any:
            return getitem(target(ctx), key(ctx))

        return get_item
    if isinstance(node, nodes.Call):
        func, args = _compile(env, node.node), [_compile(env, a) for a in node.args]
        kwargs: list[tuple[str, Fast]] = [(str(k.key), _compile(env, k.value)) for k in node.kwargs]
        star = _compile(env, node.dyn_args) if node.dyn_args is not None else None
        double_star = _compile(env, node.dyn_kwargs) if node.dyn_kwargs is not None else None

        simple = not kwargs and star is None and double_star is None
        only = args[0] if simple and len(args) == 1 else None  # `dcs.message(error)`, `hex(32)`

        def call(ctx: Mapping[str, Any]) -> Any:
            target = func(ctx)
            if isinstance(target, Undefined):
                return target()  # calling something missing raises Jinja's UndefinedError, as Jinja's own path does
            if getattr(target, "__func__", target) in _TRUSTED:  # uuid(), request_id() ...: every answer
                if only is not None:
                    return target(only(ctx))
                if simple:
                    return target(*(a(ctx) for a in args))
                head: list[Any] = []
            elif not env.is_safe_callable(target):
                raise SecurityError(f"{target!r} is not safely callable")
            else:
                head = _passed(env, _PassArg.from_obj(target), ctx)
            positional = [*head, *(a(ctx) for a in args)]
            if star is not None:
                positional.extend(star(ctx) or ())
            named = {k: v(ctx) for k, v in kwargs}
            if double_star is not None:
                named.update(double_star(ctx) or {})
            try:
                return target(*positional, **named)
            except StopIteration:  # as Jinja's Context.call: a generator's end is no error of the template's
                return env.undefined("value was undefined because a callable raised a StopIteration exception")

        if simple and not args:
            def call_bare(ctx: Mapping[str, Any]) -> Any:
                """`uuid()`, `request_id()`: in every error answer, so without the general path's lists."""
                target = func(ctx)
                if getattr(target, "__func__", None) in _TRUSTED:
                    return target()
                return call(ctx)

            return call_bare
        return call
    if isinstance(node, nodes.Test):
        return _test(env, node)
    if isinstance(node, nodes.Slice):
        parts = [_compile(env, p) if p is not None else None for p in (node.start, node.stop, node.step)]
        return lambda ctx: slice(*(p(ctx) if p is not None else None for p in parts))
    if isinstance(node, nodes.Filter):
        return _filter(env, node)
    if isinstance(node, nodes.Or):
        left, right = _compile(env, node.left), _compile(env, node.right)
        return lambda ctx: left(ctx) or right(ctx)
    if isinstance(node, nodes.And):
        left, right = _compile(env, node.left), _compile(env, node.right)
        return lambda ctx: left(ctx) and right(ctx)
    if isinstance(node, nodes.Not):
        inner = _compile(env, node.node)
        return lambda ctx: not inner(ctx)
    if isinstance(node, nodes.CondExpr):
        test, then = _compile(env, node.test), _compile(env, node.expr1)
        # no else: Jinja's plain Undefined (not the environment's), printed as nothing, `default`'s to replace
        otherwise = _compile(env, node.expr2) if node.expr2 is not None else (lambda ctx: Undefined(
            "the inline if-expression evaluated to false and no else section was defined."))
        return lambda ctx: then(ctx) if test(ctx) else otherwise(ctx)
    if isinstance(node, nodes.Compare) and len(node.ops) == 1 and node.ops[0].op in _COMPARE:
        left, right, op = _compile(env, node.expr), _compile(env, node.ops[0].expr), _COMPARE[node.ops[0].op]
        return lambda ctx: op(left(ctx), right(ctx))
    if isinstance(node, nodes.Concat):
        pieces = [_compile(env, n) for n in node.nodes]
        return lambda ctx: "".join(str(piece(ctx)) for piece in pieces)  # as Jinja's `~`: None is "None"
    if isinstance(node, nodes.Dict):
        pairs = [(_compile(env, p.key), _compile(env, p.value)) for p in node.items]
        return lambda ctx: {k(ctx): v(ctx) for k, v in pairs}
    if isinstance(node, nodes.List):
        items = [_compile(env, i) for i in node.items]
        return lambda ctx: [i(ctx) for i in items]
    if isinstance(node, nodes.Tuple):  # a tuple prints and compares as one: `(a, b) ~ ''` is "(1, 2)"
        members = [_compile(env, i) for i in node.items]
        return lambda ctx: tuple(i(ctx) for i in members)
    raise _Unsupported


def _str_format(env: SandboxedEnvironment, target: Fast, attr: str) -> Fast:
    """`text.format_map(values)` as Jinja's sandbox does it (its SandboxedFormatter), with one formatter
    made here instead of a formatter and a wrapped function on every access."""
    vformat = SandboxedFormatter(env).vformat
    apply = _format_map if attr == "format_map" else _format
    getattr_ = env.getattr

    def get_format(ctx: Mapping[str, Any]) -> Any:
        obj = target(ctx)
        if obj.__class__ is str:  # Markup and other subclasses take Jinja's own path
            return partial(apply, vformat, obj)
        return getattr_(obj, attr)

    return get_format


def _format_map(vformat: Callable[..., str], text: str, *args: Any, **kwargs: Any) -> str:
    if kwargs:
        raise TypeError("format_map() takes no keyword arguments")
    if len(args) != 1:
        raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
    return str(vformat(text, (), args[0]))


def _format(vformat: Callable[..., str], text: str, *args: Any, **kwargs: Any) -> str:
    return str(vformat(text, args, kwargs))


def _filter(env: SandboxedEnvironment, node: nodes.Filter) -> Fast:
    function = env.filters.get(node.name)
    if function is None or node.node is None:
        raise _Unsupported
    if node.name == "string" and not node.args and not node.kwargs:
        target = _compile(env, node.node)
        return lambda ctx: str(target(ctx))  # as Jinja's soft_str: None is "None", missing is ""
    fast = fast_filter(env, node, _compile(env, node.node))
    return fast if fast is not None else _applied(env, function, node)


def _test(env: SandboxedEnvironment, node: nodes.Test) -> Fast:
    function = env.tests.get(node.name)
    if function is None:
        raise _Unsupported
    return _applied(env, function, node)


def _applied(env: SandboxedEnvironment, function: Any, node: nodes.Filter | nodes.Test) -> Fast:
    """A filter or test applied to its value, with the first argument Jinja would pass it."""
    assert node.node is not None
    target, args = _compile(env, node.node), [_compile(env, a) for a in node.args]
    kwargs: list[tuple[str, Fast]] = [(str(k.key), _compile(env, k.value)) for k in node.kwargs]
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise _Unsupported
    passes = _PassArg.from_obj(function)

    def apply(ctx: Mapping[str, Any]) -> Any:
        named = {k: v(ctx) for k, v in kwargs}
        return function(*_passed(env, passes, ctx), target(ctx), *(a(ctx) for a in args), **named)

    return apply


_EVAL_CONTEXTS: dict[int, tuple[SandboxedEnvironment, EvalContext]] = {}
_LAST_CONTEXT: list[tuple[Any, Any]] = [(None, None)]  # (template context mapping, Jinja Context made for it)


def _passed(env: SandboxedEnvironment, passes: _PassArg | None, ctx: Mapping[str, Any]) -> list[Any]:
    """The first argument Jinja gives a function marked pass_environment / _eval_context / _context."""
    if passes is _PassArg.environment:
        return [env]
    if passes is _PassArg.eval_context:  # list, join ...: read only (only {% autoescape %} changes one)
        known = _EVAL_CONTEXTS.get(id(env))
        if known is None:
            known = _EVAL_CONTEXTS[id(env)] = (env, EvalContext(env))
        return [known[1]]
    if passes is _PassArg.context:  # map, select ...: they read the environment through it
        last = _LAST_CONTEXT[0]  # one Context for the filters of one answer; read and written whole,
        if last[0] is ctx and last[1].environment is env:  # so threads never mix two answers' pairs
            return [last[1]]
        made = env.context_class(env, ctx if ctx.__class__ is dict else dict(ctx), None, {})
        _LAST_CONTEXT[0] = (ctx, made)  # ctx is held here, so its id is not reused meanwhile
        return [made]
    return []
