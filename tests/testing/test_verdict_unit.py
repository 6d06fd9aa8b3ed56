"""The verdict over hand-made journal entries: the definition of a retry, waits, growth, and that each
rule's citation really says what the rule quotes."""

from __future__ import annotations

import re
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from mockserver.verdict import RULES, judge_entries

# The pages the rules cite, copied into tests/reference (pages.source.txt): CI clones the repository alone.
PAGES = Path(__file__).resolve().parents[1]
# shared/ beside the repository (/work/shared for /work/main or a worktree), the copies' origin, when present.
SHARED = next((p / "shared" for p in Path(__file__).resolve().parents if (p / "shared" / "reference").is_dir()),
              Path(__file__).resolve().parents[3] / "shared")
CITED = sorted({r.doc.partition(":")[0] for r in RULES if r.doc.startswith("reference/")})
_seq = iter(range(1, 10_000))


def entry(status: int, at: float, *, api: str = "braze", real: float | None = None, query: str = "",
          body_hash: str = "b", reply: dict[str, str] | None = None, headers: dict[str, str] | None = None,
          errors: list[str] | None = None, latency_ms: float = 1.0, misuse: bool = False) -> dict[str, Any]:
    return {"seq": next(_seq), "time": at if real is None else real, "virtual_time": at, "session": "s", "api": api,
            "route": "r", "method": "POST", "path": f"/{api}/x", "query": query,
            "headers": list((headers or {}).items()), "body_hash": body_hash, "body_size": 1, "status": status,
            "errors": errors or [], "latency_ms": latency_ms, "misuse": misuse,
            "reply_headers": list((reply or {}).items())}


def rules(entries: list[dict[str, Any]]) -> list[str]:
    return [f["rule"] for f in judge_entries(entries)["findings"]]


def test_a_success_ends_a_chain_and_a_misuse_is_not_judged():
    verdict = judge_entries([entry(503, 0), entry(201, 1), entry(201, 2), entry(400, 3, misuse=True)])
    assert verdict["retries"] == 1 and verdict["requests"] == 3 and verdict["clean"]


def test_another_body_query_or_credential_is_a_new_request():
    first = entry(400, 0, headers={"Authorization": "Bearer a"})
    assert judge_entries([first, entry(400, 1, headers={"Authorization": "Bearer b"}),
                          entry(400, 2, body_hash="c"), entry(400, 3, query="x=1")])["retries"] == 0


def test_retry_after_as_an_http_date_and_a_frozen_clock_with_a_real_sleep():
    date = formatdate(1000 + 30, usegmt=True)
    assert rules([entry(503, 1000, reply={"Retry-After": date}), entry(503, 1010)]) == ["wait-retry-after"]
    assert rules([entry(503, 1000, reply={"Retry-After": date}), entry(503, 1031)]) == []
    frozen = [entry(429, 1000, real=5000, reply={"Retry-After": "2"}), entry(429, 1000, real=5002.5)]
    assert rules(frozen) == []


@pytest.mark.parametrize(("api", "reply", "errors", "rule"), [
    ("edge", {"Retry-After": "1"}, None, "wait-retry-after"),
    ("clientless", {}, ["too-many-requests-429"], "throttle-wait"),  # api-facts.md:72-74: "at least 1 s"
])
def test_a_wait_just_short_of_the_one_asked_is_found_the_whole_wait_is_not(api, reply, errors, rule):
    """Both waits are lower bounds: 0.9 s after a 1 s Retry-After (or clientless's 1 s throttle) is too soon."""
    def retried_after(wait: float) -> list[str]:
        return rules([entry(429, 0, api=api, reply=reply, errors=errors, latency_ms=0),
                      entry(429, wait, api=api, reply=reply, errors=errors, latency_ms=0)])

    assert retried_after(0.9) == [rule]
    assert retried_after(1.0) == []


@pytest.mark.parametrize("waits, found", [
    ([0, 1, 2, 4, 8, 8], False),    # capped exponential: it grew
    ([0, 0.5, 1.5], False),          # urllib3: the first retry at once, then growing
    ([1, 1, 1], True),               # fixed
    ([0, 0.001, 0.002], True),       # fixed 0 s: noise is not growth
    ([4, 2, 1], False),              # shrinking: full jitter draws such runs (below), so only flat is judged
    ([0.966, 0.283, 0.096], False),  # tenacity's wait_random_exponential, random.seed(22): a correct client
    ([0, 0], True),
    ([0], False),                    # one retry: nothing to compare
    ([0.8, 0.91], False),            # jittered (braze-client, tenacity's wait_random_exponential)
    ([0.9, 0.3], False),             # full jitter may draw a shorter second wait
    ([1.0, 1.005, 1.01], True),      # a fixed wait and timing noise
    ([1.0, 1.05], False),            # two delays: a fixed wait or jitter that fell close, cannot tell
    ([0.764, 0.757], False),         # braze-client's jitter, as drawn in one run of 11
    ([0.004, 0.012], True),          # two retries at once
    ([0.0264, 0.0202, 0.0201], True),  # `backoff.constant(interval=0)` around httpx.post(): a new client each time
    ([0.0339, 0.0267, 0.0231], True),  # ... on a busier machine
    ([0.045, 0.038, 0.041], True),     # ... three retries at once on a loaded machine
    ([0.083, 0.031, 0.062], False),    # tenacity's wait_random_exponential(multiplier=0.1): a correct client
    ([0.025, 0.021], True),            # two of them
    ([0.52, 0.534, 0.521], True),      # a fixed 0.5 s wait with a new client each time: 14 ms of spread
    ([0.04, 0.07], False),             # two short draws of full jitter: not told from a client's own overhead
])
def test_braze_5xx_backoff_must_grow_somewhere(waits, found):
    at, entries = 0.0, [entry(503, 0.0)]
    for wait in waits:
        at += wait
        entries.append(entry(503, at))
    assert rules(entries) == (["backoff-on-5xx"] if found else [])


