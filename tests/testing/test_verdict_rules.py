"""Each verdict rule over real HTTP: a sequence that breaks it gets a finding naming the journal
entries and citing the doc line; the sequence a careful client sends gets none."""

from __future__ import annotations

import base64
import json
import socket
import threading

import httpx
import pytest

from mockserver.settings import Settings
from mockserver.testing import MockServerError, ServerThread
from tests.testing.conftest import BRAZE_KEY, BRAZE_TRACK, EDGE_EVENT, findings, seqs

ECID = "12345678901234567890123456789012345678"
REACTOR = {"Authorization": "Bearer token", "x-api-key": "key", "x-gw-ims-org-id": "ORG@AdobeOrg",
           "Accept": "application/vnd.api+json;revision=1"}


@pytest.fixture(autouse=True)
def frozen_clock(mockserver):
    """The delays these tests judge are the clock's advances, not those plus however long a loaded machine took
    between two requests (a flat 0.5 s Braze retry was 'not flat' in one CI run: the rule allows 50 ms)."""
    mockserver.clock.freeze()
    yield
    mockserver.clock.unfreeze()


@pytest.fixture
def edge(mockserver):
    with httpx.Client(base_url=mockserver.url("edge")) as client:
        yield lambda flags="", body=EDGE_EVENT: client.post(f"/ee/v2/interact?datastreamId=ds-1{flags}", json=body)


@pytest.fixture
def braze(mockserver):
    with httpx.Client(base_url=mockserver.url("braze"), headers=BRAZE_KEY) as client:
        yield lambda flags="", **kw: client.post(f"/users/track?{flags}", json=BRAZE_TRACK, **kw)


def test_a_retried_edge_400_is_named_with_its_doc_line(mockserver, edge):
    assert [edge("&__code=400").status_code for _ in range(3)] == [400, 400, 400]
    verdict = mockserver.verdict()
    assert findings(verdict) == [("no-retry-on-4xx", seqs(mockserver))]
    finding = verdict["findings"][0]
    assert finding["doc"] == "reference/edge-errors.md:118" and finding["api"] == "edge"
    assert [r["status"] for r in finding["requests"]] == [400, 400, 400]
    assert not verdict["clean"] and verdict["retries"] == 2


def test_a_finding_shows_the_query_as_the_journal_does_its_secrets_redacted(mockserver):
    """The verdict compares the raw query (a changed key is a new request), but what it returns is as the journal
    shows it: a Braze key sent the legacy way, in `api_key=`, is not printed in the findings."""
    with httpx.Client(base_url=mockserver.url("braze")) as client:
        for _ in range(2):
            assert client.post("/users/track?api_key=TOPSECRET&__code=400", json=BRAZE_TRACK).status_code == 400
    [finding] = mockserver.verdict()["findings"]
    assert [r["query"] for r in finding["requests"]] == ["api_key=[redacted]"] * 2
    assert "TOPSECRET" not in str(mockserver.verdict())


def test_an_edge_408_retried_as_the_mobile_sdks_do_is_not_a_finding(mockserver, edge):
    """"Most 4xx errors, like 400, 403, 404" are not to be retried; 408 (RFC 9110: the client may repeat
    the request) is one Adobe's Android and iOS SDKs retry by design, after their default 5 s."""
    for _ in range(3):
        assert edge("&__code=408").status_code == 408
        mockserver.clock.advance("5s")
    verdict = mockserver.verdict()
    assert verdict["retries"] == 2 and verdict["clean"], verdict["findings"]
    assert edge("&__code=403").status_code == 403 and edge("&__code=403").status_code == 403
    assert [f["rule"] for f in mockserver.verdict()["findings"]] == ["no-retry-on-4xx"]


def test_an_edge_empty_request_sent_again_empty_is_a_finding(mockserver):
    """EXEG-0109-408 is fatal ("The request body is empty. Update your request and try again."): the
    same blank body again cannot succeed, whatever a client does with other 408s."""
    with httpx.Client(base_url=mockserver.url("edge")) as client:
        for body in (b"", b"", b" \n", b" \n"):
            answer = client.post("/ee/v2/interact?datastreamId=ds-1", content=body,
                                 headers={"Content-Type": "application/json"})
            assert answer.json()["type"].endswith("EXEG-0109-408")
            mockserver.clock.advance("5s")
    verdict = mockserver.verdict()
    assert verdict["retries"] == 2
    first, second, third, fourth = seqs(mockserver)
    assert findings(verdict) == [("no-retry-on-4xx", [first, second]), ("no-retry-on-4xx", [third, fourth])]
    assert "408 on a real body" in verdict["findings"][0]["title"]


