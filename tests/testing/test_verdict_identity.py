"""What makes two requests the same request, over real HTTP: the body (its hash and its full size), the session,
and for clientless's throttle the device (the first address of X-Forwarded-For)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.testing.conftest import EDGE_EVENT, findings, seqs


@pytest.fixture(autouse=True)
def frozen_clock(mockserver):
    mockserver.clock.freeze()
    yield
    mockserver.clock.unfreeze()


def _edge(mockserver, body: bytes, flags: str = "") -> httpx.Response:
    return httpx.post(f"{mockserver.url('edge')}/ee/v2/interact?datastreamId=ds-1{flags}", content=body,
                      headers={"Content-Type": "application/json"})


def test_a_400_sent_again_with_another_body_of_the_same_size_is_a_new_request(mockserver):
    """A client that fixed a value without changing the body's length (an event type, a date) addressed the error."""
    bodies = [json.dumps({"event": {"xdm": {"eventType": kind}}}).encode() for kind in ("aaaa", "bbbb")]
    assert len(bodies[0]) == len(bodies[1])
    assert [_edge(mockserver, body, "&__code=400").status_code for body in bodies] == [400, 400]
    verdict = mockserver.verdict()
    assert verdict["retries"] == 0 and verdict["clean"], verdict["findings"]


def test_bodies_alike_in_what_the_journal_keeps_are_told_apart_by_their_size(mockserver):
    """The journal keeps 64 KiB of a body; a 413 (EXEG-0112-413, over max_body_bytes) answered to 70,000 bytes,
    then 66,000 bytes with the same start, is two requests. The same 70,000 bytes again is a retry of a fatal 4xx."""
    def body(size: int) -> bytes:
        head = b'{"event": {"xdm": {"eventType": "x", "pad": "'
        return head + b"a" * (size - len(head) - 5) + b'"}}}\n'

    answers = [_edge(mockserver, body(size)) for size in (70_000, 66_000, 66_000)]
    assert [a.status_code for a in answers] == [413] * 3
    assert all(a.json()["type"].endswith("EXEG-0112-413") for a in answers)
    _, second, third = seqs(mockserver)
    verdict = mockserver.verdict()
    assert verdict["retries"] == 1
    assert findings(verdict) == [("no-retry-on-4xx", [second, third])]


def test_the_verdict_of_every_session_judges_each_apart(make_client):
    """`GET /__admin/verdict` without a session (`mockserver verdict` without --session): the same request failed
    in two sessions is two calls, not a retry; each finding names its session."""
    client = make_client()
    url = "/edge/ee/v2/interact?datastreamId=ds-1&__code=400"
    for session in ("first", "second", "second"):
        assert client.post(url, json=EDGE_EVENT, headers={"X-Mock-Session": session}).status_code == 400
    verdict = client.get("/__admin/verdict").json()
    assert verdict["sessions"] == ["first", "second"] and verdict["requests"] == 3 and verdict["retries"] == 1
    assert [(f["rule"], f["session"]) for f in verdict["findings"]] == [("no-retry-on-4xx", "second")]


def test_the_throttled_device_is_the_first_address_of_x_forwarded_for(mockserver):
    """throttling-mechanism.md: the bucket is the device's. Behind one proxy, another device's request within the
    second is no finding; the same device through another proxy is."""
    with httpx.Client(base_url=mockserver.url("clientless")) as client:
        def get(query: str, forwarded: str) -> None:
            client.get(f"/api/v1/config/REQ{query}", headers={"X-Forwarded-For": forwarded})

        get("?__error=too-many-requests-429", "203.0.113.9, 10.0.0.1")
        get("", "203.0.113.10, 10.0.0.1")  # another device, the same proxy
        get("", "203.0.113.9, 10.0.0.2")   # the throttled device, another proxy
    throttled, _, again = seqs(mockserver)
    assert findings(mockserver.verdict()) == [("throttle-wait", [throttled, again])]


def test_a_forced_408_on_a_body_whose_first_2_kib_are_blank_is_no_empty_request(mockserver):
    """EXEG-0109-408 retried is a finding only when the body was blank; the journal shows 2 KiB of a body, so a body
    of 3,000 spaces and then an event is not blank, though all the journal shows of it is."""
    body = b" " * 3000 + json.dumps(EDGE_EVENT).encode()
    for _ in range(2):
        assert _edge(mockserver, body, "&__error=EXEG-0109-408").status_code == 408
        mockserver.clock.advance("5s")
    verdict = mockserver.verdict()
    assert verdict["retries"] == 1 and verdict["clean"], verdict["findings"]
