"""What a scenario file cannot say, one module per API: checks and handlers, registered by name.

A file names them (`check: dcs.bad_encoding`, `handler: reactor.create_property`); the loader
refuses a name that no module registered, and a template
name that neither the engine nor the API's hooks and handlers give (`variables=`). Modules here are
imported by `load_api_modules`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from mockserver.engine.context import RequestContext
from mockserver.engine.outcome import ErrorRef, Outcome

CheckResult = bool | list[ErrorRef]
Check = Callable[[RequestContext, Mapping[str, Any]], CheckResult | Awaitable[CheckResult]]
Handler = Callable[[RequestContext], Outcome | Awaitable[Outcome]]

Hook = Callable[[RequestContext], Outcome | None | Awaitable[Outcome | None]]

CHECKS: dict[str, Check] = {}
HANDLERS: dict[str, Handler] = {}
BEFORE: dict[str, Hook] = {}  # per API: runs before routing; may answer (a quota) or set ctx.variables

HANDLER_VARIABLES: dict[str, frozenset[str]] = {}  # per handler: the template names its outcomes give
BEFORE_VARIABLES: dict[str, frozenset[str]] = {}  # per API: the names its hook puts in ctx.variables

F = TypeVar("F", bound=Callable[..., Any])


def check(name: str) -> Callable[[F], F]:
    """Register a condition: `when: {check: NAME}` holds when it returns True or errors."""

    def register(func: F) -> F:
        CHECKS[name] = func
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


def before(api: str, variables: Iterable[str] = ()) -> Callable[[F], F]:
    """Register the API's hook run on every request before its routes (rate limits, shared headers);
    `variables` are the names it puts in `ctx.variables`, for every template of the API."""

    def register(func: F) -> F:
        BEFORE[api] = func
        BEFORE_VARIABLES[api] = frozenset(variables)
        return func

    return register


def template_variables(api: str, handlers: Iterable[str]) -> frozenset[str]:
    """The names an API's hook and these handlers give its templates (beside the engine's own)."""
    return BEFORE_VARIABLES.get(api, frozenset()).union(*(HANDLER_VARIABLES.get(h, ()) for h in handlers))


def load_api_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
