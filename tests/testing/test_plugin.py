"""The pytest plugin, as a user meets it: suites that use the fixture, run by pytest in a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest

from mockserver.inprocess import RemoteServer, admin_call
from tests.conftest import ServerProcess, serving

pytest_plugins = ["pytester"]

SUITE = '''
import httpx
import pytest

EVENT = {"event": {"xdm": {"eventType": "test"}}}
REACTOR = {"Authorization": "Bearer t", "x-api-key": "k", "x-gw-ims-org-id": "o"}


def test_a_session_sees_only_its_own_requests(mockserver):
    httpx.post(mockserver.url("edge") + "/ee/v2/interact?datastreamId=a&__code=400", json=EVENT)
    assert [e["status"] for e in mockserver.requests()] == [400]
    assert mockserver.requests()[0]["session"] == mockserver.session


def test_the_next_test_starts_empty_and_can_use_the_header(mockserver):
    assert mockserver.requests() == []
    httpx.get(mockserver.base_url + "/dcs/event", headers=mockserver.headers)
    assert [e["api"] for e in mockserver.requests()] == ["dcs"]


def test_links_the_api_prints_stay_in_the_session(mockserver):
    with httpx.Client(base_url=mockserver.url("reactor"), headers=REACTOR) as reactor:
        company = reactor.get("/companies").json()["data"][0]
        link = company["relationships"]["properties"]["links"]["related"]
        assert link.startswith(mockserver.url("reactor") + "/")
        assert reactor.get(link).status_code == 200
    assert len(mockserver.requests(api="reactor")) == 2


def test_the_clock_and_reset(mockserver):
    before = mockserver.clock.now()
    assert mockserver.clock.advance("90s") >= before + 90
    httpx.get(mockserver.url("dcs") + "/event")
    mockserver.reset()
    assert mockserver.requests() == []


def test_the_clock_freezes_at_an_instant(mockserver):
    try:
        assert mockserver.clock.freeze(at="2026-01-01T00:00:00Z") == 1767225600
        assert mockserver.clock.now() == 1767225600
    finally:
        mockserver.clock.unfreeze()


def test_a_naive_retry_fails_the_verdict(mockserver):
    for _ in range(2):
        httpx.post(mockserver.url("edge") + "/ee/v2/interact?datastreamId=a&__code=400", json=EVENT)
    with pytest.raises(AssertionError, match="no-retry-on-4xx"):
        mockserver.assert_clean_verdict()


def test_unmatched_requests_fail_at_teardown(mockserver):
    httpx.get(mockserver.url("braze") + "/no/such/route")


@pytest.mark.mockserver(allow_unmatched=True)
def test_unmatched_requests_can_be_allowed(mockserver):
    assert httpx.get(mockserver.url("braze") + "/no/such/route").status_code == 404
'''


def test_a_suite_using_the_fixture(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_unmatched_requests_fail_at_teardown*",
                                 "*1 request(s) no route matched*", "*GET /braze/no/such/route -> 404*"])


COVERED = '''
import httpx

def test_braze(mockserver):
    httpx.post(mockserver.url("braze") + "/users/track?__error=rate-limited", json={},
               headers={"Authorization": "Bearer k"})

def test_dcs(mockserver):
    httpx.get(mockserver.url("dcs") + "/event?d_site=%esid!")
'''


def test_coverage_table_threshold_and_junit(pytester):
    pytester.makepyfile(test_covered=COVERED)
    shown = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockserver-coverage")
    shown.assert_outcomes(passed=2)
    shown.stdout.fnmatch_lines(["*mockserver documented-error coverage*", "braze *1 *1 *", "dcs *1 *1 *",
                                "in play * 2 *", "braze never served: *"])
    assert shown.ret == 0
    failed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockserver-coverage-min=0.5",
                                           "--mockserver-coverage-junit=coverage.xml")
    failed.assert_outcomes(passed=2)
    assert failed.ret == pytest.ExitCode.TESTS_FAILED
    failed.stdout.fnmatch_lines(["*FAIL: documented-error coverage * is under --mockserver-coverage-min=0.5*"])
    suites = ElementTree.parse(pytester.path / "coverage.xml").getroot()
    served = [c.get("name") for c in suites.iter("testcase") if c.find("skipped") is None]
    assert sorted(served) == ["311", "rate-limited"]
    passed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockserver-coverage-min=0.01")
    assert passed.ret == 0
    for outside in ("1.5", "-0.5", "nan", "most"):  # 1.5 failed every run and -0.5 none, as `coverage --min` refuses
        refused = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mockserver-coverage-min={outside}")
        assert refused.ret == pytest.ExitCode.USAGE_ERROR
        refused.stderr.fnmatch_lines(["*is not a ratio from 0 to 1*"])


PER_WORKER = '''
import os
import httpx

def test_each_worker_serves_its_own_error(mockserver):
    error = {"gw0": "rate-limited", "gw1": "bad-request"}[os.environ["PYTEST_XDIST_WORKER"]]
    httpx.post(mockserver.url("braze") + "/users/track?__error=" + error, json={},
               headers={"Authorization": "Bearer k"})
'''


def test_xdist_workers_run_their_own_server_and_coverage_is_merged(pytester):
    pytester.makepyfile(test_workers=PER_WORKER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "each",
                                           "--mockserver-coverage")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["braze *2 *2 *"])  # requests 2, served 2: both workers' reports


TOY = """
api: toy
prefix: /toy
error_response: {status: "{{ error.status }}", body: {message: "{{ error.title }}"}}
errors:
  teapot: {status: 418, title: "I'm a teapot"}