def test_an_edge_400_sent_again_with_a_fixed_body_is_not_a_retry(mockserver, edge):
    edge("&__code=400")
    edge(body={"event": {"xdm": {"eventType": "fixed"}}})
    assert mockserver.verdict()["retries"] == 0 and mockserver.verdict()["clean"]


def test_a_retried_braze_400_is_fatal_but_new_credentials_make_a_new_request(mockserver, braze):
    braze("__code=400")
    braze("__code=400")
    braze("__code=400", headers={"Authorization": "Bearer another-key"})
    assert findings(mockserver.verdict()) == [("no-retry-on-4xx", seqs(mockserver)[:2])]
    assert mockserver.verdict()["findings"][0]["doc"] == "reference/braze-errors.md:61,73"


def test_a_retry_sooner_than_retry_after(mockserver, edge):
    first = edge("&__error=rate-limited")
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    edge("&__error=rate-limited")
    mockserver.clock.advance(1)
    edge("&__error=rate-limited")
    verdict = mockserver.verdict()
    assert findings(verdict) == [("wait-retry-after", seqs(mockserver)[:2])]
    assert "Retry-After: 1" in verdict["findings"][0]["detail"]


def test_a_slow_429_retried_the_moment_it_arrived_is_too_soon(mockserver, edge):
    """Retry-After's seconds count from the answer: a 429 that took 1.2 s, retried at once, waited nothing (counted
    from request to request, it seemed to have waited 1.2 s of the 1 asked)."""
    assert edge("&__error=rate-limited&__delay=1200").headers["Retry-After"] == "1"
    edge("&__error=rate-limited")
    verdict = mockserver.verdict()
    assert findings(verdict) == [("wait-retry-after", seqs(mockserver)[:2])]
    assert "after its answer" in verdict["findings"][0]["detail"]


def test_a_slow_429_retried_after_a_clock_advance_shorter_than_retry_after_is_too_soon(mockserver, edge):
    """The clock moved 100 ms between them: the virtual time between the requests still holds the 1.2 s the answer
    took, which the client did not wait."""
    assert edge("&__error=rate-limited&__delay=1200").headers["Retry-After"] == "1"
    mockserver.clock.advance("100ms")
    edge("&__error=rate-limited")
    assert findings(mockserver.verdict()) == [("wait-retry-after", seqs(mockserver)[:2])]


def test_retries_that_wait_retry_after_are_clean(mockserver, edge):
    for _ in range(3):
        assert edge("&__error=EXEG-0000-503").status_code == 503
        mockserver.clock.advance("1s")
    assert mockserver.verdict()["clean"] and mockserver.verdict()["retries"] == 2


def test_a_braze_429_retried_before_x_ratelimit_reset(mockserver, braze):
    limited = braze("__error=rate-limited")
    reset = int(limited.headers["X-RateLimit-Reset"])
    braze("__error=rate-limited")
    mockserver.clock.advance(reset - mockserver.clock.now() + 0.01)
    braze()
    assert findings(mockserver.verdict()) == [("wait-ratelimit-reset", seqs(mockserver)[:2])]


def test_braze_5xx_retries_at_a_fixed_delay_are_found_growing_ones_are_not(mockserver, braze):
    for wait in (0, 0.5, 0.5, 0.5):
        mockserver.clock.advance(wait)
        braze("__code=503")
    mockserver.clock.advance(0.5)
    braze()  # the last retry, after the same fixed delay, succeeds and ends the chain
    fixed = seqs(mockserver)
    assert findings(mockserver.verdict()) == [("backoff-on-5xx", fixed)]
    assert "do not grow" in mockserver.verdict()["findings"][0]["detail"]
    for wait in (0, 1, 2, 4):
        mockserver.clock.advance(wait)
        braze("__code=500")
    assert findings(mockserver.verdict()) == [("backoff-on-5xx", fixed)]


def test_a_plain_edge_500_must_not_be_retried_502_and_504_may_be(mockserver):
    with httpx.Client(base_url=mockserver.url("edge")) as client:
        for datastream, flags in (("ds-500", "__error=EXEG-0001-500"), ("ds-502", "__code=502"),
                                  ("ds-504", "__code=504")):
            for _ in range(2):
                client.post(f"/ee/v2/interact?datastreamId={datastream}&{flags}", json=EDGE_EVENT)
    assert findings(mockserver.verdict()) == [("no-retry-on-500", seqs(mockserver)[:2])]


