"""Frozen, compiled form of a scenario file: what the engine reads on every request.

Everything here is built once at load time (templates compiled, regexes compiled, JSON Schemas
checked), so the request path only evaluates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.engine.match import Condition
    from mockserver.engine.render import ResponseTemplate, Tree


@dataclass(frozen=True)
class DocumentedError:
    """One documented error of an API: the data, and how its answer is rendered."""

    api: str
    id: str
    status: int
    title: str
    description: str
    trigger: str
    doc: str
    fields: Mapping[str, Any]
    response: ResponseTemplate | None  # replaces the API's error_response for this error
    asynchronous: bool  # reported later on a resource (Reactor builds), not in the answer
    source: str  # "file:line", for messages
    # The API's error_item and this error's response with the error's own data rendered at load:
    # used for the common answer (one error, no occurrence params).
    fast_item: Tree | None = None
    fast_response: ResponseTemplate | None = None

    def as_context(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The `error` variable of templates: documented data, then this occurrence's params."""
        ctx: dict[str, Any] = {"id": self.id, "status": self.status, "title": self.title, **self.fields}
        if params:
            ctx.update(params)
        return ctx

    def catalog_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "api": self.api,
            "id": self.id,
            "status": self.status,
            "title": self.title,
            "description": self.description,
            "trigger": self.trigger,
            "doc": self.doc,
            "asynchronous": self.asynchronous,
        }
        for key in ("code", "type", "reason"):
            if key in self.fields:
                entry[key] = self.fields[key]
        return entry


@dataclass(frozen=True)
class Rule:
    """`when` holds, then answer with `errors` (ids) or `respond`."""

    when: Condition
    errors: tuple[str, ...]
    respond: ResponseTemplate | None
    source: str


