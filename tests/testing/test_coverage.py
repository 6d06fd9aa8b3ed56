"""Documented-error coverage: the admin report, its table and JUnit XML, the merge of xdist workers, the CLI."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import httpx
from click.testing import CliRunner

from mockserver import coverage
from mockserver.cli import main
from tests.testing.conftest import BRAZE_KEY, BRAZE_TRACK


def serve_some_braze_errors(mockserver) -> None:
    with httpx.Client(base_url=mockserver.url("braze"), headers=BRAZE_KEY) as braze:
        braze.post("/users/track?__error=rate-limited", json=BRAZE_TRACK)
        braze.post("/users/track?__code=500", json=BRAZE_TRACK)
        braze.post("/users/track", json=BRAZE_TRACK)


def test_the_session_report_counts_what_was_served_per_api(mockserver):
    serve_some_braze_errors(mockserver)
    report = mockserver.coverage()
    braze = report["apis"]["braze"]
    assert braze["served_ids"] == ["internal-server-error", "rate-limited"] and braze["requests"] == 3
    assert braze["served"] == 2 and braze["total"] == len(braze["never_served"]) + 2
    assert "rate-limited" not in braze["never_served"] and braze["ratio"] == round(2 / braze["total"], 4)
    assert report["in_play"] == ["braze"] and report["served"] == 2 and report["total"] == braze["total"]
    assert report["apis"]["edge"] == {**report["apis"]["edge"], "served": 0, "requests": 0}


def test_table_and_junit(mockserver):
    serve_some_braze_errors(mockserver)
    report = mockserver.coverage()
    text = coverage.table(report)
    assert "braze never served: " in text and "edge never served" not in text
    assert text.splitlines()[0].split() == ["api", "requests", "served", "total", "ratio"]
    suites = ElementTree.fromstring(coverage.junit(report))
    braze = suites.find("testsuite[@name='coverage.braze']")
    assert braze is not None and int(braze.get("tests")) == report["apis"]["braze"]["total"]
    cases = {case.get("name"): case.find("skipped") is not None for case in braze.iter("testcase")}
    assert cases["rate-limited"] is False and cases["bad-request"] is True
    assert int(suites.get("tests")) == sum(a["total"] for a in report["apis"].values())


def test_merging_worker_reports_unions_what_each_served(mockserver):
    serve_some_braze_errors(mockserver)
    first = mockserver.coverage()
    mockserver.reset()
    httpx.get(mockserver.url("dcs") + "/event?d_site=%esid!")
    second = mockserver.coverage()
    merged = coverage.merge([first, second])
    assert merged["apis"]["braze"]["served_ids"] == first["apis"]["braze"]["served_ids"]
    assert merged["apis"]["dcs"]["served_ids"] == ["311"] and merged["in_play"] == ["braze", "dcs"]
    assert merged["served"] == 3 and "311" not in merged["apis"]["dcs"]["never_served"]
    assert coverage.merge([]) is None


def test_cli_coverage_of_a_running_server(mockserver):
    serve_some_braze_errors(mockserver)
    runner = CliRunner()
    url, session = mockserver.base_url, mockserver.session
    table = runner.invoke(main, ["coverage", "--url", url, "--session", session])
    assert table.exit_code == 0 and "braze never served" in table.output
    as_json = runner.invoke(main, ["coverage", "--url", url, "--session", session, "--format", "json"])
    assert json.loads(as_json.output)["apis"]["braze"]["served"] == 2
    one_api = runner.invoke(main, ["coverage", "--url", url, "--session", session, "--api", "dcs", "--format", "json"])
    assert list(json.loads(one_api.output)["apis"]) == ["dcs"]
    junit = runner.invoke(main, ["coverage", "--url", url, "--session", session, "--format", "junit"])
    assert ElementTree.fromstring(junit.output).tag == "testsuites"
    under = runner.invoke(main, ["coverage", "--url", url, "--session", session, "--min", "0.5"])
    assert under.exit_code == 1 and "under --min 0.5" in under.output


def test_cli_verdict_exits_1_on_findings_0_when_clean_2_when_unreachable(mockserver):
    with httpx.Client(base_url=mockserver.url("braze"), headers=BRAZE_KEY) as braze:
        braze.post("/users/track?__code=400", json=BRAZE_TRACK)
        braze.post("/users/track?__code=400", json=BRAZE_TRACK)
    runner = CliRunner()
    found = runner.invoke(main, ["verdict", "--url", mockserver.base_url, "--session", mockserver.session])
    assert found.exit_code == 1
    assert "no-retry-on-4xx" in found.output and "reference/braze-errors.md:61,73" in found.output
    clean = runner.invoke(main, ["verdict", "--url", mockserver.base_url, "--session", "nobody", "--format", "json"])
    assert clean.exit_code == 0 and json.loads(clean.output)["clean"] is True
    gone = runner.invoke(main, ["verdict", "--url", "http://127.0.0.1:9"])
    assert gone.exit_code == 2 and "cannot read" in gone.output
    bare = runner.invoke(main, ["verdict", "--url", mockserver.base_url.split("://", 1)[1]])
    assert bare.exit_code == 2 and "give http://HOST:PORT" in bare.output  # not urllib's "unknown url type"
    prefixed = runner.invoke(main, ["verdict", "--url", mockserver.base_url + "/braze"])
    assert prefixed.exit_code == 2 and "is --url the server's root" in prefixed.output


def test_cli_verdict_exits_1_when_the_journal_no_longer_holds_what_it_judged():
    """A CI job gating on the command fails as `assert_clean_verdict()` does: requests pushed out are unjudged."""
    from mockserver.inprocess import ServerThread
    from mockserver.settings import Settings

    server = ServerThread(Settings(journal_size=3))
    server.start()
    try:
        with httpx.Client(base_url=server.url + "/braze", headers={**BRAZE_KEY, "X-Mock-Session": "long"}) as braze:
            for _ in range(4):
                braze.post("/users/track", json=BRAZE_TRACK)
        runner = CliRunner()
        cut = runner.invoke(main, ["verdict", "--url", server.url, "--session", "long", "--format", "json"])
        assert json.loads(cut.output)["clean"] is True and cut.exit_code == 1
        whole = runner.invoke(main, ["verdict", "--url", server.url, "--session", "nobody"])
        assert whole.exit_code == 0, whole.output
    finally:
        server.stop()
