"""Templates in headers and bodies: compiled once at load, rendered per request.

A value tree from a scenario file (mappings, lists, scalars) becomes a `Tree`. A string that is one
whole `{{ expression }}` keeps the expression's type (`status: "{{ error.status }}"` stays an int);
any other string with `{{`/`{%` renders to text; everything else is a constant. A mapping member or
list item that renders to `omit` is left out, so optional members need no `if` around them.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, NamedTuple

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined, meta, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, safe_range

from mockserver.engine.fastexpr import compile_fast, compile_fast_text
from mockserver.engine.fielderror import FieldError
from mockserver.engine.flags import TOKEN


class _Omit:
    def __repr__(self) -> str:
        return "omit"


OMIT = _Omit()
_MAX_MADE = 10_000_000  # characters, items or bits a `*` or `**` may make (Jinja's sandbox bounds range() alone)
MAX_STEPS = 1_000_000  # what one render may spend: a loop's iteration or a range() item is a step, a call CALL_STEPS
CALL_STEPS = 10  # a call runs code (a macro's body, Faker): about ten times a loop's step (1,000,000 steps: about 1 s)


class _Budgeted(Context):
    """A render's context, with the steps it may still take. Jinja bounds one range() (100,000 items), not a loop
    in a loop: `{% for i in range(99999) %}{% for j in range(99999) %}` took 10**10 steps, and the server hung.
    Only templates Jinja renders pay (a loop, a call of its own code): the fast paths (fastexpr) take neither."""

    steps_left = MAX_STEPS  # the class's, until a render spends its first step


def _spend(context: Any, steps: int) -> None:
    left = context.steps_left - steps
    if left < 0:
        raise SecurityError(f"the template takes over {MAX_STEPS:,} steps to render (a loop's iteration or a range() "
                            f"item is one, a call {CALL_STEPS}): a loop in a loop, or a macro calling itself?")
    context.steps_left = left


def _counted(context: Any, iterable: Any) -> Iterator[Any]:
    """A `{% for %}`'s items, each a step."""
    for item in iterable:
        _spend(context, 1)
        yield item


@pass_context
def _range(context: Any, *args: int) -> range:
    """The sandbox's range(), its items spent at once: `range(99999) | list` in a loop is as costly as a loop."""
    made = safe_range(*args)
    _spend(context, len(made))
    return made


class _Sandbox(SandboxedEnvironment):
    """`*` and `**` asked of the sandbox, as it allows: Jinja folds constants when a template compiles, so
    `{{ 9 ** 99999999 }}` hung `mockserver validate` and `{{ 'a' * 10**10 }}` took all the memory. Checked here,
    such a template fails like any other whose every render fails (told at load where it can be rendered).
    Each render spends from a budget of MAX_STEPS (`_Budgeted`): loop iterations, calls (a macro calling itself
    twice), range() items."""

    intercepted_binops = frozenset({"*", "**"})
    context_class = _Budgeted
    counted = staticmethod(_counted)

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        """Every `{% for %}` iterates through `_counted`."""
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("counted"), [nodes.ContextReference(), loop.iter], [],
                                   None, None, lineno=loop.iter.lineno)
        return super()._generate(source, name, filename, defer_init)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _spend(context, CALL_STEPS)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * max(abs(left).bit_length(), 1) > _MAX_MADE:
            raise SecurityError(f"{left} ** {right} is too large a number to make")
        if operator == "*" and isinstance(right, int) and isinstance(left, str | list | tuple) \
                and len(left) * right > _MAX_MADE or isinstance(left, int) \
                and isinstance(right, str | list | tuple) and len(right) * left > _MAX_MADE:
            raise SecurityError(f"a repetition of over {_MAX_MADE:,} items is too large to make")
        return super().call_binop(context, operator, left, right)


ENV = _Sandbox(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
ENV.globals["omit"] = OMIT
ENV.globals["range"] = _range
_WHOLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.DOTALL)


class TemplateError(FieldError):
    """A template that does not compile."""


