"""The pytest plugin (entry point `pytest11`): a `mockserver` fixture for testing your own client.

One server per test process (session scope), run on uvicorn in a daemon thread on a free loopback
port; each test gets its own `X-Mock-Session`, so state, quotas and the journal of one test never
leak into another, and pytest-xdist workers (one server each) run side by side.

How a test's session reaches the server, and what the handle offers: mockserver.inprocess, which
also serves users of other test runners (`running()`).

Only the standard library and pytest are imported here: the plugin loads in every pytest run of an
environment where mockserver is installed, and the server itself is imported on first use.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mockserver.inprocess import Clock, MockServer, MockServerError, RemoteServer, Server, ServerThread

if TYPE_CHECKING:
    from mockserver.settings import Settings

# where they always were, for users' imports
__all__ = ["Clock", "MockServer", "MockServerError", "RemoteServer", "ServerThread"]
_SESSION_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_COUNTER = itertools.count(1)
_RUN_ID = secrets.token_hex(4)


# -- options, fixtures, coverage at the end of the run ----------------------------------------------

@dataclass
class _Run:
    reports: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] | None = None
    shortfall: str | None = None


_RUN = pytest.StashKey[_Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver: the documented failures of five vendor APIs")
    group.addoption("--mockserver-url", default=os.environ.get("MOCKSERVER_URL") or None, metavar="URL",
                    help="Use the mock served at URL (`mockserver serve`, a CI service container) instead of "
                         "starting one in this process; default: $MOCKSERVER_URL. Its own seed and scenario "
                         "files apply.")
    group.addoption("--mockserver-seed", type=int, default=0, metavar="N",
                    help="Seed of the mockserver fixture's server (same seed, same answers).")
    group.addoption("--mockserver-scenarios", action="append", default=[], metavar="PATH",
                    help="Your own scenario file or folder, added to the bundled ones (repeatable).")
    group.addoption("--mockserver-coverage", action="store_true",
                    help="Print which documented errors the run served, per API, at the end.")
    group.addoption("--mockserver-coverage-min", type=_ratio, default=None, metavar="RATIO",
                    help="Fail the run when the documented errors served over those of the APIs in play are "
                         "under RATIO (0.8 = 80%%); implies --mockserver-coverage.")
    group.addoption("--mockserver-coverage-junit", default=None, metavar="PATH",
                    help="Write the coverage as JUnit XML (a test case per documented error).")


def _ratio(text: str) -> float:
    """0 to 1, as `mockserver coverage --min` takes it: 1.5 failed every run, -0.5 none (argparse's usage error)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ratio from 0 to 1 (0.8 = 80%)") from None
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"{text!r} is not a ratio from 0 to 1 (0.8 = 80%)")
    return value


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
def mockserver_server(mockserver_settings: Settings, pytestconfig: pytest.Config) -> Iterator[Server]:
    """The server of this test process, started on first use and stopped at the end of the run; or the
    one --mockserver-url names."""
    from mockserver.scenario.read import ScenarioError

    url = pytestconfig.getoption("mockserver_url")
    if url:
        if pytestconfig.getoption("mockserver_scenarios") or pytestconfig.getoption("mockserver_seed"):
            pytest.fail("mockserver: --mockserver-seed and --mockserver-scenarios are for the fixture's own server; "
                        f"the one at {url} has its own (`mockserver serve --seed N --scenarios PATH`)", pytrace=False)
        try:
            remote = RemoteServer(url)
        except RuntimeError as exc:
            pytest.fail(f"mockserver: {exc}", pytrace=False)
        yield remote
        return
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
    if request.config.getoption("mockserver_url"):  # a server that outlives this run: a name no other run took
        return f"r{_RUN_ID}-t{next(_COUNTER)}-{name}"[:128]
    return f"t{next(_COUNTER)}-{name}"[:128]


@pytest.fixture
def mockserver(mockserver_server: Server, mockserver_session: str,
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
    if isinstance(mockserver_server, RemoteServer) and _coverage_wanted(request.config):
        request.config.stash[_RUN].reports.append(handle.coverage())  # this run's sessions, not the server's
    if marker is not None and marker.kwargs.get("allow_unmatched", False):
        return
    # a request the mock refused as misuse (a misspelt flag, an unknown error id, a path no API serves) got a
    # 400 no imitated API sends: a client that swallows 400s would pass a test that never ran as written
    try:
        unmatched = handle.unmatched()  # a path no API serves is there too: listed once
    except MockServerError as exc:
        if "--no-journal" in str(exc):  # a server that keeps no journal (--mockserver-url): nothing to check
            return
        raise
    seen = {e["seq"] for e in unmatched}
    unmatched += [e for e in handle.requests() if e["misuse"] and e["seq"] not in seen]
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