@dataclass(frozen=True)
class Route:
    id: str
    methods: frozenset[str]
    path: str
    pattern: re.Pattern[str]
    rules: tuple[Rule, ...]
    handler: str | None  # name of a Python handler registered by an API module
    respond: ResponseTemplate | None
    starts_async: bool  # asynchronous errors asked by flag are handed to the handler
    errors: tuple[str, ...]  # documented errors this route can give (rules + `can_fail_with`): __code, chaos
    source: str
    # What its checks can answer (`errors_from_check`), after `errors` for __code only: a check serves several
    # routes (Edge's payload check, interact and set-consent), so not every id it declares is each route's to draw
    check_errors: tuple[str, ...] = ()
    # The parameters `path_values` lists: each value is an endpoint of its own (Braze's /{endpoint:path} routes,
    # Reactor's /{type}/{id}), which a mode's count per route counts apart
    endpoint_params: tuple[str, ...] = ()

    def match_path(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None

    def endpoint(self, params: dict[str, str]) -> str:
        """The route's id, with the listed values its path took: one endpoint of several it serves."""
        if not self.endpoint_params:
            return self.id
        return ":".join([self.id, *(params.get(name, "") for name in self.endpoint_params)])


@dataclass(frozen=True)
class Quota:
    """`limit` requests per `window_s`, counted for the whole API or per route."""

    limit: int
    window_s: float
    per_route: bool


@dataclass(frozen=True)
class Mode:
    """A named situation with state; engine/modes.py gives it its behaviour.

    `error` alone fails every request (an outage); with `first` only the first N of each route
    (flaky); with `quota` those past it (rate-limited). `delay`, `fault` and `headers` apply to
    every answer the mode is on for (with `error`, the fault only to the failed ones).
    """

    name: str
    description: str
    source: str
    error: tuple[str, ...] | None = None  # one documented error, or several answered together
    first: int | None = None
    quota: Quota | None = None
    retry_after_s: float | None = None
    duration_s: float | None = None
    delay: str | None = None
    fault: str | None = None
    headers: Tree | None = None
    routes: frozenset[str] | None = None

    def summary(self) -> dict[str, Any]:
        """What GET /__admin/modes shows of the declaration."""
        out: dict[str, Any] = {"description": self.description}
        if self.error is not None:
            out["error"] = self.error[0] if len(self.error) == 1 else list(self.error)
        for key in ("first", "retry_after_s", "duration_s", "delay", "fault"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.quota is not None:
            out["quota"] = {"limit": self.quota.limit, "window_s": self.quota.window_s,
                            "per": "route" if self.quota.per_route else "api"}
        if self.routes is not None:
            out["routes"] = sorted(self.routes)
        return out


@dataclass(frozen=True)
class Cors:
    """How the real host answers browsers from other origins (a file's `cors:`; engine/cors.py)."""

    credentials: bool = False  # Access-Control-Allow-Credentials: true (the Origin is echoed either way)
    allow_methods: str | None = None  # a preflight's Allow-Methods; None: the methods of the path's routes
    allow_headers: str | None = None  # a preflight's Allow-Headers; None: the ones the browser asks for
    expose_headers: str | None = None  # on every answer to a browser
    max_age: int | None = None  # a preflight's Access-Control-Max-Age, in seconds
    preflight_status: int = 204


@dataclass(frozen=True)
class Api:
    name: str
    title: str
    prefix: str
    hosts: tuple[str, ...]
    host_patterns: tuple[re.Pattern[str], ...]
    doc: str
    errors: Mapping[str, DocumentedError]
    routes: tuple[Route, ...]
    modes: Mapping[str, Mode]
    error_item: Tree | None  # one error object, rendered once per error as `items`
    error_response: ResponseTemplate  # how a documented error is answered
    headers: Tree | None  # added to every answer of this API
    not_found: str | None  # error id when no route matches the path
    method_not_allowed: str | None  # error id when the path matches but not the method
    # The answer shows one documented error (Braze's message, a problem details object): of several that flags or a
    # rule's checks gather, the first answers, and the journal, coverage and Preference-Applied name that one only.
    one_error_per_answer: bool
    options: Mapping[str, Any]  # per-API settings a user overrides in their own file (keys, partners ...)
    cors: Cors | None = None  # None: no Access-Control-* headers, and OPTIONS is routed as any method
    sources: tuple[str, ...] = field(default_factory=tuple)
    route_index: Mapping[str | None, tuple[Route, ...]] = field(default_factory=dict)  # see match.route_index
    # (method, path) -> match.RouteMatch, filled by match.find_route; never copied by dataclasses.replace
    route_cache: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def statuses(self) -> list[int]:
        return sorted({e.status for e in self.errors.values()})

    def host_match(self, host: str) -> tuple[int, int] | None:
        """How specifically this API's `hosts` name a host name (see `host_specificity`); None: not at all."""
        found = [host_specificity(h) for h, p in zip(self.hosts, self.host_patterns, strict=True) if p.fullmatch(host)]
        return max(found, default=None)


def host_specificity(pattern: str) -> tuple[int, int]:
    """An exact name beats every wildcard; among wildcards, the one with more literal characters wins
    (`rest.*.braze.com` over `*.braze.com`). The loader refuses two APIs' patterns that tie and can
    match one Host, so the most specific is always one API."""
    wild = any(c in pattern for c in "*?[")
    return (0 if wild else 1, len(re.sub(r"\[[^\]]*\]|[*?]", "", pattern)))


@dataclass(frozen=True)
class Catalog:
    """Every API that was loaded, by name."""

    apis: Mapping[str, Api]

    def api_for_host(self, host: str) -> Api | None:
        """The API whose `hosts` name this host name most specifically (`host_specificity`)."""
        best: tuple[tuple[int, int], Api] | None = None
        for api in self.apis.values():
            found = api.host_match(host)
            if found is not None and (best is None or found > best[0]):
                best = (found, api)
        return best[1] if best is not None else None

    def entries(self, api: str | None = None) -> list[dict[str, Any]]:
        return [
            err.catalog_entry()
            for name, a in self.apis.items()
            if api is None or name == api
            for err in a.errors.values()
        ]