class Tree:
    """A compiled value: `render(context)` gives the value for one request.

    `names` are the context names it reads: a tree whose names are all known at load time
    (an error's own data) is rendered once there by `specialize`, not on every request.
    """

    constant: bool = False
    names: frozenset[str] = frozenset()
    free: frozenset[str] = frozenset()  # the names the context must give (not those `{% set %}` or a loop binds)

    def render(self, context: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def json_text(self, context: Mapping[str, Any]) -> Any:
        """The rendered value as JSON text (what `encode_body` makes of it inside a body), or `omit`."""
        return to_json(self.render(context))

    def reads_whole_only(self, name: str) -> bool:
        """Whether every use of `name` here is a whole `{{ name }}` value (see `JsonText`)."""
        return name not in self.names

    def specialize(self, bound: Mapping[str, Any]) -> Tree:
        """This tree with every part that reads only `bound` names rendered now."""
        if not self.constant and self.names <= bound.keys():
            return Const(self.render(bound))
        return self


class Const(Tree):
    constant = True

    def __init__(self, value: Any) -> None:
        self.value = value
        self._json: Any = None

    def render(self, context: Mapping[str, Any]) -> Any:
        return self.value

    def json_text(self, context: Mapping[str, Any]) -> Any:
        if self._json is None:
            self._json = to_json(self.value)
        return self._json


class Expr(Tree):
    """One expression; its value keeps its type. Fast path when possible, else Jinja's.

    Jinja compiles to Python code (about a millisecond each): only expressions the fast path
    cannot take pay that, at load; the others are only parsed, which checks their syntax.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        node = _expression_node(source)
        self.names = _names_read(node)
        self.free = self.names - _guarded(node)  # an expression binds no name
        fast = compile_fast(ENV, node)
        if fast is not None:
            self.render = fast  # type: ignore[method-assign,assignment]
        else:
            self.compiled = ENV.compile_expression(source, undefined_to_none=True)

    def _render_slow(self, context: Mapping[str, Any]) -> Any:
        compiled = getattr(self, "compiled", None) or ENV.compile_expression(self.source, undefined_to_none=True)
        self.compiled = compiled
        return compiled(**context)

    render = _render_slow

    def reads_whole_only(self, name: str) -> bool:
        return self.source == name or name not in self.names

    def json_text(self, context: Mapping[str, Any]) -> Any:
        value = self.render(context)
        return _STRING(value) if value.__class__ is str else to_json(value)  # ids, most often: text


class Text(Tree):
    def __init__(self, source: str) -> None:
        self.source = source
        parsed = ENV.parse(source)  # checks the syntax
        self.names = _names_read(parsed)
        self.free = frozenset(meta.find_undeclared_variables(parsed)) & self.names - _guarded(parsed)
        fast = compile_fast_text(ENV, source)
        if fast is not None:
            self.render = fast  # type: ignore[method-assign,assignment]
        else:
            self.template = ENV.from_string(source)

    def _render_slow(self, context: Mapping[str, Any]) -> Any:
        if not hasattr(self, "template"):
            self.template = ENV.from_string(self.source)
        return self.template.render(context)

    render = _render_slow


def _names_read(node: nodes.Node) -> frozenset[str]:
    """Context names an expression or template reads (globals such as `omit` excluded)."""
    candidates = [node, *node.find_all(nodes.Name)]  # find_all looks at children only
    found = {n.name for n in candidates if isinstance(n, nodes.Name) and n.ctx == "load"}
    return frozenset(found - set(ENV.globals))  # (`true`, `none` ... are constants: Jinja's parser makes them so)


def _guarded(node: nodes.Node) -> set[str]:
    """Names a template says may be missing: `x is defined`, `x is undefined`, `x | default(...)`."""
    found = (node, *node.find_all((nodes.Test, nodes.Filter)))  # find_all looks at children only
    return {n.node.name for n in found if isinstance(n, (nodes.Test, nodes.Filter)) and n.name in _MAY_LACK
            and isinstance(n.node, nodes.Name)}


_MAY_LACK = frozenset({"defined", "undefined", "default", "d"})


def _expression_node(source: str) -> nodes.Node:
    output = ENV.parse("{{ " + source + " }}").body[0]
    assert isinstance(output, nodes.Output)
    return output.nodes[0]


class MapTree(Tree):
    def __init__(self, members: list[tuple[str, Tree]]) -> None:
        self.members = members
        self.names = frozenset().union(*(t.names for _, t in members))
        self._segments: list[str | tuple[str, Tree]] | None = None  # made on first use by json_text

    @property
    def segments(self) -> list[str | tuple[str, Tree]]:
        """Runs of constant members as one JSON text each; every other member with its key's JSON."""
        if self._segments is None:
            segments: list[str | tuple[str, Tree]] = []
            constants: list[str] = []
            for key, tree in self.members:
                if tree.constant:
                    if tree.render({}) is not OMIT:
                        constants.append(f"{_JSON.encode(key)}:{tree.json_text({})}")
                    continue
                if constants:
                    segments.append(",".join(constants))
                    constants = []
                segments.append((f"{_JSON.encode(key)}:", tree))
            if constants:
                segments.append(",".join(constants))
            self._segments = segments
        return self._segments

    def json_text(self, context: Mapping[str, Any]) -> Any:
        out = []
        for segment in self._segments if self._segments is not None else self.segments:
            if isinstance(segment, str):
                out.append(segment)
            else:
                prefix, tree = segment
                text = tree.json_text(context)
                if text is not OMIT:
                    out.append(prefix + text)
        return "{" + ",".join(out) + "}"

    def reads_whole_only(self, name: str) -> bool:
        return all(tree.reads_whole_only(name) for _, tree in self.members)

    def specialize(self, bound: Mapping[str, Any]) -> Tree:
        if self.names <= bound.keys():
            return Const(self.render(bound))
        return map_tree([(k, t.specialize(bound)) for k, t in self.members])

    def render(self, context: Mapping[str, Any]) -> Any:
        out = {}
        for key, tree in self.members:
            value = tree.render(context)
            if value is not OMIT:
                out[key] = value
        return out


class ListTree(Tree):
    def __init__(self, items: list[Tree]) -> None:
        self.items = items
        self.names = frozenset().union(*(t.names for t in items))

    def specialize(self, bound: Mapping[str, Any]) -> Tree:
        if self.names <= bound.keys():
            return Const(self.render(bound))
        return list_tree([t.specialize(bound) for t in self.items])

    def render(self, context: Mapping[str, Any]) -> Any:
        return present(t.render(context) for t in self.items)

    def json_text(self, context: Mapping[str, Any]) -> Any:
        return "[" + ",".join(t for t in (i.json_text(context) for i in self.items) if t is not OMIT) + "]"

    def reads_whole_only(self, name: str) -> bool:
        return all(tree.reads_whole_only(name) for tree in self.items)


def present(values: Iterable[Any]) -> list[Any]:
    """The values that are not `omit` (a list item, an error item that left itself out)."""
    return [v for v in values if v is not OMIT]


def compile_tree(value: Any, where: str = "") -> Tree:
    """Compile a scenario value; raises TemplateError naming every field that does not compile."""
    errors: list[TemplateError] = []
    tree = _compile(value, where, errors)
    TemplateError.raise_all(errors)
    return tree


def _compile(value: Any, where: str, errors: list[TemplateError]) -> Tree:
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return Const(value)
        try:
            whole = _WHOLE_EXPRESSION.match(value.strip())
            if whole:
                return _expr(whole.group("expr").strip())
            return _text(value)
        except TemplateSyntaxError as exc:
            errors.append(TemplateError(where, f"template does not compile: {exc.message}"))
            return Const(value)  # a stand-in: the value is refused
        except (ValueError, OverflowError, RecursionError, MemoryError) as exc:  # met folding its constants
            errors.append(TemplateError(where, f"template does not compile: {type(exc).__name__}: {exc}"))
            return Const(value)
    if isinstance(value, Mapping):
        return map_tree([(str(k), _compile(v, f"{where}.{k}" if where else str(k), errors)) for k, v in value.items()])
    if isinstance(value, list):
        return list_tree([_compile(v, f"{where}[{i}]", errors) for i, v in enumerate(value)])
    return Const(value)


def unknown_names(value: Any, where: str, known: frozenset[str]) -> list[TemplateError]:
    """Each template in a value that reads a name its context lacks, with the closest known names
    (at load: such a name would render as empty text on every request), or that reads no name and fails to render
    (a loop in a loop over the step budget, `{{ 9 ** 99999999 }}`: every request's 500). `value` compiled already."""
    if isinstance(value, Mapping):
        return [e for k, v in value.items() for e in unknown_names(v, f"{where}.{k}" if where else str(k), known)]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in unknown_names(v, f"{where}[{i}]", known)]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return []
    try:
        tree = compile_tree(value, where)
    except TemplateError:  # reported as not compiling: its names are no second problem
        return []
    free = tree.free
    if not free and "error" not in known:  # reads nothing of the request (an error's answer is rendered with its
        try:                               # own data at load already): one render now is every request's
            tree.render({})
        except Exception as exc:  # noqa: BLE001 - whatever it is, every request would be the mock's 500
            return [TemplateError(where, f"template fails on every render: {type(exc).__name__}: {exc}")]
    found = []
    for name in sorted(free - known):
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {' or '.join(map(repr, close))}?" if close else f"known: {', '.join(sorted(known))}"
        if name in ("error", "errors", "items"):
            hint = "only an error's answer has it: error_response, an error's `response` or `headers`, error_item"
        found.append(TemplateError(where, f"no name '{name}' in this template's context ({hint})"))
    private = _private_attributes(value) if "_" in value else []
    if private:  # `''.__class__`: the sandbox gives nothing, on every request; one such attribute is told
        found.append(TemplateError(where, f"'.{private[-1]}': the sandbox reads no attribute starting with _ "
                                          "(it would render as nothing on every request)"))
    return found


