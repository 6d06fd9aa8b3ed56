"""`/__admin`: health, catalog, journal, reset, reload, clock, modes, coverage. One route table."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockserver import __version__
from mockserver import coverage as coverage_report
from mockserver import verdict as client_verdict
from mockserver.engine import modes
from mockserver.engine.clock import LAST_INSTANT, Clock, parse_duration
from mockserver.engine.context import loads_encodable
from mockserver.engine.flags import SESSION_HEADER, SESSION_NAMES, Misuse, decimal, misuse_body, valid_session
from mockserver.engine.outcome import PROBLEM_JSON
from mockserver.engine.state import GLOBAL, MODES_KEY
from mockserver.runtime import Runtime
from mockserver.scenario.read import ScenarioError

log = logging.getLogger("mockserver")


def misuse(detail: str, valid: list[str] | None = None, status: int = 400,
           headers: dict[str, str] | None = None) -> JSONResponse:
    """The mock's misuse (engine.flags.misuse_body), from the admin API."""
    return JSONResponse(misuse_body(detail, valid, status), status,
                        headers={"X-Mockserver-Misuse": "1", **(headers or {})}, media_type=PROBLEM_JSON)


def _duration(field: str, value: Any, zero: bool = False) -> float:
    """A positive duration for `field` (or 0 when `zero`), else Misuse naming the field and the forms it takes."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise Misuse(f"{field}: {exc}", DURATIONS) from None
    if seconds < 0 or (seconds == 0 and not zero):
        raise Misuse(f"{field}: a duration {'of 0 or more' if zero else 'above 0'}, not {value!r}", DURATIONS)
    return seconds


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise Misuse(f"{field}: true or false, not {value!r}", ["true", "false"])
    return value


def scoped(request: Request, given: str | None) -> str | None:
    """The session an admin call is about. Through `/__session/NAME/__admin/...` or with `X-Mock-Session: NAME` it is
    the admin API in session NAME, as an API is there (README): NAME, and a `session` naming another is misuse (the
    prefix would otherwise reset, list or judge every session). Without either, `given`: `None` means them all."""
    if given is not None and not (isinstance(given, str) and valid_session(given)):  # `?session=`: reset nothing
        raise Misuse(f"session name '{given}' is not valid" if isinstance(given, str)
                     else f"a session name is text, not {given!r}", SESSION_NAMES)
    named = request.headers.get(SESSION_HEADER)
    if named is None:
        return given
    via = ("the path /__session/" + named if request.scope.get("root_path", "").startswith("/__session/")
           else f"X-Mock-Session: {named}")
    if not valid_session(named):
        raise Misuse(f"session name '{named}' ({via}) is not valid", SESSION_NAMES)
    if given is not None and given != named:
        raise Misuse(f"session={given!r} names another session than {via}: the admin API in a session sees that "
                     "session only (ask /__admin/... without the prefix or the header for another, or all)", [named])
    return named


DURATIONS = ["60", "60s", "250ms", "5m", "1h"]
INSTANTS = ["true", "false", "1767225600", "2026-01-01T00:00:00Z"]


def _freeze_at(value: Any) -> bool | float:
    """`freeze`: true or false, or the instant to freeze at (epoch seconds, or ISO 8601 with its
    offset). An instant makes answers that print the time (Reactor's created_at, clientless's
    expires, Braze's X-RateLimit-Reset) the same bytes in every process frozen there."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and 0 <= value <= LAST_INSTANT:  # an int past a float's range: not an instant
        return float(value)
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.timestamp()
    raise Misuse(f"freeze: true, false or an instant (epoch seconds, ISO 8601 with its offset), not {value!r}",
                 INSTANTS)


def build_admin(runtime: Runtime) -> Starlette:
    def api_param(request: Request) -> tuple[str | None, JSONResponse | None]:
        api = request.query_params.get("api")
        if api is not None and api not in runtime.catalog.apis:
            return None, misuse(f"unknown api '{api}'", sorted(runtime.catalog.apis))
        return api, None

    async def health(request: Request) -> Response:
        if not runtime.ready:
            return JSONResponse({"status": "starting"}, 503)
        if runtime.state.shared:  # every answer needs it: a container whose Redis went away is not healthy
            from mockserver.engine.redis_state import unreachable, unreachable_detail

            try:
                await runtime.state.ping()
            except Exception as exc:
                if not unreachable(exc):
                    raise
                detail = unreachable_detail(runtime.settings.state, exc)
                return JSONResponse({"status": "unavailable", "detail": detail}, 503)
        from mockserver.transports import FAULTS_BY_SERVER

        settings = runtime.settings
        served = [settings.api] if settings.api else sorted(runtime.catalog.apis)  # --api NAME: that one
        prefixes = {name: "" if settings.api else runtime.catalog.apis[name].prefix for name in served}
        return JSONResponse({"status": "ok", "version": __version__, "apis": served, "prefixes": prefixes,
                             "seed": settings.seed, "server": settings.server,
                             "faults": FAULTS_BY_SERVER.get(settings.server, []),
                             "state": settings.state.split(":", 1)[0]})

    async def live(request: Request) -> Response:
        """Liveness, apart from readiness (anchors §4): the process answers, whatever its Redis does. A probe that
        restarts the container (Kubernetes' livenessProbe) asks this one; one that routes traffic asks `health`."""
        return JSONResponse({"status": "alive", "version": __version__, "ready": runtime.ready})

    async def catalog(request: Request) -> Response:
        api, problem = api_param(request)
        # --api NAME serves one API: its catalog is that API's, as its health says (`?api=` still picks)
        return problem or JSONResponse(runtime.catalog.entries(api or runtime.settings.api))

    async def requests(request: Request) -> Response:
        api, problem = api_param(request)
        if problem:
            return problem
        params = request.query_params
        if request.method == "DELETE":
            if set(params) - {"session"}:  # forgetting everything when a filter was meant would surprise
                return misuse("DELETE /__admin/requests takes ?session= only (no other filter): "
                              f"not {', '.join(sorted(set(params) - {'session'}))}", ["session"])
            await runtime.journal.wipe(scoped(request, params.get("session")))
            return Response(status_code=204)
        # each named with its valid values (README: a bad value sent to a parameter); ASCII digits only, as `__code`
        limit = decimal(params["limit"]) if "limit" in params else None  # (int() takes `+5`, `1_000`, ` 7`)
        if "limit" in params and limit is None:
            return misuse(f"limit: the last N entries, N >= 0, not {params['limit']!r}", ["0", "1", "10"])
        status = decimal(params["status"]) if "status" in params else None
        if "status" in params and (status is None or status != 0 and not 100 <= status <= 599):  # (none has it)
            return misuse(f"status: an HTTP status, not {params['status']!r}", ["100-599", "0 (no status line)"])
        if not runtime.journal.enabled:
            return misuse(_JOURNAL_OFF)
        session = scoped(request, params.get("session"))
        await runtime.journal.sync()
        found = runtime.journal.query(api=api, session=session, route=params.get("route"), status=status,
                                      error=params.get("error"), limit=limit)
        return JSONResponse({"requests": found, "count": len(found)})

    async def unmatched(request: Request) -> Response:
        api, problem = api_param(request)
        if problem:
            return problem
        if not runtime.journal.enabled:
            return misuse(_JOURNAL_OFF)
        session = scoped(request, request.query_params.get("session"))
        await runtime.journal.sync()
        found = runtime.journal.query(unmatched=True, api=api, session=session)
        return JSONResponse({"requests": found, "count": len(found)})

    async def reset(request: Request) -> Response:
        session = scoped(request, request.query_params.get("session"))
        await runtime.state.clear(session)
        await runtime.journal.wipe(session)
        if session is None:
            runtime.clock.reset()
        else:
            await modes.switch_off(runtime.state, runtime.clock, None, None, session)
        return JSONResponse({"reset": session or "all"})

    async def reload(request: Request) -> Response:
        try:
            catalog = runtime.reload()
        except ScenarioError as exc:
            kept = sorted(runtime.catalog.apis)  # a problem document, as the mock's other refusals are
            log.warning("POST /__admin/reload: %d problem(s) in the scenario files; the files read before are still "
                        "served", len(exc.problems))
            return JSONResponse({"type": "urn:mockserver:problem:scenario-files", "title": "Scenario files refused",
                                 "status": 422, "detail": f"{len(exc.problems)} problem(s) in the scenario files; "
                                 f"the ones loaded before are still served ({', '.join(kept)})", "loaded": False,
                                 "problems": [str(p) for p in exc.problems], "kept": kept}, 422,
                                media_type=PROBLEM_JSON)
        log.warning("POST /__admin/reload: read the scenario files again (%s)", ", ".join(sorted(catalog.apis)))
        return JSONResponse({"loaded": True, "apis": sorted(catalog.apis)})

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            body = await _read_json(request)
            if body is _NOT_JSON:
                return misuse('the body is JSON: {"advance": "60s"}, {"freeze": true}, {"reset": true}',
                              ["advance", "freeze", "reset"])
            if not isinstance(body, dict) or not body or not set(body) <= {"advance", "freeze", "reset"}:
                unknown = sorted(set(body) - {"advance", "freeze", "reset"}) if isinstance(body, dict) else []
                return misuse("unknown clock command" + (f": {', '.join(unknown)}" if unknown else
                                                         ' (give one of {"advance": "60s"}, {"freeze": true}, '
                                                         '{"reset": true})'), ["advance", "freeze", "reset"])
            try:
                seconds = _duration("advance", body["advance"], zero=True) if "advance" in body else 0.0
                if "reset" in body:
                    _flag("reset", body["reset"])
                freeze = _freeze_at(body["freeze"]) if "freeze" in body else None
            except Misuse as exc:
                return misuse(exc.detail, exc.valid)

            def command(clock: Clock) -> None:
                if body.get("reset"):
                    clock.reset()
                if freeze is True:
                    clock.freeze()
                elif freeze is False:
                    clock.unfreeze()
                elif freeze is not None:
                    clock.freeze(at=freeze)
                if "advance" in body:
                    clock.advance(seconds)

            moved = Clock()  # the command tried on a copy first: a time no Date header can print is refused
            moved.load(runtime.clock.state())
            command(moved)
            if not 0 <= moved.now() <= LAST_INSTANT:
                return misuse(f"the clock would read {moved.now()!r} s since 1970: past what a Date header "
                              "prints (0 to 9999-12-31T23:59:59Z)", ["advance", "freeze", "reset"])
            await runtime.change_clock(command)
        else:
            await runtime.sync_clock()
        return JSONResponse(runtime.clock.describe())

    async def modes_route(request: Request) -> Response:
        await runtime.sync_clock()
        store, clock = runtime.state, runtime.clock
        session = scoped(request, request.query_params.get("session"))  # a Misuse is answered by `_takes`
        if request.method == "POST":
            body = await _json_object(request)
            await switch({**body, "session": scoped(request, body.get("session"))})
        elif request.method == "DELETE":
            params = request.query_params
            if params.get("api") is not None and params["api"] not in runtime.catalog.apis:
                raise Misuse(f"unknown api '{params['api']}'", sorted(runtime.catalog.apis))
            if params.get("mode") is not None:
                modes.declared_by(runtime.catalog, params["mode"], params.get("api"))
            await modes.switch_off(store, clock, params.get("mode"), params.get("api"), session)
        declared = {name: {m: mode.summary() for m, mode in api.modes.items()}
                    for name, api in runtime.catalog.apis.items()}
        active = modes.describe(await store.get(GLOBAL, MODES_KEY), clock.now())
        if session is not None and request.method == "GET":  # those a request of the session reads
            active = [a for a in active if a.get("session") in (None, session)]
        return JSONResponse({"declared": declared, "active": active})

    async def switch(body: dict[str, Any]) -> None:
        """POST /__admin/modes: {"mode", "api"?, "session"?, "ttl"?, "on"?}."""
        unknown = sorted(set(body) - {"mode", "api", "session", "ttl", "on"})
        if unknown or not isinstance(body.get("mode"), str):
            raise Misuse("POST /__admin/modes takes {\"mode\": NAME} and optionally api, session, ttl, on"
                         + (f"; not {', '.join(unknown)}" if unknown else ""), ["mode", "api", "session", "ttl", "on"])
        api, session = body.get("api"), body.get("session")
        if api is not None and (not isinstance(api, str) or api not in runtime.catalog.apis):  # JSON: any value
            raise Misuse(f"unknown api '{api}'", sorted(runtime.catalog.apis))
        if session is not None and not (isinstance(session, str) and valid_session(session)):
            raise Misuse(f"session name '{session}' is not valid", SESSION_NAMES)
        declaring = modes.declared_by(runtime.catalog, body["mode"], api)
        if not _flag("on", body.get("on", True)):
            await modes.switch_off(runtime.state, runtime.clock, body["mode"], api, session)
            return
        ttl = _duration("ttl", body["ttl"]) if body.get("ttl") is not None else None
        if ttl is not None and runtime.clock.now() + ttl > LAST_INSTANT:
            raise Misuse(f"ttl: {body['ttl']!r} ends past the year 9999, the last a Date header prints", DURATIONS)
        for target in declaring:  # one activation per API, each with its mode's own duration
            lasts = ttl if ttl is not None else target.modes[body["mode"]].duration_s
            await modes.switch_on(runtime.state, runtime.clock, body["mode"], target.name, session, lasts)

    async def coverage(request: Request) -> Response:
        only, problem = api_param(request)
        if problem:
            return problem
        session = scoped(request, request.query_params.get("session"))
        await runtime.journal.sync()
        await runtime.journal.sync_served(session)
        served = runtime.journal.served_ids(session)
        requested = runtime.journal.requests_by_api(session)
        apis = {n: a for n, a in runtime.catalog.apis.items() if only is None or n == only}
        return JSONResponse(coverage_report.build(apis, served, requested))

    async def verdict(request: Request) -> Response:
        api, problem = api_param(request)
        if problem:
            return problem
        if not runtime.journal.enabled:
            return misuse(_JOURNAL_OFF + ": there is nothing to judge")
        session = scoped(request, request.query_params.get("session"))
        await runtime.journal.sync()
        judged = client_verdict.judge_entries(runtime.journal.query(api=api, session=session, redact=False))
        # a verdict over a window the journal's bound cut says so (the assert and the CLI's text tell)
        return JSONResponse({"session": session, "api": api, **judged, "complete": runtime.journal.complete(session)})

    async def http_problem(request: Request, exc: Exception) -> Response:
        """An unknown admin route or a method it does not take: the mock's own misuse, as problem+json."""
        assert isinstance(exc, HTTPException)
        where = request.scope.get("root_path", "") + request.scope["path"]
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            return misuse(f"{request.method} is not a method of {where}", allow.split(", "), 405, {"Allow": allow})
        return misuse(f"no admin route {where}", [f"/__admin{route.path}" for route in routes])

    routes = [
        Route("/health", health),
        Route("/health/live", live),
        Route("/catalog", _takes({"api"}, catalog)),
        Route("/requests", _takes({"api", "session", "route", "status", "error", "limit"}, requests),
              methods=["GET", "DELETE"]),
        Route("/requests/unmatched", _takes({"api", "session"}, unmatched)),
        Route("/reset", _takes({"session"}, reset), methods=["POST"]),
        Route("/reload", _takes(set(), reload), methods=["POST"]),  # `?scenarios=` read nothing else
        Route("/clock", _takes(set(), clock), methods=["GET", "POST"]),  # one clock: `?session=` was no filter
        Route("/modes", _takes({"mode", "api", "session"}, modes_route), methods=["GET", "POST", "DELETE"]),
        Route("/coverage", _takes({"api", "session"}, coverage)),
        Route("/verdict", _takes({"session", "api"}, verdict)),
    ]
    handlers: dict[Any, Any] = {HTTPException: http_problem}
    if runtime.state.shared:  # the Redis of --state gone away: the one-line 503 the API routes answer, no traceback
        from redis.exceptions import ConnectionError, TimeoutError

        from mockserver.engine.redis_state import state_gone_answer

        async def state_gone(request: Request, exc: Exception) -> Response:
            where = request.scope.get("root_path", "") + request.scope["path"]
            status, headers, body = state_gone_answer(runtime.settings.state, exc, f"{request.method} {where}")
            return Response(body, status, headers=dict(headers))

        handlers.update({ConnectionError: state_gone, TimeoutError: state_gone})
    return Starlette(routes=routes, exception_handlers=handlers)


def _takes(names: set[str], handler: Any) -> Any:
    """The route's handler, refusing a query parameter it does not take: a misspelt `?sesion=` would
    otherwise be no filter at all, and `POST /__admin/reset?sesion=x` would reset every session."""
    async def checked(request: Request) -> Response:
        unknown = sorted(set(request.query_params) - names)
        if unknown:
            where = request.scope.get("root_path", "") + request.scope["path"]
            takes = f"?{'=, ?'.join(sorted(names))}= only" if names else "no query parameter"
            return misuse(f"{request.method} {where} takes {takes}, not {', '.join(unknown)}", sorted(names))
        try:
            response: Response = await handler(request)
        except Misuse as exc:  # the session the prefix or the header names (`scoped`), among others
            return misuse(exc.detail, exc.valid)
        return response
    return checked


_NOT_JSON = object()
_JOURNAL_OFF = "the journal is off (--no-journal): no request is kept"  # an empty list would look like no request


async def _read_json(request: Request) -> Any:
    """The body as JSON, or `_NOT_JSON`: JSON nested deeper than Python recurses (`[[[...]]]` 10,000
    deep) is refused as any other body that is not JSON, not a traceback; so is a body whose client
    left before its Content-Length was sent (the answer reaches no one: the log stays quiet). A lone surrogate
    becomes U+FFFD, as in the APIs' bodies: the misuse answer that names a value can still be encoded."""
    try:
        return loads_encodable((await request.body()).decode("utf-8"))
    except (ValueError, RecursionError, ClientDisconnect):
        return _NOT_JSON


async def _json_object(request: Request) -> dict[str, Any]:
    body = await _read_json(request)
    if not isinstance(body, dict):
        raise Misuse("the body is a JSON object", ['{"mode": "outage", "ttl": "30s"}'])
    return body
