"""Conditions of rules (`when:`) and route matching, compiled once at load.

A condition answers True, False, or a list of documented errors (a Python check that found which
errors apply, e.g. DCS codes computed from the query). Route lookup answers a typed `Match`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

from mockserver.engine.context import JSON_WHITESPACE
from mockserver.engine.fielderror import FieldError
from mockserver.engine.memo import remember
from mockserver.engine.outcome import ErrorRef

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

    from mockserver.apis import Check
    from mockserver.engine.context import RequestContext
    from mockserver.scenario.model import Api, Route

Verdict = bool | list[ErrorRef]
WrongArgs = Callable[[str, Mapping[str, Any]], list[tuple[str | None, str]]]  # a check's args -> (arg, why) each


class ConditionError(FieldError):
    """A condition that does not compile."""


class Condition:
    """`holds(ctx)` gives the verdict; only a condition with `needs_await` (an async Python check
    inside) returns an awaitable instead, so the common rules cost no coroutine."""

    needs_await = False

    def holds(self, ctx: RequestContext) -> Any:
        raise NotImplementedError


def _header(ctx: RequestContext, name: str) -> str | None:
    return ctx.header(name)


def _query(ctx: RequestContext, name: str) -> str | None:
    return ctx.query_value(name)


_LOOKUPS = {"header": _header, "query": _query}


class Present(Condition):
    """Every named header (or query parameter) is there; negated: any is missing."""

    def __init__(self, kind: str, names: Sequence[str], present: bool) -> None:
        self.lookup = _LOOKUPS[kind]
        self.names = list(names)  # a header name in any case: ctx.header() lower-cases it
        self.present = present

    def holds(self, ctx: RequestContext) -> Any:
        lookup = self.lookup
        if self.present:
            return all(lookup(ctx, n) is not None for n in self.names)
        return any(lookup(ctx, n) is None for n in self.names)


class Matches(Condition):
    """Every named header (or query parameter) is there and its value matches (regex search);
    negated: any is absent or differs."""

    def __init__(self, kind: str, patterns: Mapping[str, re.Pattern[str]], negate: bool) -> None:
        self.lookup = _LOOKUPS[kind]
        self.patterns = dict(patterns)
        self.negate = negate

    def holds(self, ctx: RequestContext) -> Any:
        lookup = self.lookup
        result = all(
            (value := lookup(ctx, name)) is not None and pattern.search(value) is not None
            for name, pattern in self.patterns.items()
        )
        return result != self.negate


class QueryCountOver(Condition):
    def __init__(self, limits: Mapping[str, int]) -> None:
        self.limits = limits

    def holds(self, ctx: RequestContext) -> Any:
        return any(len(ctx.query.get(name, [])) > limit for name, limit in self.limits.items())


class BodyUnparseable(Condition):
    """The body is not JSON (an empty body is not unparseable: use body_empty)."""

    def holds(self, ctx: RequestContext) -> Any:
        return ctx.json_error is not None


class BodyEmpty(Condition):
    """Nothing but JSON's whitespace: a body of \\x0b or \\x0c is not JSON, so unparseable."""

    def holds(self, ctx: RequestContext) -> Any:
        return not ctx.body.strip(JSON_WHITESPACE)


class BodySizeOver(Condition):
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def holds(self, ctx: RequestContext) -> Any:
        return len(ctx.body) > self.limit


class BodySchema(Condition):
    """The JSON body is valid (`conforms`) or invalid (`violates`) against an inline JSON Schema.

    An empty or unparseable body neither conforms nor violates: other conditions name those cases.
    """

    def __init__(self, schema: Mapping[str, Any], violates: bool) -> None:
        self.schema = schema
        self.violates = violates
        self._validator: Draft202012Validator | None = None  # built on first use: jsonschema's import is slow

    @property
    def validator(self) -> Draft202012Validator:
        if self._validator is None:
            from jsonschema import Draft202012Validator

            self._validator = Draft202012Validator(self.schema)
        return self._validator

    def holds(self, ctx: RequestContext) -> Any:
        if ctx.json_error is not None or not ctx.body.strip(JSON_WHITESPACE):
            return False
        return self.validator.is_valid(ctx.json) != self.violates