def _private_attributes(source: str) -> list[str]:
    """Attributes starting with _ that a template reads by name, `x._y` or `x | attr('_y')` (both attributes only:
    `x['_y']` reads a mapping's key first, which a JSON body may well have)."""
    found = []
    for node in ENV.parse(source).find_all((nodes.Getattr, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            name: Any = node.attr
        else:
            assert isinstance(node, nodes.Filter)
            arg = node.args[0] if node.name == "attr" and node.args else None
            name = arg.value if isinstance(arg, nodes.Const) else None
        if isinstance(name, str) and name.startswith("_"):
            found.append(name)
    return found


@lru_cache(maxsize=4096)
def _expr(source: str) -> Expr:
    """Compiled trees are immutable: one per distinct source (errors with their own headers reuse
    the API's response templates)."""
    return Expr(source)


@lru_cache(maxsize=4096)
def _text(source: str) -> Text:
    return Text(source)


def map_tree(members: list[tuple[str, Tree]]) -> Tree:
    """A mapping; folded into one constant when every member is constant."""
    tree = MapTree(members)
    return Const(tree.render({})) if all(t.constant for _, t in members) else tree


def list_tree(items: list[Tree]) -> Tree:
    tree = ListTree(items)
    return Const(tree.render({})) if all(t.constant for t in items) else tree


WireHeaders = tuple[tuple[bytes, bytes], ...]


def wire_headers(headers: list[tuple[str, str]]) -> WireHeaders:
    """Headers as ASGI sends them (latin-1; what it cannot say becomes '?')."""
    return tuple((k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers)


class Rendered(NamedTuple):
    """An answer ready to send (a tuple: one is made per request)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    wire: WireHeaders | None = None  # `headers` encoded, when they were known before the request


def _not_json(value: Any) -> Any:
    """A value no JSON holds; an undefined one names what was read (`error.detail is undefined`)."""
    if isinstance(value, Undefined):
        raise TypeError(f"{value._undefined_name or 'a value'} is undefined")  # noqa: SLF001 (Jinja's own name)
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_not_json)  # dumps makes one per call
_STRING = json.encoder.encode_basestring  # what _JSON does with a str, without the dispatch


class JsonText(str):
    """Text that is already JSON: `json_text` puts it in as it is. The dispatcher hands a documented
    error's items this way to a response that only reads `{{ items }}` whole (see `splices`)."""


def to_json(value: Any) -> Any:
    """JSON text of one value, as `_JSON` writes it; `omit` stays `omit`."""
    kind = value.__class__
    if kind is str:
        return _STRING(value)
    if kind is JsonText:
        return value
    if value is OMIT:
        return OMIT
    return _JSON.encode(value)


def encode_body(value: Any) -> bytes:
    """JSON for data, UTF-8 for text; None or `omit` is an empty body (a pixel answer, a 204)."""
    if value is None or value is OMIT:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return _JSON.encode(value).encode()


class ResponseTemplate:
    """status + headers + body (a JSON tree) or text (a string template)."""

    def __init__(
        self,
        status: Tree,
        headers: list[tuple[str, Tree]],
        body: Tree | None,
        text: Tree | None,
        where: str,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.text = text
        self.where = where
        has_type = any(name.lower() == "content-type" for name, _ in headers)
        if body is not None and not has_type:
            self.headers = [*headers, ("Content-Type", Const("application/json"))]
        # A JSON body goes straight to JSON text, member by member (no dict built, then encoded)
        self._json_body = body is not None and isinstance(body, MapTree | ListTree)
        self._splices: dict[str, bool] = {}
        self._reads: dict[str, bool] = {}
        self._constant_headers: tuple[list[tuple[str, str]], WireHeaders] | None = None
        if all(t.constant for _, t in self.headers):  # most answers: their headers encoded once, here
            constant = self._headers({})
            self._constant_headers = (constant, wire_headers(constant))
        self._fixed: Rendered | None = None
        if status.constant and all(t.constant for _, t in self.headers) and self._body_tree().constant:
            self._fixed = self._render({})

    def _body_tree(self) -> Tree:
        return self.body if self.body is not None else (self.text if self.text is not None else Const(None))

    def _headers(self, context: Mapping[str, Any]) -> list[tuple[str, str]]:
        headers = []
        for name, tree in self.headers:
            value = tree.render(context)
            if value is not OMIT and value is not None:
                text = str(value)
                if not text.isprintable() and _BREAKS_A_HEADER.search(text):  # a request's CR LF echoed, say
                    raise ValueError(f"header {name}: a value with CR, LF or NUL cannot be sent ({text[:40]!r})")
                headers.append((name, text))
        return headers

    def _render(self, context: Mapping[str, Any]) -> Rendered:
        status = self.status.render(context)
        if status.__class__ is not int or not 100 <= status <= 599:  # a call only when not already a status
            status = _checked_status(status)
        wire = None
        if self._constant_headers is not None:
            constant, wire = self._constant_headers
            headers = list(constant)
        else:
            headers = self._headers(context)  # before the body: both may draw ids, in this order
        if self._json_body:
            assert self.body is not None
            body = self.body.json_text(context).encode()
        else:
            body = encode_body(self._body_tree().render(context))
        return Rendered(status, headers, body, wire)

    def reads(self, name: str) -> bool:
        """Whether any part of the answer reads `name` (the error items are made only when one does)."""
        known = self._reads.get(name)
        if known is None:
            known = self._reads[name] = (name in self.status.names or any(name in t.names for _, t in self.headers)
                                         or name in self._body_tree().names)
        return known

    def splices(self, name: str) -> bool:
        """Whether `name` may be given as `JsonText`: only a JSON body reads it, and only whole."""
        known = self._splices.get(name)
        if known is None:
            known = self._splices[name] = self._reads_whole_only(name)
        return known

    def _reads_whole_only(self, name: str) -> bool:
        return (self._json_body and self.body is not None and self.body.reads_whole_only(name)
                and name not in self.status.names and all(name not in t.names for _, t in self.headers)
                and (self.text is None or name not in self.text.names))

    def render(self, context: Mapping[str, Any]) -> Rendered:
        return self._fixed if self._fixed is not None else self._render(context)

    def specialize(self, bound: Mapping[str, Any]) -> ResponseTemplate:
        """Render now what reads only `bound` names (e.g. one documented error's data)."""
        return ResponseTemplate(
            self.status.specialize(bound),
            [(name, tree.specialize(bound)) for name, tree in self.headers],
            self.body.specialize(bound) if self.body is not None else None,
            self.text.specialize(bound) if self.text is not None else None,
            self.where,
        )


_JSON_SCALARS = (str, int, float, bool, type(None))


def check_json(value: Any, where: str) -> None:
    """A body is JSON: YAML's dates, binaries and sets are refused at load, with every field that has one."""
    errors: list[TemplateError] = []
    _not_json_values(value, where, errors)
    TemplateError.raise_all(errors)


def _not_json_values(value: Any, where: str, errors: list[TemplateError]) -> None:
    if isinstance(value, Mapping):
        for key, member in value.items():
            _not_json_values(member, f"{where}.{key}", errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _not_json_values(item, f"{where}[{index}]", errors)
    elif not isinstance(value, _JSON_SCALARS):
        errors.append(TemplateError(where, f"{type(value).__name__} {value!r} is not a JSON value: "
                                           "quote it to send a string"))
    elif isinstance(value, float) and not math.isfinite(value):  # YAML's .nan and .inf: a body would print NaN
        errors.append(TemplateError(where, f"{value!r} is not a JSON number: quote it to send a string"))


# RFC 9110 §5.1 field names (tchar); values without CR, LF or NUL (§5.5): what both servers refuse to send, dropping
# the connection with a traceback in the log. Content-Length and Transfer-Encoding are the server's, from the body.
_FIELD_NAME = re.compile(TOKEN)
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_BREAKS_A_HEADER = re.compile(r"[\r\n\x00]")


def _checked_status(value: Any) -> int:
    """An answer's status: an integer from 100 to 599 (what both servers can write in a status line)."""
    status = int(value)
    if not 100 <= status <= 599:
        raise ValueError(f"{value!r} is not an HTTP status (100 to 599)")
    return status


def _response_problems(status: Tree, headers: list[tuple[str, Tree]], where: str) -> list[TemplateError]:
    """What no request could fix in a response: a constant status or header that no server can send."""
    errors = []
    if isinstance(status, Const):
        try:
            _checked_status(status.value)
        except (TypeError, ValueError):
            errors.append(TemplateError(f"{where}.status", f"{status.value!r} is not an HTTP status (100 to 599)"))
    for name, tree in headers:
        if not _FIELD_NAME.fullmatch(name):
            errors.append(TemplateError(f"{where}.headers.{name}", f"{name!r} is not a header name (RFC 9110 5.1)"))
        elif name.lower() in _FRAMING:
            errors.append(TemplateError(f"{where}.headers.{name}", f"{name} is the server's to write (from the body)"))
        elif isinstance(tree, Const) and isinstance(tree.value, str) and _BREAKS_A_HEADER.search(tree.value):
            errors.append(TemplateError(f"{where}.headers.{name}", "a header value has no CR, LF or NUL"))
    return errors


def compile_response(spec: Mapping[str, Any], where: str, default_status: int = 200) -> ResponseTemplate:
    """`{status, headers, body | text}` from a scenario file; raises every part's problems at once."""
    errors: list[TemplateError] = []
    if "body" in spec:
        TemplateError.gather(errors, check_json, spec["body"], f"{where}.body")
    headers = [
        (str(name), TemplateError.gather(errors, compile_tree, value, f"{where}.headers.{name}"))
        for name, value in (spec.get("headers") or {}).items()
    ]
    body = TemplateError.gather(errors, compile_tree, spec["body"], f"{where}.body") if "body" in spec else None
    text = TemplateError.gather(errors, compile_tree, spec["text"], f"{where}.text") if "text" in spec else None
    status = TemplateError.gather(errors, compile_tree, spec.get("status", default_status), f"{where}.status")
    if status is not None:
        errors += _response_problems(status, [(n, t) for n, t in headers if t is not None], where)
    TemplateError.raise_all(errors)
    return ResponseTemplate(status, headers, body, text, where)


Renderer = Callable[[Mapping[str, Any]], Any]
