"""build_app(settings): the ASGI application. `/__admin` goes to Starlette, the rest to the dispatcher;
`/__session/NAME/...` is either, in session NAME."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette

from mockserver.admin import build_admin, misuse
from mockserver.admin_guard import refusal
from mockserver.dispatch import Dispatcher
from mockserver.engine.faults import connection_of
from mockserver.engine.flags import SESSION_PREFIX
from mockserver.runtime import Runtime
from mockserver.scenario.load import load_catalog
from mockserver.scenario.model import Catalog
from mockserver.settings import SETTINGS_ENV, Settings

if TYPE_CHECKING:
    from mockserver.scenario.read import ScenarioError

log = logging.getLogger("mockserver")
ADMIN_PREFIX = "/__admin"


def session_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """`/__session/NAME/rest` is answered as `/rest` with `X-Mock-Session: NAME`: a client that only
    takes a base URL (an SDK) gets a session of its own. The prefix becomes `root_path`, so the links
    the APIs print keep it."""
    path: str = scope["path"]
    name, _, rest = path[len(SESSION_PREFIX):].partition("/")
    prefix = SESSION_PREFIX + name
    headers = [(k, v) for k, v in scope["headers"] if k != b"x-mock-session"]
    # Any name goes into the header (a name outside latin-1, `%E2%82%AC`, too): the session check refuses
    # it there as misuse, as it refuses `?__session=` of the same name.
    headers.append((b"x-mock-session", name.encode("utf-8", "replace")))
    raw_path: bytes = scope.get("raw_path") or path.encode("utf-8", "replace")
    raw_rest = raw_path.split(b"/", 3)[3:]  # after `/__session/NAME`, each as sent (escaped or not)
    return {**scope, "path": "/" + rest, "raw_path": b"/" + raw_rest[0] if raw_rest else b"/",
            "root_path": scope.get("root_path", "") + prefix, "headers": headers}


def as_http(scope: dict[str, Any], send: Any) -> tuple[dict[str, Any], Any, Any]:
    """A WebSocket handshake as the HTTP GET it also is: no API speaks WebSocket, and a server may ignore
    Upgrade (RFC 9110 §7.8). hypercorn hands the handshake over as a `websocket` scope and, left
    unanswered, sends a 500 of its own; the answer goes out through the denial-response extension.
    (uvicorn runs with ws="none" and gives the app the plain request.)"""
    denial = "websocket.http.response" in scope.get("extensions", {})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send_denial(message: dict[str, Any]) -> None:
        if not denial:  # no way to answer in HTTP: refuse the handshake (the server's 403)
            if message["type"] == "http.response.start":
                await send({"type": "websocket.close"})
            return
        await send({**message, "type": "websocket." + message["type"]})

    http = {**scope, "type": "http", "method": "GET", "scheme": "https" if scope.get("scheme") == "wss" else "http"}
    return http, receive, send_denial


class MockServerApp:
    """Top-level ASGI app: admin routes, the imitated APIs, and the lifespan that marks readiness."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.freeze_heap = False
        self.reread_on_hangup = False  # `serve` in one process (workers are restarted by their parent instead)
        self.admin: Starlette = build_admin(runtime)
        self.dispatcher = Dispatcher(runtime)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(SESSION_PREFIX):
                scope = session_scope(scope)
                path = scope["path"]
            if path.startswith(ADMIN_PREFIX) and (len(path) == len(ADMIN_PREFIX) or path[len(ADMIN_PREFIX)] == "/"):
                scope = {**scope, "root_path": scope.get("root_path", "") + ADMIN_PREFIX,
                         "path": path[len(ADMIN_PREFIX):] or "/"}
                refused = refusal(scope)  # a web page's request (CSRF, DNS rebinding): README, Admin API
                if refused is not None:
                    await misuse(refused, ["a client that is not a web page: curl, httpx, the pytest fixture"],
                                 403)(scope, receive, self._dated(send))
                    return
                await self.admin(scope, receive, self._dated(send))
            else:
                try:
                    await self.dispatcher(scope, receive, send)
                except asyncio.CancelledError:  # the server stops, and the grace for requests in flight is over
                    if (connection := connection_of(scope)) is None:
                        raise
                    await connection.close()  # no answer rather than the server's 500 and a traceback in the log
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await self(*as_http(scope, send))

    def _dated(self, send: Any) -> Any:
        """The admin's answers with Date at the mock's clock, as the APIs' (the servers write none)."""
        clock = self.runtime.clock

        async def send_dated(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"date", clock.http_date())]}
            await send(message)

        return send_dated

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.freeze_heap:  # the catalog and modules live as long as the process: out of GC passes.
                    gc.freeze()  # Start-up ran without GC (cli.serve, app_from_environment): ~5% of its instructions,
                    gc.enable()  # and the few hundred objects of garbage it leaves are not worth a full pass.
                if self.reread_on_hangup and hasattr(signal, "SIGHUP"):
                    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.read_files_again)
                self.runtime.ready = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.reread_on_hangup and hasattr(signal, "SIGHUP"):
                    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
                self.runtime.ready = False
                await self.dispatcher.cut_journaled()  # the servers cancel what is in flight before this message
                await send({"type": "lifespan.shutdown.complete"})
                return


    def read_files_again(self) -> None:
        """SIGHUP to one process: the scenario files read again, as `POST /__admin/reload` and as uvicorn's workers
        restarted do (nginx and gunicorn too), the state kept; on a problem the files read before stay served, and
        each problem is one line."""
        from mockserver.scenario.read import ScenarioError

        try:
            catalog = self.runtime.reload()
        except ScenarioError as exc:
            lines = problem_lines(exc, " (SIGHUP); the files read before are still served")
        else:
            read = f"SIGHUP: read the scenario files again ({', '.join(sorted(catalog.apis))})"
            lines = [] if self.runtime.settings.quiet else [read]
        try:
            for line in lines:
                print(line, file=sys.stderr, flush=True)
        except OSError:  # the terminal it was started in is gone
            pass