class CheckCall(Condition):
    def __init__(self, func: Check, args: Mapping[str, Any]) -> None:
        self.func = func
        self.args = args
        self.needs_await = inspect.iscoroutinefunction(func)

    def holds(self, ctx: RequestContext) -> Any:
        return self.func(ctx, self.args)


class AllOf(Condition):
    """Every part holds; errors found by checks are gathered in order."""

    def __init__(self, parts: list[Condition]) -> None:
        self.parts = parts
        self.needs_await = any(p.needs_await for p in parts)

    def holds(self, ctx: RequestContext) -> Any:
        if self.needs_await:
            return self._holds_async(ctx)
        found: list[ErrorRef] = []
        for part in self.parts:
            verdict = part.holds(ctx)
            if not verdict:
                return False
            if isinstance(verdict, list):
                found.extend(verdict)
        return found or True

    async def _holds_async(self, ctx: RequestContext) -> Verdict:
        found: list[ErrorRef] = []
        for part in self.parts:
            verdict = await settle(part.holds(ctx))
            if not verdict:
                return False
            if isinstance(verdict, list):
                found.extend(verdict)
        return found or True


class AnyOf(Condition):
    def __init__(self, parts: list[Condition]) -> None:
        self.parts = parts
        self.needs_await = any(p.needs_await for p in parts)

    def holds(self, ctx: RequestContext) -> Any:
        if self.needs_await:
            return self._holds_async(ctx)
        for part in self.parts:
            verdict = part.holds(ctx)
            if verdict:
                return verdict
        return False

    async def _holds_async(self, ctx: RequestContext) -> Verdict:
        for part in self.parts:
            verdict = await settle(part.holds(ctx))
            if verdict:
                return verdict  # type: ignore[no-any-return]
        return False


class Not(Condition):
    def __init__(self, part: Condition) -> None:
        self.part = part
        self.needs_await = part.needs_await

    def holds(self, ctx: RequestContext) -> Any:
        if self.needs_await:
            return self._holds_async(ctx)
        return not self.part.holds(ctx)

    async def _holds_async(self, ctx: RequestContext) -> Verdict:
        return not await settle(self.part.holds(ctx))


async def settle(value: Any) -> Any:
    """The value, awaited if it is awaitable (a verdict of an async check)."""
    return await value if inspect.isawaitable(value) else value


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


# What re.compile raises on a pattern of a user's file: `[a` (re.error), `a{4294967296}` (OverflowError, a repeat
# too large), thousands of nested groups (RecursionError). Each was a traceback of validate, or a 500 per request.
REGEX_ERRORS = (re.error, OverflowError, RecursionError)


def _patterns(value: Mapping[str, str], where: str) -> dict[str, re.Pattern[str]]:
    compiled = {}
    errors = []
    for name, pattern in value.items():
        try:
            compiled[str(name)] = re.compile(str(pattern))
        except REGEX_ERRORS as exc:
            errors.append(ConditionError(f"{where}.{name}", f"invalid regular expression: {exc}"))
    if errors:
        raise ConditionError.of(errors)
    return compiled


def _compiles(pattern: object) -> bool:
    """The meta-schema's `format: regex` (a `pattern`, a `patternProperties` key): jsonschema searches with it on
    each request, so one that does not compile was every JSON body's 500."""
    if isinstance(pattern, str):
        re.compile(pattern)
    return True


@cache
def _meta_validator() -> Draft202012Validator:
    """One validator of the meta-schema: `check_schema` would build one (and resolve refs) per call. It asserts
    `format: regex` with every error a compile can raise (jsonschema's own checker lets OverflowError through)."""
    from jsonschema import Draft202012Validator, FormatChecker

    formats = FormatChecker(formats=())
    formats.checks("regex", raises=REGEX_ERRORS)(_compiles)
    return Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=formats)


def _outside_refs(value: Any) -> list[str]:
    """`$ref`s to another document: jsonschema would fetch a URL on the request's path, blocking the server."""
    if isinstance(value, Mapping):
        own = [ref for key in ("$ref", "$dynamicRef") if isinstance(ref := value.get(key), str)
               and not ref.startswith("#")]
        return own + [ref for member in value.values() for ref in _outside_refs(member)]
    if isinstance(value, list):
        return [ref for item in value for ref in _outside_refs(item)]
    return []


