"""The pytest plugin (entry point `pytest11`): a `mockserver` fixture for testing your own client.

One server per test process (session scope), run on uvicorn in a daemon thread on a free loopback
port; each test gets its own `X-Mock-Session`, so state, quotas and the journal of one test never
leak into another, and pytest-xdist workers (one server each) run side by side.

How a test's session reaches the server: `mockserver.url("braze")` is
`http://127.0.0.1:PORT/__session/<session>/braze`. The server takes `/__session/<name>` off the path
and answers the rest with `X-Mock-Session: <name>` (app.session_scope; the path prefix becomes the
ASGI `root_path`, so links the APIs print keep it). Any client that takes
a base URL is isolated that way, without being able to send a header; `mockserver.headers` gives the
header for clients that call the plain `mockserver.base_url`.

Only the standard library and pytest are imported here: the plugin loads in every pytest run of an
environment where mockserver is installed, and the server itself is imported on first use.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockserver.app import MockServerApp
    from mockserver.settings import Settings

SESSION_PREFIX = "/__session/"
_SESSION_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_COUNTER = itertools.count(1)


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
        from mockserver.transports import FaultingHttpToolsProtocol

        self.app: MockServerApp = build_app(settings)
        self.settings = settings
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        # No lifespan: readiness is set in start(); the app never freezes the heap here (that is for
        # server processes of our own, see build_app's freeze_heap).
        # As `mockserver serve` runs uvicorn (server.run_uvicorn): the connection in the scope for the
        # transport faults (reset, empty, malformed, truncate), only the answer's own Server header, no WebSocket.
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", log_config=None,
                                access_log=False, http=FaultingHttpToolsProtocol, server_header=False, ws="none")
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

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """One admin call (`path` under /__admin); the JSON answer, or MockServerError."""
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/__admin{path}{'?' + query if query else ''}", data=data,
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

    def __init__(self, server: ServerThread) -> None:
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

    def __init__(self, server: ServerThread, session: str) -> None:
        self.server = server
        self.session = session
        self.base_url = server.url
        self.clock = Clock(server)
        self._everywhere: set[tuple[str, str | None]] = set()  # modes this test turned on for every session

    @property
    def headers(self) -> dict[str, str]:
        """The header that puts a request sent to `base_url` in this test's session."""
        return {"X-Mock-Session": self.session}

    def url(self, api: str) -> str:
        """Base URL of an API in this test's session: `http://127.0.0.1:PORT/__session/NAME/braze`."""
        apis = self.server.app.runtime.catalog.apis
        if api not in apis:
            raise ValueError(f"no API '{api}' (loaded: {', '.join(sorted(apis))})")
        prefix = "" if self.server.settings.api == api else apis[api].prefix
        return f"{self.base_url}{SESSION_PREFIX}{self.session}{prefix}"

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
        """Fail the test with every finding, each with its doc line and journal entries."""
        from mockserver.verdict import describe

        verdict = self.verdict(api)
        if not verdict["clean"]:
            pytest.fail(describe(verdict), pytrace=False)

    def mode(self, name: str, *, api: str | None = None, ttl: float | str | None = None, on: bool = True,
             everywhere: bool = False) -> dict[str, Any]:
        """Turn a named mode on (or off) for this test's session, or for every session (`everywhere`)."""
        body = {"mode": name, "api": api, "ttl": ttl, "on": on, "session": None if everywhere else self.session}
        answer = dict(self.server.call("POST", "/modes", body={k: v for k, v in body.items() if v is not None}))
        if everywhere:
            (self._everywhere.add if on else self._everywhere.discard)((name, api))
        return answer

    def reset(self) -> None:
        """Forget this session's state and journal (what it was served is forgotten for coverage too)."""
        self.server.call("POST", "/reset", {"session": self.session})

    def undo_shared_changes(self) -> None:
        """At teardown: what this test changed beyond its session (modes on everywhere, the clock) is undone."""
        for name, api in sorted(self._everywhere, key=str):
            self.server.call("POST", "/modes", body={k: v for k, v in
                                                     {"mode": name, "api": api, "on": False}.items() if v is not None})
        self._everywhere.clear()
        self.clock.restore()


# -- options, fixtures, coverage at the end of the run ----------------------------------------------

@dataclass
class _Run:
    reports: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] | None = None
    shortfall: str | None = None


_RUN = pytest.StashKey[_Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver: the documented failures of five vendor APIs")
    group.addoption("--mockserver-seed", type=int, default=0, metavar="N",
                    help="Seed of the mockserver fixture's server (same seed, same answers).")
    group.addoption("--mockserver-scenarios", action="append", default=[], metavar="PATH",
                    help="Your own scenario file or folder, added to the bundled ones (repeatable).")
    group.addoption("--mockserver-coverage", action="store_true",
                    help="Print which documented errors the run served, per API, at the end.")
    group.addoption("--mockserver-coverage-min", type=float, default=None, metavar="RATIO",
                    help="Fail the run when the documented errors served over those of the APIs in play are "
                         "under RATIO (0.8 = 80%%); implies --mockserver-coverage.")
    group.addoption("--mockserver-coverage-junit", default=None, metavar="PATH",
                    help="Write the coverage as JUnit XML (a test case per documented error).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mockserver(allow_unmatched=False): options of the mockserver fixture "
                                       "(allow_unmatched: do not fail at teardown on requests no route matched)")
    config.stash[_RUN] = _Run()


def _coverage_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("mockserver_coverage") or config.getoption("mockserver_coverage_min") is not None
                or config.getoption("mockserver_coverage_junit"))