routes:
  - {id: pot, method: GET, path: /pot, respond: {status: 200, body: {ok: true}}}
"""

OPTIONS = '''
import httpx

def test_seed_and_scenarios_reach_the_server(mockserver):
    assert httpx.get(mockserver.base_url + "/__admin/health").json()["seed"] == 5
    assert httpx.get(mockserver.url("toy") + "/pot?__error=teapot").status_code == 418
'''


def test_seed_and_scenarios_options(pytester):
    pytester.makefile(".yaml", toy=TOY)
    pytester.makepyfile(test_options=OPTIONS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockserver-seed=5",
                                           "--mockserver-scenarios=toy.yaml")
    result.assert_outcomes(passed=1)


OVERRIDE = '''
import pytest
from mockserver.settings import Settings

@pytest.fixture(scope="session")
def mockserver_settings():
    return Settings(seed=11, journal_size=2)

def test_the_overridden_settings_are_used(mockserver):
    assert mockserver.server.settings.journal_size == 2
    import httpx
    assert httpx.get(mockserver.base_url + "/__admin/health").json()["seed"] == 11

def test_a_verdict_the_journal_bound_cut_is_not_clean(mockserver):
    import httpx
    for _ in range(3):
        httpx.get(mockserver.url("reactor") + "/companies", headers={"Authorization": "Bearer t"})
    assert mockserver.verdict()["clean"] and len(mockserver.requests()) == 2
    with pytest.raises(AssertionError, match="incomplete: the journal"):
        mockserver.assert_clean_verdict()
'''


def test_fixtures_can_be_overridden(pytester):
    pytester.makepyfile(test_override=OVERRIDE)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


SHARED = '''
import time

import httpx

REACTOR = {"Authorization": "Bearer t", "x-api-key": "k", "x-gw-ims-org-id": "o"}


def test_a_turns_a_mode_on_everywhere(mockserver):
    mockserver.mode("outage", api="reactor", everywhere=True)
    assert httpx.get(mockserver.base_url + "/reactor/companies", headers=REACTOR).status_code == 500

def test_b_the_next_test_does_not_meet_it(mockserver):
    assert httpx.get(mockserver.url("reactor") + "/companies", headers=REACTOR).status_code == 200

def test_c_freezes_the_clock_at_an_instant(mockserver):
    assert mockserver.clock.freeze(at="2026-01-01T00:00:00Z") == 1767225600.0
    mockserver.clock.advance("60s")

def test_d_the_next_test_finds_it_running(mockserver):
    before = mockserver.clock.now()
    time.sleep(0.02)
    assert before < mockserver.clock.now() < time.time() + 1

def test_e_advances_a_frozen_clock(mockserver):
    frozen = mockserver.clock.freeze()
    mockserver.clock.advance("1h")
    assert mockserver.clock.now() == frozen + 3600

def test_f_turns_a_mode_on_for_its_session(mockserver):
    mockserver.mode("flaky", api="braze")
    assert [a["session"] for a in httpx.get(mockserver.base_url + "/__admin/modes").json()["active"]] == [
        mockserver.session]

def test_g_the_next_test_finds_no_mode_left_on(mockserver):
    assert httpx.get(mockserver.base_url + "/__admin/modes").json()["active"] == []
'''

FROZEN_BY_CONFTEST = '''
import pytest

@pytest.fixture(scope="session", autouse=True)
def frozen(mockserver_server):
    mockserver_server.call("POST", "/clock", body={"freeze": "2026-01-01T00:00:00Z"})
'''


def test_what_a_test_changes_for_every_session_is_undone_at_its_teardown(pytester):
    """A mode on `everywhere` and a moved clock reach past the test's session: teardown undoes them."""
    pytester.makepyfile(test_shared=SHARED)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=7)