def _schema(value: Mapping[str, Any], where: str, check: bool) -> Mapping[str, Any]:
    if not check:
        return value
    if outside := _outside_refs(value):
        raise ConditionError(where, f"a $ref to another document is not fetched ({outside[0]}): put the schema "
                                    "inline, or under $defs and refer to it as #/$defs/NAME")
    meta = _meta_validator()
    if not meta.is_valid(value):
        from jsonschema.exceptions import best_match

        problem = best_match(meta.iter_errors(value))
        at = where + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in problem.absolute_path)
        if problem.validator == "format" and problem.cause is not None:  # a regex: say why it does not compile
            raise ConditionError(at, f"invalid regular expression {problem.instance!r}: {problem.cause}")
        raise ConditionError(at, f"invalid JSON Schema: {problem.message}")
    return value


def compile_condition(spec: Mapping[str, Any], where: str, checks: Mapping[str, Check],
                      check_schemas: bool = True, wrong_args: WrongArgs | None = None) -> Condition:
    """A `when:` mapping; several keys mean all of them must hold. `check_schemas=False` skips the
    meta-schema check of inline schemas (a file already found valid, see scenario/load.py); `wrong_args`
    tells what is wrong with a check's `args` (`apis.wrong_args`). Raises one ConditionError with every
    part's problems: one mistake does not hide its siblings'."""
    errors: list[ConditionError] = []
    parts = [ConditionError.gather(errors, _compile_part, key, value, f"{where}.{key}", checks, check_schemas,
                                   wrong_args) for key, value in spec.items()]
    ConditionError.raise_all(errors)
    return parts[0] if len(parts) == 1 else AllOf(parts)


def _compile_list(specs: Sequence[Mapping[str, Any]], where: str, checks: Mapping[str, Check],
                  check_schemas: bool, wrong_args: WrongArgs | None) -> list[Condition]:
    """Each item of `all` or `any`, every item's problems raised together."""
    errors: list[ConditionError] = []
    parts = [ConditionError.gather(errors, compile_condition, spec, f"{where}[{index}]", checks, check_schemas,
                                   wrong_args) for index, spec in enumerate(specs)]
    ConditionError.raise_all(errors)
    return parts


def _compile_part(key: str, value: Any, here: str, checks: Mapping[str, Check], check_schemas: bool,
                  wrong_args: WrongArgs | None) -> Condition:
    """One key of a `when:` mapping."""
    kind = key.split("_", 1)[0]
    if key in ("header_present", "header_absent", "query_present", "query_absent"):
        return Present(kind, _names(value), key.endswith("_present"))
    if key in ("header_matches", "header_not_matches", "query_matches", "query_not_matches"):
        return Matches(kind, _patterns(value, here), "_not_" in key)
    if key == "query_count_over":
        return QueryCountOver({str(k): int(v) for k, v in value.items()})
    if key == "body_unparseable":
        return BodyUnparseable() if value else Not(BodyUnparseable())
    if key == "body_empty":
        return BodyEmpty() if value else Not(BodyEmpty())
    if key == "body_size_over":
        return BodySizeOver(int(value))
    if key in ("body_violates", "body_conforms"):
        return BodySchema(_schema(value, here, check_schemas), key == "body_violates")
    if key == "check":
        name, args = (value, {}) if isinstance(value, str) else (value["name"], value.get("args", {}))
        if name not in checks:
            raise ConditionError(here, f"no check named '{name}' (known: {', '.join(sorted(checks)) or 'none'})")
        wrong = wrong_args(name, args) if wrong_args is not None else []
        if wrong:
            raise ConditionError.of([ConditionError(f"{here}.args.{arg}" if arg is not None else here, why)
                                     for arg, why in wrong])
        return CheckCall(checks[name], args)
    if key == "all":
        return AllOf(_compile_list(value, here, checks, check_schemas, wrong_args))
    if key == "any":
        return AnyOf(_compile_list(value, here, checks, check_schemas, wrong_args))
    if key == "not":
        return Not(compile_condition(value, here, checks, check_schemas, wrong_args))
    raise ConditionError(here, "unknown condition")  # the schema refuses unknown keys first; this guards direct callers


