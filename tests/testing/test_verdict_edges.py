"""Verdict edges: what counts as a DCS failure, and a retry at exactly the time it was told (not too soon)."""

from __future__ import annotations

from mockserver.verdict import judge_entries
from tests.testing.test_verdict_unit import entry


def test_a_dcs_success_is_no_failure_and_a_311_of_another_api_is_no_dcs_311():
    """RETRY_DEFINITION: a DCS answer failed when its status is 400 or more, or it carries code 311; a 200 without
    311 ends the chain (the next identical call is a new call, not a retry), and an id "311" means code 311 on the
    DCS alone."""
    dcs = [entry(200, 0, api="dcs"), entry(200, 5, api="dcs"), entry(200, 10, api="dcs")]
    assert judge_entries(dcs)["retries"] == 0
    disregarded = [entry(200, 0, api="dcs", errors=["311"]), entry(200, 5, api="dcs")]
    assert judge_entries(disregarded)["retries"] == 1
    other = [entry(200, 0, api="braze", errors=["311"]), entry(200, 5, api="braze")]
    assert judge_entries(other)["retries"] == 0


def test_a_retry_sent_at_the_very_moment_it_was_told_to_wait_for_is_not_too_soon():
    """Retry-After as an HTTP-date and Braze's X-RateLimit-Reset name a moment: a retry sent at that moment waited
    as told (the boundaries the existing tests leave 1 s away from)."""
    from email.utils import formatdate

    dated = [entry(503, 1000, api="edge", reply={"Retry-After": formatdate(1030, usegmt=True)}),
             entry(503, 1030, api="edge")]
    assert judge_entries(dated)["clean"]
    reset = [entry(429, 1000, reply={"X-RateLimit-Reset": "1010"}), entry(429, 1010)]
    assert judge_entries(reset)["clean"]
    assert [f["rule"] for f in judge_entries([entry(429, 1000, reply={"X-RateLimit-Reset": "1010"}),
                                              entry(429, 1009.9)])["findings"]] == ["wait-ratelimit-reset"]


def test_an_internal_error_retried_after_a_whole_minute_waited_the_minute():
    """REACTOR_INTERNAL_ERROR_WAIT_S: "wait a few minutes", read as leniently as it can be: within the first minute
    is too soon, a retry at 60 s is not."""
    def rules(at: float) -> list[str]:
        chain = [entry(500, 0, api="reactor", errors=["internal-error"]),
                 entry(500, at, api="reactor", errors=["internal-error"])]
        return [f["rule"] for f in judge_entries(chain)["findings"]]

    assert rules(59.9) == ["wait-after-internal-error"]
    assert rules(60.0) == []