def test_edge_502_and_504_retried_at_once_again_and_again_are_found_one_at_once_is_not(mockserver, edge):
    """edge-errors.md: 502 "may retry the request after some time"; 504 "may be resolved after some time". One
    retry at once passes (urllib3 sends its first at once, then backs off); two in a row at once are a loop."""
    for wait in (0, 0, 0.5, 1):  # at once, then growing: urllib3 with backoff_factor
        mockserver.clock.advance(wait)
        edge("&__code=502")
    assert mockserver.verdict()["clean"]
    mockserver.reset()
    for _ in range(3):  # a tight loop
        edge("&__code=504")
    assert findings(mockserver.verdict()) == [("wait-some-time", seqs(mockserver))]
    assert mockserver.verdict()["findings"][0]["doc"] == "reference/edge-errors.md:121,123"


def test_a_reactor_try_again_later_retried_at_once_again_and_again(mockserver):
    """reactor-errors.md: unknown-error "You can try again later"."""
    with httpx.Client(base_url=mockserver.url("reactor"), headers=REACTOR) as client:
        for _ in range(3):
            client.get("/companies?__error=unknown-error")
    assert findings(mockserver.verdict()) == [("wait-some-time", seqs(mockserver))]


@pytest.mark.parametrize("error", ["too-many-requests", "too-many-requests-429"])
def test_clientless_retries_within_the_throttle_second(mockserver, error):
    with httpx.Client(base_url=mockserver.url("clientless")) as client:
        get = lambda: client.get(f"/api/v1/config/REQ?__error={error}")  # noqa: E731
        get()
        get()
        mockserver.clock.advance(1)
        get()
    assert findings(mockserver.verdict()) == [("throttle-wait", seqs(mockserver)[:2])]


def test_clientless_any_new_request_within_the_throttle_second(mockserver):
    """throttling-mechanism.md: "Each application that receives a 429 response must wait for at least 1
    second before generating a new request" (the bucket is per device: X-Forwarded-For)."""
    with httpx.Client(base_url=mockserver.url("clientless")) as client:
        client.get("/api/v1/config/REQ?__error=too-many-requests-429")
        client.get("/api/v1/config/OTHER")  # not a retry, but a new request of the same device
        client.get("/api/v1/config/OTHER", headers={"X-Forwarded-For": "203.0.113.9"})  # another device
        mockserver.clock.advance(1)
        client.get("/api/v1/config/REQ")
    assert findings(mockserver.verdict()) == [("throttle-wait", seqs(mockserver)[:2])]


def test_a_reactor_internal_error_retried_sooner_than_a_minute(mockserver):
    """reactor-errors.md: internal-error, "Please wait a few minutes and try again"."""
    with httpx.Client(base_url=mockserver.url("reactor"), headers=REACTOR) as client:
        for wait in (0, 30, 60, 0):
            mockserver.clock.advance(wait)
            assert client.get("/companies?__error=internal-error").status_code == 500
    verdict = mockserver.verdict()
    assert findings(verdict) == [("wait-after-internal-error", seqs(mockserver))]
    assert verdict["findings"][0]["doc"] == "reference/reactor-errors.md:112"