@pytest.mark.parametrize(("latency_ms", "starts", "found"), [
    (40, [0, 0.043, 0.085], True),                # at once after each 40 ms answer: the wait is the gap after it
    (5, [0, 0.026, 0.056, 0.081, 0.109], True),  # at once on a slow box: gaps of 21-25 ms ...
    (1, [0, 0.051, 0.103, 0.154], True),         # ... a fixed 50 ms wait with 1 ms of timing noise
    (40, [0, 0.5, 1.8], False),                   # a growing wait after slow answers
])
def test_braze_5xx_backoff_reads_the_wait_after_each_answer_not_the_servers_latency(latency_ms, starts, found):
    """The start-to-start delay counted the server's latency as the client's wait: two retries at once after
    40 ms answers (a slow mode, __delay) read as 43 ms waits and passed."""
    entries = [entry(503, at, latency_ms=latency_ms) for at in starts]
    assert rules(entries) == (["backoff-on-5xx"] if found else [])


def test_a_lone_retry_at_once_is_not_part_of_a_wait_some_time_finding():
    """One Edge 502 retried at once, then a wait, then two at once: the finding names the two, not the lone one."""
    chain = [entry(502, at, api="edge") for at in (0, 0.01, 5.01, 5.02, 5.03)]
    [finding] = judge_entries(chain)["findings"]
    assert finding["rule"] == "wait-some-time" and finding["entries"] == [e["seq"] for e in chain[2:]]


def test_only_edge_and_braze_forbid_4xx_retries_and_429_is_not_one():
    assert rules([entry(400, 0, api="reactor"), entry(400, 60, api="reactor")]) == []
    assert rules([entry(429, 0, api="edge"), entry(429, 60, api="edge")]) == []
    assert rules([entry(404, 0, api="edge"), entry(404, 60, api="edge")]) == ["no-retry-on-4xx"]


def test_simultaneous_dcs_calls_share_a_user_through_the_demdex_cookie():
    one = entry(200, 0, api="dcs", query="d_uuid=42", latency_ms=500)
    two = entry(200, 0.1, api="dcs", headers={"Cookie": "a=b; demdex=42"})
    other = entry(200, 0.2, api="dcs", query="d_mid=7")
    found = judge_entries([one, two, other])["findings"]
    assert [(f["rule"], f["entries"]) for f in found] == [("no-simultaneous-calls", [one["seq"], two["seq"]])]


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[*`]", "", text).split())


@pytest.mark.parametrize("rule", [r for r in RULES if r.doc.startswith("reference/")], ids=lambda r: r.doc)
def test_each_rule_quotes_the_lines_it_cites(rule):
    name, _, spec = rule.doc.partition(":")
    lines = (PAGES / name).read_text(encoding="utf-8").splitlines()
    cited: list[str] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        cited.extend(lines[int(low) - 1:int(high or low)])
    text = _plain(" ".join(cited))
    for fragment in re.split(r"\s*(?:\[\.\.\.\]|\|)\s*|\[\d{3}\]\s*", rule.quote):
        assert _plain(fragment) in text, f"{rule.doc} does not say: {fragment}"


@pytest.mark.skipif(not (SHARED / "reference").is_dir(), reason="shared/reference is not beside the repository")
@pytest.mark.parametrize("name", CITED)
def test_the_cited_pages_are_the_shared_ones(name):
    assert (PAGES / name).read_bytes() == (SHARED / name).read_bytes()


def test_retry_after_seconds_count_from_the_answer_a_slow_429_retried_at_once_is_too_soon():
    """A 429 answered after 2 s (a `__delay`) with `Retry-After: 1`, retried the moment it arrived: start to start is
    2 s, yet the client waited nothing. A client that waited the whole second after the answer passes."""
    slow = {"Retry-After": "1"}
    assert rules([entry(429, 0, api="edge", reply=slow, latency_ms=2000), entry(429, 2.001, api="edge")]) == [
        "wait-retry-after"]
    assert rules([entry(429, 0, api="edge", reply=slow, latency_ms=2000), entry(429, 3.001, api="edge")]) == []
