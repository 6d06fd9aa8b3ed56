"""The mock in a thread of this process, and a test's handle on it (`MockServer`): what the pytest
fixture gives (mockserver.testing) and, outside pytest, `running()` (unittest, a Django test case, a script).

A handle's session reaches the server by path: `mock.url("braze")` is
`http://127.0.0.1:PORT/__session/<session>/braze`. The server takes `/__session/<name>` off the path and
answers the rest with `X-Mock-Session: <name>` (app.session_scope; the path prefix becomes the ASGI
`root_path`, so links the APIs print keep it). Any client that takes a base URL is isolated that way,
without being able to send a header; `mock.headers` gives the header for clients that call the plain
`mock.base_url`.

Only the standard library is imported here; the server itself is imported on first use.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import MockServerApp
    from mockserver.settings import Settings

SESSION_PREFIX = "/__session/"


def _fail(message: str) -> None:
    """A failed check is an AssertionError, whatever runs the test: unittest counts it as a failure (not an error),
    `pytest.raises(AssertionError)` catches it, and pytest shows the test's line, not ours (`__tracebackhide__`)."""
    __tracebackhide__ = True
    raise AssertionError(message)


class MockServerError(RuntimeError):
    """An admin call the server refused (status and body in the message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ServerThread:
    """The app on uvicorn in a daemon thread, on a loopback port the OS chose."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from mockserver.app import build_app
        from mockserver.server import GRACE_SECONDS  # a __delay still running holds the stop no longer
        from mockserver.transports import FaultingHttpToolsProtocol

        self.app: MockServerApp = build_app(settings)
        self.settings = settings
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        # No lifespan: readiness is set in start(); the app never freezes the heap here (that is for
        # server processes of our own, see build_app's freeze_heap).
        # As `mockserver serve` runs uvicorn (server.run_uvicorn): the connection in the scope for the
        # transport faults (reset, empty, malformed, truncate), only the answer's own Server header, no WebSocket,
        # and every waiting connection taken at once (eventloop.py).
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", log_config=None,
                                loop="mockserver.eventloop:new_event_loop",
                                access_log=False, http=FaultingHttpToolsProtocol, server_header=False, ws="none",
                                date_header=False, timeout_graceful_shutdown=GRACE_SECONDS)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name="mockserver", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self.app.runtime.ready = True
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mockserver thread did not start (see the log above)")
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    @property
    def prefixes(self) -> dict[str, str]:
        """Each API's path prefix ("" for the one `--api` serves at /)."""
        return {name: "" if self.settings.api == name else api.prefix
                for name, api in self.app.runtime.catalog.apis.items()}

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        return admin_call(self.url, method, path, params, body)


class RemoteServer:
    """A mock served by another process (`mockserver serve`, a CI service container), as the pytest
    plugin's `--mockserver-url` names it: what a handle needs of a server, over the admin API."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        deadline = time.monotonic() + timeout
        while True:  # a service container may still be loading its scenarios (health 503) or starting
            try:
                health = admin_call(self.url, "GET", "/health")
                break
            except (MockServerError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no mockserver ready at {self.url} after {timeout:g} s ({exc})") from None
                time.sleep(0.2)
            except (ValueError, http.client.HTTPException) as exc:  # `http://[::1`, `:abc`, an answer not JSON
                raise RuntimeError(f"no mockserver at {self.url}: {type(exc).__name__}: {exc}") from None
        if not isinstance(health, dict) or not isinstance(health.get("prefixes") or health.get("apis"), dict | list):
            raise RuntimeError(f"{self.url}/__admin/health does not answer as mockserver does: "
                               "is the URL a mockserver's root?")
        # a server older than the `prefixes` member serves each API under its own name
        self.prefixes: dict[str, str] = health.get("prefixes") or {name: "/" + name for name in health["apis"]}

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        return admin_call(self.url, method, path, params, body)


Server = ServerThread | RemoteServer


def admin_call(url: str, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
    """One admin call (`path` under /__admin) of the server at `url`; the JSON answer, or MockServerError."""
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}/__admin{path}{'?' + query if query else ''}", data=data,
                                     method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
    except urllib.error.HTTPError as exc:
        raise MockServerError(exc.code, f"{method} /__admin{path}: {exc.code} {exc.read().decode()}") from None
    return json.loads(text) if text else None


class Clock:
    """The server's virtual clock (one per server: shared by every test of the process). What a test
    does to it is undone at its teardown (`restore`), so a freeze or an advance never reaches the next test."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._before: dict[str, Any] | None = None  # the clock as the test found it, on its first change

    def _change(self, body: dict[str, Any]) -> float:
        if self._before is None:
            self._before = self._server.call("GET", "/clock")
        return float(self._server.call("POST", "/clock", body=body)["now"])

    def advance(self, duration: float | str) -> float:
        """Move the clock on (`60`, `"60s"`, `"250ms"`); the new virtual time."""
        return self._change({"advance": duration})

    def freeze(self, at: float | str | None = None) -> float:
        """Stop the clock now, or at an instant (epoch seconds, `"2026-01-01T00:00:00Z"`)."""
        return self._change({"freeze": True if at is None else at})

    def unfreeze(self) -> float:
        return self._change({"freeze": False})

    def now(self) -> float:
        return float(self._server.call("GET", "/clock")["now"])

    def restore(self) -> None:
        """Put the clock back as the test found it (frozen at the same instant, or running with the same offset)."""
        before, self._before = self._before, None
        if before is None:
            return
        if before["frozen"]:
            self._server.call("POST", "/clock", body={"reset": True, "freeze": before["now"]})
        elif before["offset_s"] >= 0:
            self._server.call("POST", "/clock", body={"reset": True, "advance": before["offset_s"]})
        else:  # behind real time (unfrozen in the past): freeze there, then run on from it
            self._server.call("POST", "/clock", body={"reset": True, "freeze": time.time() + before["offset_s"]})
            self._server.call("POST", "/clock", body={"freeze": False})