def build_app(settings: Settings | None = None, catalog: Catalog | None = None,
              freeze_heap: bool = False) -> MockServerApp:
    """Load the scenarios (raises ScenarioError with every problem) and build the app."""
    settings = settings or Settings()
    if catalog is None:
        catalog = load_catalog(settings.scenario_paths)
    if settings.api is not None and settings.api not in catalog.apis:
        raise ValueError(f"--api {settings.api}: no such API (loaded: {', '.join(sorted(catalog.apis))})")
    app = MockServerApp(Runtime(settings, catalog))
    app.freeze_heap = freeze_heap  # only in a server process of our own, never inside a user's test process
    return app


def log_to_stderr(level: str) -> None:
    """The served process's own messages, at `--log-level`, on stderr as they are (Python's last-resort
    handler, which printed them before, takes warnings and errors only: debug's line per request needs one)."""
    log.setLevel(level.upper())
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)


def problem_lines(exc: ScenarioError, outcome: str) -> list[str]:
    """Each problem on its line, then how many and what became of them: the words of SIGHUP and of a worker."""
    return [*map(str, exc.problems), f"{len(exc.problems)} problem(s) in the scenario files{outcome}."]


def app_from_environment() -> MockServerApp:
    """Factory for worker processes: the parent passes its settings in MOCKSERVER_SETTINGS_JSON. The parent read
    the files before; a worker started again (SIGHUP) reads them as they are now: a problem is one line each."""
    import sys

    from mockserver.scenario.read import ScenarioError

    text = os.environ.get(SETTINGS_ENV)
    settings = Settings.from_json(text) if text else Settings()
    log_to_stderr(settings.log_level)  # a worker is a process of its own: the parent's logger is not its
    gc.disable()  # until the app serves: see _lifespan
    try:
        return build_app(settings, freeze_heap=True)
    except ScenarioError as exc:
        print("\n".join(problem_lines(exc, "; this worker process did not start")), file=sys.stderr)
        raise SystemExit(1) from None