def check_names(spec: Any) -> list[str]:
    """The checks a `when:` calls whose errors can answer (`errors_from_check`): not those under `not`."""
    if not isinstance(spec, Mapping):
        return []
    names: list[str] = []
    for key, value in spec.items():
        if key == "check":
            named = value if isinstance(value, str) else value.get("name") if isinstance(value, Mapping) else None
            names += [named] if isinstance(named, str) else []
        elif key in ("all", "any") and isinstance(value, list):
            names += [name for part in value for name in check_names(part)]
    return names


class Match(Enum):
    """As Starlette: PARTIAL is a path that matched with another method."""

    NONE = 0
    PARTIAL = 1
    FULL = 2


@dataclass(frozen=True)
class RouteMatch:
    """Shared by every request with the same method and path: read it, never change it."""

    match: Match
    route: Route | None = None
    params: Mapping[str, str] | None = None
    allowed: tuple[str, ...] = ()


PATH_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(path))?\}")  # `{id}`, `{rest:path}`: name, "path"


def compile_path(path: str, values: Mapping[str, Sequence[str]] | None = None) -> re.Pattern[str]:
    """`/properties/{id}` -> regex; `{rest:path}` also matches slashes. DOTALL: the path is decoded, and a
    `{rest:path}` takes every value a `{id}` takes (a `%0A` included), not all but newlines. `values` limits a
    parameter to those listed (`{type}`: companies, properties ...): another is no route's, the API's 404."""
    out, last = "", 0
    for found in PATH_PARAMETER.finditer(path):
        out += re.escape(path[last : found.start()])
        name = found.group(1)
        if values and name in values:
            out += f"(?P<{name}>{'|'.join(map(re.escape, values[name]))})"
        else:
            out += f"(?P<{name}>.+)" if found.group(2) else f"(?P<{name}>[^/]+)"
        last = found.end()
    return re.compile(out + re.escape(path[last:]), re.DOTALL)


def first_segment(path: str) -> str | None:
    """`/properties/{id}` -> "properties"; None when the first segment has a parameter."""
    segment = path.lstrip("/").split("/", 1)[0]
    return None if "{" in segment else segment


def route_index(routes: Sequence[Route]) -> dict[str | None, tuple[Route, ...]]:
    """For each literal first segment, the routes that can match a path starting with it, in file
    order; under None, the routes for any other first segment (those whose first segment is a parameter)."""
    literals = {first_segment(r.path) for r in routes} - {None}
    index: dict[str | None, tuple[Route, ...]] = {
        seg: tuple(r for r in routes if first_segment(r.path) in (seg, None)) for seg in literals
    }
    index[None] = tuple(r for r in routes if first_segment(r.path) is None)
    return index


_ROUTE_CACHE_SIZE = 4096
_CACHED_PATH_MAX = 512


def find_route(api: Api, method: str, path: str) -> RouteMatch:
    """The route for this method and path; remembered per API (clients repeat their paths)."""
    key = (method, path)
    found: RouteMatch | None = api.route_cache.get(key)
    if found is None:
        found = _find_route(api, method, path)
        if len(path) <= _CACHED_PATH_MAX:  # a client sending long, ever-new paths cannot fill memory
            remember(api.route_cache, key, found, _ROUTE_CACHE_SIZE)
    return found


def _find_route(api: Api, method: str, path: str) -> RouteMatch:
    allowed: list[str] = []
    segment = path.lstrip("/").split("/", 1)[0]
    index = api.route_index
    candidates = index.get(segment, index[None]) if index else api.routes
    for route in candidates:
        params = route.match_path(path)
        if params is None:
            continue
        if method in route.methods or (method == "HEAD" and "GET" in route.methods):
            return RouteMatch(Match.FULL, route, params)
        allowed.extend(route.methods)
        if "GET" in route.methods:  # a GET route answers HEAD too (above): say so in Allow, as Starlette does
            allowed.append("HEAD")
    if allowed:
        return RouteMatch(Match.PARTIAL, allowed=tuple(sorted(set(allowed))))
    return RouteMatch(Match.NONE)