def test_the_clock_goes_back_to_how_the_test_found_it(pytester):
    """A clock frozen for the whole run (conftest) stays frozen there after a test that moved it."""
    pytester.makeconftest(FROZEN_BY_CONFTEST)
    pytester.makepyfile(test_frozen='''
def test_a_moves_it(mockserver):
    mockserver.clock.advance("1h")
    assert mockserver.clock.now() == 1767225600.0 + 3600

def test_b_finds_the_run_s_instant(mockserver):
    assert mockserver.clock.now() == 1767225600.0
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_scenario_files_that_do_not_load_fail_with_their_problems_not_a_traceback(pytester):
    pytester.makefile(".yaml", bad="api: braze\nerrors:\n  x:\n    status: 999\n")
    pytester.makepyfile(test_bad="def test_a(mockserver):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--mockserver-scenarios", "bad.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockserver: the scenario files do not load*mockserver validate PATH*",
                                 "*bad.yaml:4: errors.x.status: 999 is greater than the maximum of 599*"])
    assert "load.py" not in result.stdout.str() and "raise ScenarioError" not in result.stdout.str()


def test_a_marker_argument_the_fixture_does_not_take_fails_the_test_naming_it(pytester):
    """A misspelt `allow_unmached=True` would otherwise be ignored, and the test fail on its unmatched requests."""
    pytester.makepyfile(test_marked='''
import pytest

@pytest.mark.mockserver(allow_unmached=True)
def test_misspelt(mockserver):
    pass

@pytest.mark.mockserver(True)
def test_positional(mockserver):
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*@pytest.mark.mockserver takes allow_unmatched=True|False only, not allow_unmached*",
                                 "*@pytest.mark.mockserver takes allow_unmatched=True|False only, not True*"])


MISUSED = '''
import httpx
import pytest

BRAZE = {"Authorization": "Bearer k"}

def test_a_misspelt_flag(mockserver):
    answer = httpx.post(mockserver.url("braze") + "/users/track?__eror=bad-request", json={}, headers=BRAZE)
    assert answer.status_code == 400  # looks like the 400 the test meant to ask for

def test_a_path_no_api_serves(mockserver):
    httpx.get(mockserver.base_url + "/brze/users/track", headers=mockserver.headers)

@pytest.mark.mockserver(allow_unmatched=True)
def test_meant(mockserver):
    assert httpx.get(mockserver.url("braze") + "/users/track?__error=nope", headers=BRAZE).status_code == 400
    [entry] = mockserver.requests()
    assert entry["misuse"] and entry["flags"] == ["error=nope"] and entry["session"] == mockserver.session
'''


def test_a_request_the_mock_refused_as_misuse_fails_the_test_at_teardown(pytester):
    """Its 400 is no error of the imitated API: a client that swallows 400s would pass a test never run as written."""
    pytester.makepyfile(test_misused=MISUSED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_a_misspelt_flag*", "*1 request(s) no route matched*",
                                 "*POST /braze/users/track __eror=bad-request -> 400 misuse of the mock*",
                                 "*ERROR at teardown of test_a_path_no_api_serves*",
                                 "*1 request(s) no route matched*",  # unmatched and misuse: told once
                                 "*GET /brze/users/track -> 400 misuse of the mock*"])


@pytest.fixture(scope="module")
def served() -> Iterator[ServerProcess]:
    """Started before any test's pytester, which takes the modules a test imported off sys.modules
    afterwards (httpx's lazily imported ones too, after which its errors are no longer mapped)."""
    yield from serving()


def test_the_fixture_uses_a_served_mock_named_by_url(pytester, served, monkeypatch):
    """--mockserver-url (a CI service container): the same suite passes against `mockserver serve`, twice
    (each run's sessions are its own on a server that outlives it), and coverage counts this run only."""
    pytester.makepyfile(test_suite=SUITE)
    for _ in range(2):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mockserver-url={served.url}")
        result.assert_outcomes(passed=8, errors=1)
    pytester.makepyfile(test_covered=COVERED)
    monkeypatch.setenv("MOCKSERVER_URL", served.url)  # the variable works as the option does
    shown = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_covered.py", "--mockserver-coverage")
    shown.assert_outcomes(passed=2)
    # the runs before served edge and reactor on the same server: not this run's
    shown.stdout.fnmatch_lines(["braze *1 *1 *", "dcs *1 *1 *", "edge * 0 * 0 *", "reactor * 0 * 0 *",
                                "in play * 2 *"])
    sessions = {e["session"] for e in admin_call(served.url, "GET", "/requests")["requests"]}
    assert len({s.split("-", 1)[0] for s in sessions}) == 3, sessions  # three runs, three run ids


@pytest.fixture(scope="module")
def served_without_journal() -> Iterator[ServerProcess]:
    yield from serving("--no-journal")


def test_the_fixture_against_a_server_that_keeps_no_journal_checks_nothing_at_teardown(pytester,
                                                                                       served_without_journal):
    """The teardown's check of requests no route matched reads the journal: with `--no-journal` reading it is
    misuse, and every test ended in an error at teardown."""
    pytester.makepyfile(test_covered=COVERED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mockserver-url={served_without_journal.url}")
    result.assert_outcomes(passed=2)


def test_a_seed_with_a_url_fails_clearly(pytester, served):
    pytester.makepyfile(test_covered=COVERED)
    both = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--mockserver-url={served.url}",
                                         "--mockserver-seed=3")
    both.assert_outcomes(errors=2)
    both.stdout.fnmatch_lines(["*--mockserver-seed and --mockserver-scenarios are for the fixture's own server*"])


def test_a_url_where_no_mock_answers_is_named_after_the_wait():
    with pytest.raises(RuntimeError, match=r"no mockserver ready at http://127.0.0.1:9 after 0.3 s"):
        RemoteServer("http://127.0.0.1:9/", timeout=0.3)
