"""Templates in headers and bodies: compiled once at load, rendered per request.

A value tree from a scenario file (mappings, lists, scalars) becomes a `Tree`. A string that is one
whole `{{ expression }}` keeps the expression's type (`status: "{{ error.status }}"` stays an int);
any other string with `{{`/`{%` renders to text; everything else is a constant. A mapping member or
list item that renders to `omit` is left out, so optional members need no `if` around them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from mockserver.engine.fastexpr import compile_fast, compile_fast_text


class _Omit:
    def __repr__(self) -> str:
        return "omit"


OMIT = _Omit()
ENV = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)
ENV.globals["omit"] = OMIT
_WHOLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}$", re.DOTALL)


class TemplateError(ValueError):
    """A template that does not compile; `where` is the field path in the scenario file."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class Tree:
    """A compiled value: `render(context)` gives the value for one request."""

    constant: bool = False

    def render(self, context: Mapping[str, Any]) -> Any:
        raise NotImplementedError


class Const(Tree):
    constant = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def render(self, context: Mapping[str, Any]) -> Any:
        return self.value


class Expr(Tree):
    """One expression; its value keeps its type. Fast path when possible, else Jinja's."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.compiled = ENV.compile_expression(source, undefined_to_none=True)  # also checks the syntax
        fast = compile_fast(ENV, _expression_node(source))
        self.render = fast if fast is not None else self._render_slow  # type: ignore[method-assign]

    def _render_slow(self, context: Mapping[str, Any]) -> Any:
        return self.compiled(**context)


class Text(Tree):
    def __init__(self, source: str) -> None:
        self.template = ENV.from_string(source)  # also checks the syntax
        fast = compile_fast_text(ENV, source)
        self.render = fast if fast is not None else self._render_slow  # type: ignore[method-assign]

    def _render_slow(self, context: Mapping[str, Any]) -> Any:
        return self.template.render(context)


def _expression_node(source: str) -> nodes.Node:
    output = ENV.parse("{{ " + source + " }}").body[0]
    assert isinstance(output, nodes.Output)
    return output.nodes[0]


class MapTree(Tree):
    def __init__(self, members: list[tuple[str, Tree]]) -> None:
        self.members = members

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

    def render(self, context: Mapping[str, Any]) -> Any:
        return [v for v in (t.render(context) for t in self.items) if v is not OMIT]


def compile_tree(value: Any, where: str = "") -> Tree:
    """Compile a scenario value; raises TemplateError naming the field that does not compile."""
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return Const(value)
        try:
            whole = _WHOLE_EXPRESSION.match(value.strip())
            if whole:
                return Expr(whole.group("expr").strip())
            return Text(value)
        except TemplateSyntaxError as exc:
            raise TemplateError(where, f"template does not compile: {exc.message}") from None
    if isinstance(value, Mapping):
        members = [(str(k), compile_tree(v, f"{where}.{k}" if where else str(k))) for k, v in value.items()]
        if all(t.constant for _, t in members):
            return Const({k: t.render({}) for k, t in members})
        return MapTree(members)
    if isinstance(value, list):
        items = [compile_tree(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if all(t.constant for t in items):
            return Const([t.render({}) for t in items])
        return ListTree(items)
    return Const(value)


@dataclass(frozen=True)
class Rendered:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def encode_body(value: Any) -> bytes:
    """JSON for data, UTF-8 for text; None or `omit` is an empty body (a pixel answer, a 204)."""
    if value is None or value is OMIT:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


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
        self._fixed: Rendered | None = None
        if status.constant and all(t.constant for _, t in self.headers) and self._body_tree().constant:
            self._fixed = self._render({})

    def _body_tree(self) -> Tree:
        return self.body if self.body is not None else (self.text if self.text is not None else Const(None))

    def _render(self, context: Mapping[str, Any]) -> Rendered:
        status = self.status.render(context)
        headers = []
        for name, tree in self.headers:
            value = tree.render(context)
            if value is not OMIT and value is not None:
                headers.append((name, str(value)))
        return Rendered(int(status), headers, encode_body(self._body_tree().render(context)))

    def render(self, context: Mapping[str, Any]) -> Rendered:
        return self._fixed if self._fixed is not None else self._render(context)

    def with_status(self, status: int) -> ResponseTemplate:
        return ResponseTemplate(Const(status), self.headers, self.body, self.text, self.where)


def compile_response(spec: Mapping[str, Any], where: str, default_status: int = 200) -> ResponseTemplate:
    """`{status, headers, body | text}` from a scenario file."""
    headers = [
        (str(name), compile_tree(value, f"{where}.headers.{name}")) for name, value in (spec.get("headers") or {}).items()
    ]
    body = compile_tree(spec["body"], f"{where}.body") if "body" in spec else None
    text = compile_tree(spec["text"], f"{where}.text") if "text" in spec else None
    status = compile_tree(spec.get("status", default_status), f"{where}.status")
    return ResponseTemplate(status, headers, body, text, where)


Renderer = Callable[[Mapping[str, Any]], Any]