@pytest.mark.parametrize("token", ["Basic eDp5", "Bearer " + ".".join(
    base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=") for part in ({"alg": "none"}, {"exp": 1}))
    + ".sig"])
def test_a_reactor_401_sent_again_with_the_same_token(mockserver, token):
    """authentication-failure ("get a new access token"), session-timeout ("log out and log in again"): the same
    token sent again fails again; a new one is a new request."""
    with httpx.Client(base_url=mockserver.url("reactor"), headers={**REACTOR, "Authorization": token}) as client:
        first = client.get("/companies")
        assert first.status_code == 401
        client.get("/companies")
        client.get("/companies", headers={"Authorization": "Bearer fresh"})
    verdict = mockserver.verdict()
    assert findings(verdict) == [("new-credentials", seqs(mockserver)[:2])]
    assert verdict["findings"][0]["doc"] == "reference/reactor-errors.md:93,111,130"
    assert first.json()["errors"][0]["code"] in verdict["findings"][0]["detail"]


def test_a_dcs_call_sent_again_unchanged_after_311(mockserver):
    with httpx.Client(base_url=mockserver.url("dcs")) as client:
        bad = client.get(f"/event?d_mid={ECID}&d_site=%esid!")
        assert bad.headers["X-Error"] == "311"
        client.get(f"/event?d_mid={ECID}&d_site=%esid!")
        client.get(f"/event?d_mid={ECID}&d_site=%25esid!")  # re-encoded: a new call
    verdict = mockserver.verdict()
    assert findings(verdict) == [("reencode-after-311", seqs(mockserver)[:2])]
    assert verdict["findings"][0]["doc"] == "reference/dcs-errors.md:138"


def test_simultaneous_dcs_calls_for_one_user(mockserver):
    url = mockserver.url("dcs")

    def call(ecid: str) -> None:
        httpx.get(f"{url}/event?d_mid={ecid}&__delay=400")

    threads = [threading.Thread(target=call, args=(ECID,)) for _ in range(2)]
    threads.append(threading.Thread(target=call, args=("9" * 38,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    same_user = [e["seq"] for e in mockserver.requests() if ECID in e["query"]]
    call(ECID)  # after both answered: not simultaneous
    assert findings(mockserver.verdict()) == [("no-simultaneous-calls", same_user)]
    assert f"d_mid={ECID}" in mockserver.verdict()["findings"][0]["detail"]


def test_dcs_calls_for_one_user_sent_together_are_simultaneous_though_answered_in_turn(mockserver):
    """dcs-race-conditions: "wait for each response". Two calls written at once (pipelined on one connection, as a
    client that does not wait does): the mock answers them one after the other in well under a millisecond, so
    judged from when each was answered they never overlapped; the second arrived before the first's answer left."""
    host, port = mockserver.base_url.removeprefix("http://").split(":")
    request = (f"GET /__session/{mockserver.session}/dcs/event?d_mid={ECID} HTTP/1.1\r\n"
               f"Host: {host}\r\n\r\n").encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(request * 2)
        answered = b""
        while answered.count(b"HTTP/1.1 200") < 2:
            chunk = sock.recv(65536)
            assert chunk, answered
            answered += chunk
    assert findings(mockserver.verdict()) == [("no-simultaneous-calls", seqs(mockserver))]


def test_dcs_calls_of_a_client_that_waits_for_each_answer_are_not_simultaneous(mockserver):
    """The same user's calls, each sent once the answer before it was read (one keep-alive connection, then new
    ones): never in flight at once, however quickly they follow (the reviewer's 500 in a row on one socket gave a
    false finding in 23 runs of 38 while the answer's end was counted from before the request's first step)."""
    with httpx.Client(base_url=mockserver.url("dcs")) as client:
        for _ in range(200):
            assert client.get(f"/event?d_mid={ECID}").status_code == 200
    for _ in range(20):
        assert httpx.get(f"{mockserver.url('dcs')}/event?d_mid={ECID}").status_code == 200
    assert mockserver.verdict()["clean"]


def test_a_dcs_429_retried_at_once_again_and_again(mockserver):
    """dcs-race-conditions: with rate limiting "the client should retry the API calls at a later time"."""
    with httpx.Client(base_url=mockserver.url("dcs")) as client:
        for wait in (0, 0.5, 1, 2):  # a retry at once, then growing waits: passes
            mockserver.clock.advance(wait)
            assert client.get(f"/event?d_mid={ECID}&__error=rate-limited").status_code == 429
        assert mockserver.verdict()["clean"]
        mockserver.reset()
        for _ in range(3):  # a tight loop
            client.get(f"/event?d_mid={ECID}&__error=rate-limited")
    verdict = mockserver.verdict()
    assert findings(verdict) == [("wait-some-time", seqs(mockserver))]
    assert verdict["findings"][0]["doc"] == "reference/api-facts.md:189-190"


def test_the_verdict_of_one_session_ignores_the_others(mockserver, edge):
    edge("&__code=400")
    httpx.post(f"{mockserver.base_url}/edge/ee/v2/interact?datastreamId=ds-1&__code=400", json=EDGE_EVENT,
               headers={"X-Mock-Session": f"{mockserver.session}-other"})
    edge("&__code=401", body={"event": {"xdm": {"eventType": "another"}}})
    assert mockserver.verdict()["clean"] and mockserver.verdict()["requests"] == 2


def test_verdict_with_the_journal_off_is_misuse():
    server = ServerThread(Settings(journal=False))
    server.start()
    try:
        with pytest.raises(MockServerError) as refused:
            server.call("GET", "/verdict")
    finally:
        server.stop()
    assert refused.value.status == 400 and "--no-journal" in str(refused.value)
