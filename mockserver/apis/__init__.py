"""What a scenario file cannot say, one module per API: checks and handlers, registered by name.

A file names them (`check: dcs.bad_encoding`, `handler: reactor.children`); the loader
refuses a name that no module registered, a check's argument it does not declare, and a template
name that neither the engine nor the API's hooks and handlers give (`variables=`). Modules here are
imported by `load_api_modules`.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Outcome

CheckResult = bool | list[ErrorRef]
Check = Callable[[RequestContext, Mapping[str, Any]], CheckResult | Awaitable[CheckResult]]
Handler = Callable[[RequestContext], Outcome | Awaitable[Outcome]]

Hook = Callable[[RequestContext], Outcome | None | Awaitable[Outcome | None]]
# (the options merged from every file, those the package's own files gave, the catalog's error ids)
# -> (path under `options`, why) each
OptionProblems = list[tuple[tuple[str | int, ...], str]]
OptionsCheck = Callable[[Mapping[str, Any], Mapping[str, Any], Collection[str]], OptionProblems]

CHECKS: dict[str, Check] = {}
HANDLERS: dict[str, Handler] = {}
BEFORE: dict[str, Hook] = {}  # per API: runs before routing; may answer (a quota) or set ctx.variables

ArgType = type | tuple[type, ...] | frozenset[str]  # a type, one of several, or one of these strings
CHECK_ARGS: dict[str, dict[str, ArgType]] = {}  # per check: its arguments; a name ending in `?` is optional
CHECK_ERRORS: dict[str, tuple[str, ...]] = {}  # per check: the documented errors it may find (the route's own)
HANDLER_VARIABLES: dict[str, frozenset[str]] = {}  # per handler: the template names its outcomes give
BEFORE_VARIABLES: dict[str, frozenset[str]] = {}  # per API: the names its hook puts in ctx.variables
OWN_FLAGS: dict[str, frozenset[str]] = {}  # per API: the flags only it reads (engine/flags.py parses them)
INTEGER_OPTIONS: dict[str, frozenset[str]] = {}  # per API: the options its module reads as integers
OPTIONS_CHECKS: dict[str, OptionsCheck] = {}  # per API: what its options must hold beyond their kinds
OWN_SHAPES: dict[str, frozenset[str]] = {}  # per API: options of several forms, whose shape its check tells

F = TypeVar("F", bound=Callable[..., Any])


def check(name: str, args: Mapping[str, ArgType] | None = None, errors: Iterable[str] = ()) -> Callable[[F], F]:
    """Register a condition: `when: {check: NAME}` holds when it returns True or errors. `args` are the
    arguments it reads (`{"limit": int, "ignore?": list}`); the loader refuses any other, or a missing one.
    `errors` are the ids it may return: on a route whose rule answers with them (`errors_from_check`), `__code`
    prefers them after the route's `error:` and `can_fail_with` ids (chaos draws only those: a check serves
    several routes, not all of which can give each of its errors), and the loader refuses a file without them."""

    def register(func: F) -> F:
        CHECKS[name] = func
        CHECK_ARGS[name] = dict(args or {})
        CHECK_ERRORS[name] = tuple(errors)
        return func

    return register


def handler(name: str, variables: Iterable[str] = ()) -> Callable[[F], F]:
    """Register a route handler: `handler: NAME` computes the outcome of the route. `variables` are the
    names its `Success`/`Failure(variables=...)` give the templates of the API that names it."""

    def register(func: F) -> F:
        HANDLERS[name] = func
        HANDLER_VARIABLES[name] = frozenset(variables)
        return func

    return register


def before(api: str, variables: Iterable[str] = (), flags: Iterable[str] = (),
           integer_options: Iterable[str] = ()) -> Callable[[F], F]:
    """Register the API's hook run on every request before its routes (rate limits, shared headers);
    `variables` are the names it puts in `ctx.variables`, for every template of the API; `flags` the flags of
    GUIDE §2's form that only this API reads (clientless's `throttle`): another API refuses them as misuse;
    `integer_options` the options its module reads as integers: the loader refuses a file giving one anything
    else (`1.5`, `3.0`), which the module could only have ignored or cut."""

    def register(func: F) -> F:
        BEFORE[api] = func
        BEFORE_VARIABLES[api] = frozenset(variables)
        OWN_FLAGS[api] = frozenset(flags)
        INTEGER_OPTIONS[api] = frozenset(integer_options)
        return func

    return register


def unknown_key(key: str, known: Collection[str], owner: str) -> str:
    """The problem of a key an option's mapping does not take (`enabeld`), with the one meant when it is close:
    it would be taken and read by nothing."""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}({owner} takes: {', '.join(known)})"


def options_check(api: str, own_shapes: Iterable[str] = ()) -> Callable[[F], F]:
    """Register what the API's options must hold beyond what the loader checks against the bundled values (the
    kind, a sign): values the module could only read as something else (a window of 0 s, a time zone no database
    knows, a group no limit names, an error id its catalog lacks). `func(options, bundled, error_ids)` gets the options
    merged from every file, those the package's own files gave, and the ids of the API's catalog as its files merge
    it, and returns each problem as (its path under `options`, why); the loader reports it at the file and line that
    gave that option, as its other problems, and the API does not load. `own_shapes`: options the module takes in
    more than one form (Braze's `api_keys`, a mapping or a plain list of keys): the loader does not hold them to
    the bundled value's kind, the check tells what they must be."""

    def register(func: F) -> F:
        OPTIONS_CHECKS[api] = func
        OWN_SHAPES[api] = frozenset(own_shapes)
        return func

    return register


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list",
               dict: "a mapping"}


def _fits(value: Any, kind: ArgType) -> bool:
    if isinstance(kind, frozenset):
        return value in kind
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # YAML's `yes` is no integer, though Python's bool is one
    return isinstance(value, kinds) or (float in kinds and isinstance(value, int))


def _wanted(kind: ArgType) -> str:
    if isinstance(kind, frozenset):
        return "one of " + ", ".join(sorted(kind))
    return " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,)))


def wrong_args(name: str, given: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """What is wrong with a check's `args` (a registered check): (the argument, or None, and why)."""
    declared = {key.rstrip("?"): kind for key, kind in CHECK_ARGS.get(name, {}).items()}
    takes = ", ".join(declared) or "none"
    found: list[tuple[str | None, str]] = []
    for key, value in given.items():
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            found.append((key, f"{name} takes no argument '{key}' ({hint}it takes: {takes})"))
        elif not _fits(value, declared[key]):
            found.append((key, f"{name} wants {_wanted(declared[key])} here, not {value!r}"))
    missing = [k for k in CHECK_ARGS.get(name, {}) if not k.endswith("?") and k not in given]
    found.extend((None, f"{name} needs the argument '{k}'") for k in missing)
    return found


def template_variables(api: str, handlers: Iterable[str]) -> frozenset[str]:
    """The names an API's hook and these handlers give its templates (beside the engine's own)."""
    return BEFORE_VARIABLES.get(api, frozenset()).union(*(HANDLER_VARIABLES.get(h, ()) for h in handlers))


def load_api_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