@pytest.fixture(scope="session")
def mockserver_settings(pytestconfig: pytest.Config) -> Settings:
    """Settings of the process's server, from the --mockserver-* options; override it to change more."""
    from mockserver.settings import Settings

    scenarios = tuple(str(Path(p).resolve()) for p in pytestconfig.getoption("mockserver_scenarios"))
    return Settings(seed=pytestconfig.getoption("mockserver_seed"), scenarios=scenarios)


@pytest.fixture(scope="session")
def mockserver_server(mockserver_settings: Settings, pytestconfig: pytest.Config) -> Iterator[ServerThread]:
    """The server of this test process, started on first use and stopped at the end of the run."""
    from mockserver.scenario.read import ScenarioError

    try:
        server = ServerThread(mockserver_settings)
    except ScenarioError as exc:  # the problems, not the loader's traceback, once per test that asks
        pytest.fail(f"mockserver: the scenario files do not load (fix them, `mockserver validate PATH` lists "
                    f"every problem; yours come from --mockserver-scenarios):\n{exc}", pytrace=False)
    server.start()
    try:
        yield server
        if _coverage_wanted(pytestconfig):
            pytestconfig.stash[_RUN].reports.append(server.call("GET", "/coverage"))
    finally:
        server.stop()


@pytest.fixture
def mockserver_session(request: pytest.FixtureRequest) -> str:
    """This test's session name: unique in the process, readable in the journal."""
    name = _SESSION_CHARS.sub("-", request.node.name).strip("-")
    return f"t{next(_COUNTER)}-{name}"[:128]


@pytest.fixture
def mockserver(mockserver_server: ServerThread, mockserver_session: str,
               request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """This test's handle on the server; at teardown, undoes what the test changed for every session
    (modes turned on `everywhere`, the clock) and fails on requests no route matched."""
    marker = request.node.get_closest_marker("mockserver")
    wrong = [repr(a) for a in marker.args] + sorted(set(marker.kwargs) - {"allow_unmatched"}) if marker else []
    if wrong:
        pytest.fail(f"@pytest.mark.mockserver takes allow_unmatched=True|False only, not {', '.join(wrong)}",
                    pytrace=False)
    handle = MockServer(mockserver_server, mockserver_session)
    yield handle
    handle.undo_shared_changes()
    if marker is not None and marker.kwargs.get("allow_unmatched", False):
        return
    # a request the mock refused as misuse (a misspelt flag, an unknown error id, a path no API serves) got a
    # 400 no imitated API sends: a client that swallows 400s would pass a test that never ran as written
    unmatched = handle.unmatched() + [e for e in handle.requests() if e["misuse"]]
    if unmatched:
        listed = "\n".join(f"  #{e['seq']} {e['method']} {e['path']}{'?' + e['query'] if e['query'] else ''}"
                           f"{' ' + ' '.join('__' + f for f in e['flags']) if e['flags'] else ''} -> {e['status']}"
                           f"{' misuse of the mock (its X-Mockserver-Misuse answer says why)' if e['misuse'] else ''}"
                           for e in sorted(unmatched, key=lambda e: e["seq"]))
        pytest.fail(f"{len(unmatched)} request(s) no route matched (mark the test "
                    f"@pytest.mark.mockserver(allow_unmatched=True) if they are meant):\n{listed}", pytrace=False)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: each worker ran its own server; gather their coverage reports."""
    reports = getattr(node, "workeroutput", {}).get("mockserver_coverage", [])
    node.config.stash[_RUN].reports.extend(reports)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the session fixtures' teardown: send (worker) or merge, judge and write the coverage."""
    config = session.config
    run = config.stash[_RUN]
    if hasattr(config, "workerinput"):
        config.workeroutput["mockserver_coverage"] = run.reports  # type: ignore[attr-defined]
        return
    if not _coverage_wanted(config):
        return
    from mockserver import coverage

    run.report = coverage.merge(run.reports)
    junit = config.getoption("mockserver_coverage_junit")
    if junit and run.report is not None:
        Path(junit).write_text(coverage.junit(run.report), encoding="utf-8")
    minimum = config.getoption("mockserver_coverage_min")
    if minimum is not None and run.report is not None and run.report["ratio"] < minimum:
        run.shortfall = (f"FAIL: documented-error coverage {run.report['ratio']:.1%} is under "
                         f"--mockserver-coverage-min={minimum:g}")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash[_RUN]
    if hasattr(config, "workerinput") or not _coverage_wanted(config):
        return
    from mockserver import coverage

    terminalreporter.section("mockserver documented-error coverage")
    if run.report is None:
        terminalreporter.write_line("no test used the mockserver fixture")
        return
    terminalreporter.write_line(coverage.table(run.report))
    if run.shortfall:
        terminalreporter.write_line(run.shortfall, red=True, bold=True)
