"""`/__admin`: health, catalog, journal, reset, reload, clock, coverage. One route table."""

from __future__ import annotations

import re
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockserver import __version__
from mockserver import coverage as coverage_report
from mockserver import verdict as client_verdict
from mockserver.dispatch import PROBLEM_JSON
from mockserver.runtime import Runtime
from mockserver.scenario.load import ScenarioError

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """Seconds from `60`, `"60s"`, `"250ms"`, `"5m"`, `"1h"`; raises ValueError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    found = _DURATION.match(str(value))
    if not found:
        raise ValueError(f"not a duration: {value!r} (use 60, '60s', '250ms', '5m', '1h')")
    return float(found.group(1)) * _UNITS[found.group(2)]


def misuse(detail: str, valid: list[str] | None = None, status: int = 400) -> JSONResponse:
    body: dict[str, Any] = {"type": "urn:mockserver:problem:misuse", "title": "Misuse of the mock server",
                            "status": status, "detail": detail}
    if valid:
        body["valid"] = valid
    return JSONResponse(body, status, headers={"X-Mockserver-Misuse": "1"}, media_type=PROBLEM_JSON)


def build_admin(runtime: Runtime) -> Starlette:
    def api_param(request: Request) -> tuple[str | None, JSONResponse | None]:
        api = request.query_params.get("api")
        if api is not None and api not in runtime.catalog.apis:
            return None, misuse(f"unknown api '{api}'", sorted(runtime.catalog.apis))
        return api, None

    async def health(request: Request) -> Response:
        if not runtime.ready:
            return JSONResponse({"status": "starting"}, 503)
        return JSONResponse({"status": "ok", "version": __version__, "apis": sorted(runtime.catalog.apis),
                             "seed": runtime.settings.seed})

    async def catalog(request: Request) -> Response:
        api, problem = api_param(request)
        return problem or JSONResponse(runtime.catalog.entries(api))

    async def requests(request: Request) -> Response:
        api, problem = api_param(request)
        if problem:
            return problem
        params = request.query_params
        if request.method == "DELETE":
            runtime.journal.clear(params.get("session"))
            return Response(status_code=204)
        try:
            limit = int(params["limit"]) if "limit" in params else None
            status = int(params["status"]) if "status" in params else None
        except ValueError:
            return misuse("limit and status take integers")
        found = runtime.journal.query(api=api, session=params.get("session"), route=params.get("route"),
                                      status=status, error=params.get("error"), limit=limit)
        return JSONResponse({"requests": found, "count": len(found)})

    async def unmatched(request: Request) -> Response:
        found = runtime.journal.query(unmatched=True, session=request.query_params.get("session"))
        return JSONResponse({"requests": found, "count": len(found)})

    async def reset(request: Request) -> Response:
        session = request.query_params.get("session")
        await runtime.state.clear(session)
        runtime.journal.clear(session)
        if session is None:
            runtime.clock.reset()
        return JSONResponse({"reset": session or "all"})

    async def reload(request: Request) -> Response:
        try:
            catalog = runtime.reload()
        except ScenarioError as exc:
            return JSONResponse({"loaded": False, "problems": [str(p) for p in exc.problems],
                                 "kept": sorted(runtime.catalog.apis)}, 422)
        return JSONResponse({"loaded": True, "apis": sorted(catalog.apis)})

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                return misuse('the body is JSON: {"advance": "60s"}, {"freeze": true}, {"reset": true}')
            if not isinstance(body, dict) or not set(body) <= {"advance", "freeze", "reset"}:
                return misuse("unknown clock command", ["advance", "freeze", "reset"])
            try:
                if body.get("reset"):
                    runtime.clock.reset()
                if "freeze" in body:
                    runtime.clock.freeze() if body["freeze"] else runtime.clock.unfreeze()
                if "advance" in body:
                    runtime.clock.advance(parse_duration(body["advance"]))
            except ValueError as exc:
                return misuse(str(exc))
        return JSONResponse(runtime.clock.describe())

    async def coverage(request: Request) -> Response:
        session = request.query_params.get("session")
        served: dict[str, set[str]] = {}
        for sess, by_api in runtime.journal.served.items():
            if session is None or sess == session:
                for api, ids in by_api.items():
                    served.setdefault(api, set()).update(ids)
        requested = runtime.journal.requests_by_api(session)
        return JSONResponse(coverage_report.build(runtime.catalog.apis, served, requested))

    async def verdict(request: Request) -> Response:
        api, problem = api_param(request)
        if problem:
            return problem
        if not runtime.journal.enabled:
            return misuse("the journal is off (--no-journal): there is nothing to judge")
        session = request.query_params.get("session")
        judged = client_verdict.judge_entries(runtime.journal.query(api=api, session=session, redact=False))
        return JSONResponse({"session": session, "api": api, **judged})

    return Starlette(routes=[
        Route("/health", health),
        Route("/catalog", catalog),
        Route("/requests", requests, methods=["GET", "DELETE"]),
        Route("/requests/unmatched", unmatched),
        Route("/reset", reset, methods=["POST"]),
        Route("/reload", reload, methods=["POST"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/coverage", coverage),
        Route("/verdict", verdict),
    ])