class MockServer:
    """What a test holds: its own session on the process's server."""

    def __init__(self, server: Server, session: str) -> None:
        self.server = server
        self.session = session
        self.base_url = server.url
        self.clock = Clock(server)
        self._everywhere: set[tuple[str, str | None]] = set()  # modes this test turned on for every session
        self._own_modes = False  # a mode turned on for this session (off again at teardown)

    @property
    def headers(self) -> dict[str, str]:
        """The header that puts a request sent to `base_url` in this test's session."""
        return {"X-Mock-Session": self.session}

    def url(self, api: str) -> str:
        """Base URL of an API in this test's session: `http://127.0.0.1:PORT/__session/NAME/braze`."""
        prefixes = self.server.prefixes
        if api not in prefixes:
            raise ValueError(f"no API '{api}' (loaded: {', '.join(sorted(prefixes))})")
        return f"{self.base_url}{SESSION_PREFIX}{self.session}{prefixes[api]}"

    def requests(self, *, api: str | None = None, route: str | None = None, status: int | None = None,
                 error: str | None = None, method: str | None = None, path: str | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
        """This test's journal entries, oldest first (secrets redacted); `method` and `path` (as the
        API sees it: `/braze/users/track`) pick as pytest_httpx's `get_requests(method=, url=)` does."""
        local = method is not None or path is not None  # filtered here: the last `limit` of what is left
        params = {"session": self.session, "api": api, "route": route, "status": status, "error": error,
                  "limit": None if local else limit}
        found = list(self.server.call("GET", "/requests", params)["requests"])
        if local:
            found = [e for e in found if (method is None or e["method"] == method.upper())
                     and (path is None or e["path"] == path)]
            found = found[-limit:] if limit else found
        return found

    def unmatched(self) -> list[dict[str, Any]]:
        """This test's requests that no route of their API matched."""
        return list(self.server.call("GET", "/requests/unmatched", {"session": self.session})["requests"])

    def coverage(self) -> dict[str, Any]:
        """Documented errors this test was served, per API."""
        return dict(self.server.call("GET", "/coverage", {"session": self.session}))

    def verdict(self, api: str | None = None) -> dict[str, Any]:
        """This test's requests judged against the documented retry rules (see mockserver.verdict)."""
        return dict(self.server.call("GET", "/verdict", {"session": self.session, "api": api}))

    def assert_clean_verdict(self, api: str | None = None) -> None:
        """Fail the test with every finding, each with its doc line and journal entries; or when the
        journal's bound pushed out some of this session's requests (they could not be judged)."""
        from mockserver.verdict import describe

        __tracebackhide__ = True
        verdict = self.verdict(api)
        if not verdict["clean"] or not verdict.get("complete", True):
            _fail(describe(verdict))

    def mode(self, name: str, *, api: str | None = None, ttl: float | str | None = None, on: bool = True,
             everywhere: bool = False) -> dict[str, Any]:
        """Turn a named mode on (or off) for this test's session, or for every session (`everywhere`)."""
        body = {"mode": name, "api": api, "ttl": ttl, "on": on, "session": None if everywhere else self.session}
        answer = dict(self.server.call("POST", "/modes", body={k: v for k, v in body.items() if v is not None}))
        if everywhere:
            (self._everywhere.add if on else self._everywhere.discard)((name, api))
        else:
            self._own_modes = self._own_modes or on
        return answer

    def reset(self) -> None:
        """Forget this session's state and journal (what it was served is forgotten for coverage too)."""
        self.server.call("POST", "/reset", {"session": self.session})

    def undo_shared_changes(self) -> None:
        """At teardown: what this test changed beyond its session (modes on everywhere, the clock) is undone,
        and the modes it turned on for its session go off: every request of every session reads the
        modes on, so a server that outlives many runs (--mockserver-url) must not keep them for good."""
        for name, api in sorted(self._everywhere, key=str):
            self.server.call("POST", "/modes", body={k: v for k, v in
                                                     {"mode": name, "api": api, "on": False}.items() if v is not None})
        self._everywhere.clear()
        if self._own_modes:
            self.server.call("DELETE", "/modes", {"session": self.session})
            self._own_modes = False
        self.clock.restore()


@contextmanager
def running(*, seed: int = 0, scenarios: Sequence[str | Path] = (), api: str | None = None,
            session: str = "default") -> Iterator[MockServer]:
    """Every API served in this process, on a free loopback port, for the `with` block; outside pytest
    (the pytest plugin's `mockserver` fixture does the same per test run):

        with running(seed=7) as mock:
            client = MyBrazeClient(base_url=mock.url("braze"), api_key="any")
            ...
            assert mock.requests(api="braze")[-1]["status"] == 429

    `scenarios` are your files and folders, loaded after the bundled ones (as `--scenarios`); a broken one
    raises ScenarioError with every problem. `session` is the handle's session ("default": the one a
    request without X-Mock-Session is in, so `mock.base_url` needs no header either)."""
    from mockserver.settings import Settings

    settings = Settings(seed=seed, scenarios=tuple(str(Path(p).resolve()) for p in scenarios), api=api)
    server = ServerThread(settings)
    server.start()
    try:
        yield MockServer(server, session)
    finally:
        server.stop()
