"""What a finding tells (its requests, session, citation, detail), the order findings come in, and the
thresholds of Braze's backoff rule the other tests leave untouched, over hand-made journal entries."""

from __future__ import annotations

import pytest

from mockserver.verdict import RETRY_DEFINITION, RULES, judge_entries
from tests.testing.test_verdict_unit import entry


def test_a_findings_requests_are_the_journals_entries_timed_from_the_first():
    """`requests`: seq, method, path, query, status, errors of each entry, and `at_s`, the seconds from the
    finding's first request on the virtual clock, to the millisecond."""
    errors = ["EXEG-0003-400"]
    chain = [entry(400, 1000.0 + at, api="edge", query="datastreamId=x", errors=errors) for at in (0, 1.23456, 2.5)]
    [finding] = judge_entries(chain)["findings"]
    assert finding["requests"] == [
        {"seq": e["seq"], "method": "POST", "path": "/edge/x", "query": "datastreamId=x", "status": 400,
         "errors": errors, "at_s": at} for e, at in zip(chain, (0.0, 1.235, 2.5), strict=True)]
    assert finding["entries"] == [e["seq"] for e in chain] and finding["session"] == "s"


def test_a_finding_cites_its_rule_with_source_and_quote_and_names_the_api_of_a_general_rule():
    """The general Retry-After rule (RFC 9110, api None) names the API of the requests it judged; every finding
    carries the rule's doc, source and quote, and its details joined by '; '."""
    told = {"Retry-After": "5"}
    chain = [entry(429, at, api="dcs", reply=told) for at in (0, 1, 2)]
    [finding] = judge_entries(chain)["findings"]
    general = next(r for r in RULES if r.id == "wait-retry-after" and r.api is None)
    assert (finding["rule"], finding["api"]) == ("wait-retry-after", "dcs")
    assert (finding["doc"], finding["source"], finding["quote"]) == (general.doc, general.source, general.quote)
    first, second, third = (e["seq"] for e in chain)
    assert finding["detail"] == (f"#{second} retried #{first} (429) 0.999 s after its answer; Retry-After: 5; "
                                 f"#{third} retried #{second} (429) 0.999 s after its answer; Retry-After: 5")


def test_findings_come_in_the_order_of_their_first_request():
    """Two chains interleaved in the journal: A's first request, B's two, A's retry. A's finding is first."""
    a1 = entry(400, 0, api="edge", query="datastreamId=a")
    b1 = entry(400, 1, api="edge", query="datastreamId=b")
    b2 = entry(400, 2, api="edge", query="datastreamId=b")
    a2 = entry(400, 3, api="edge", query="datastreamId=a")
    c1 = entry(404, 4, api="edge", query="datastreamId=c")
    c2 = entry(404, 5, api="edge", query="datastreamId=c")
    found = judge_entries([a1, b1, b2, a2, c1, c2])["findings"]
    assert [f["entries"] for f in found] == [[a1["seq"], a2["seq"]], [b1["seq"], b2["seq"]], [c1["seq"], c2["seq"]]]


def test_the_verdict_states_what_a_retry_is_and_every_rule():
    verdict = judge_entries([])
    assert verdict["retry"] == RETRY_DEFINITION and verdict["retry"].startswith("B retries A")
    assert [(r["id"], r["api"], r["doc"]) for r in verdict["rules"]] == [(r.id, r.api, r.doc) for r in RULES]
    assert verdict["clean"] and verdict["requests"] == 0 and verdict["sessions"] == []


@pytest.mark.parametrize("waits, found", [
    ([0.04, 0.045], False),         # two retries 40 ms after the answer: over FLAT_S (30 ms), not "at once"
    ([0.049, 0.02, 0.03], True),    # three, each under FLAT_MANY_S (50 ms), spread too far for one fixed wait
    ([2.0, 2.02, 2.03], True),      # a fixed 2 s wait: 30 ms of spread is within FIXED_NOISE_S + 1 % of 2 s
    ([2.0, 2.04, 2.06], False),     # ... 60 ms is not
])
def test_braze_flat_retries_two_and_three_and_a_fixed_waits_noise_grows_with_it(waits, found):
    at, entries = 0.0, [entry(503, 0.0, latency_ms=0)]
    for wait in waits:
        at += wait
        entries.append(entry(503, at, latency_ms=0))
    assert [f["rule"] for f in judge_entries(entries)["findings"]] == (["backoff-on-5xx"] if found else [])


def test_a_braze_500_retried_at_once_is_a_5xx_retried_flat():
    """braze-errors.md: "`5XX Internal Server Error` | Retry your request with exponential backoff": 500 included."""
    chain = [entry(500, at, latency_ms=0) for at in (0, 0.001, 0.002)]
    [finding] = judge_entries(chain)["findings"]
    assert finding["rule"] == "backoff-on-5xx" and finding["entries"] == [e["seq"] for e in chain]
    assert finding["detail"] == "the delays between retries (0.001, 0.001 s) do not grow"


def test_requests_within_the_throttle_second_are_one_finding_naming_each_wait():
    throttled = entry(429, 0, api="clientless", errors=["too-many-requests-429"], latency_ms=0)
    soon, sooner = entry(200, 0.25, api="clientless", query="a=1"), entry(200, 0.5, api="clientless", query="b=1")
    [finding] = judge_entries([throttled, soon, sooner, entry(200, 1.5, api="clientless")])["findings"]
    assert finding["entries"] == [throttled["seq"], soon["seq"], sooner["seq"]]
    assert finding["detail"] == (f"sent within the throttle second: #{soon['seq']} 0.250 s after #{throttled['seq']}, "
                                 f"#{sooner['seq']} 0.500 s after #{throttled['seq']}")
