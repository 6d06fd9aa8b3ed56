"""Acceptance: the verdict judges real retry libraries as configured by a careful and a naive team.

urllib3's `Retry`, tenacity, httpx with httpx-retries' transport, and backoff each decide on their own
whether and how long to wait; only their sleep is swapped for one that advances the server's virtual
clock by the same amount (VirtualSleep), so the verdict sees the waits they chose and the test costs no
real time. A careful client gets a clean verdict, a naive one (fixed 0 s retries, retrying 4xx) the
findings it deserves, and no others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import backoff
import backoff._sync
import httpx
import httpx_retries.retry
import pytest
import requests
import tenacity
import urllib3.util.retry
from httpx_retries import RetryTransport
from requests.adapters import HTTPAdapter

from tests.testing.conftest import BRAZE_KEY, BRAZE_TRACK, EDGE_EVENT, findings

RETRYABLE = {429, 500, 502, 503, 504}


@pytest.fixture
def closing() -> Iterator[ExitStack]:
    """Closes the clients a test opened."""
    with ExitStack() as stack:
        yield stack


def rules(mockserver) -> list[str]:
    return sorted(rule for rule, _ in findings(mockserver.verdict()))


def statuses(mockserver) -> list[int]:
    return [e["status"] for e in mockserver.requests()]


# -- urllib3 Retry (through requests) ----------------------------------------------------------------

def urllib3_post(mockserver, virtual_sleep, monkeypatch, closing: ExitStack,
                 retry: urllib3.util.retry.Retry) -> Callable[[str], int]:
    monkeypatch.setattr(urllib3.util.retry, "time", virtual_sleep.as_time_module())
    session = closing.enter_context(requests.Session())
    session.mount("http://", HTTPAdapter(max_retries=retry))

    def post(query: str) -> int:
        return session.post(f"{mockserver.url('edge')}/ee/v2/interact?{query}", json=EDGE_EVENT, timeout=10).status_code

    return post


def test_urllib3_retry_configured_as_edge_asks_is_clean(mockserver, virtual_sleep, monkeypatch, closing):
    retry = urllib3.util.retry.Retry(total=3, status_forcelist=[502, 503, 504], backoff_factor=0.5,
                                     respect_retry_after_header=True, allowed_methods=None, raise_on_status=False)
    post = urllib3_post(mockserver, virtual_sleep, monkeypatch, closing, retry)
    assert post("datastreamId=ds-503&__error=EXEG-0000-503") == 503
    assert post("datastreamId=ds-429&__error=rate-limited") == 429
    assert post("datastreamId=ds-400&__code=400") == 400
    assert post("datastreamId=ds-500&__error=EXEG-0001-500") == 500
    assert statuses(mockserver) == [503] * 4 + [429] * 4 + [400, 500]
    assert virtual_sleep == [1, 1, 1, 1, 1, 1]  # Retry-After: 1, every time
    assert rules(mockserver) == []


def test_urllib3_retry_naive(mockserver, virtual_sleep, monkeypatch, closing):
    retry = urllib3.util.retry.Retry(total=2, status_forcelist=[400, 429, 500, 503], backoff_factor=0,
                                     respect_retry_after_header=False, allowed_methods=None, raise_on_status=False)
    post = urllib3_post(mockserver, virtual_sleep, monkeypatch, closing, retry)
    post("datastreamId=ds-400&__code=400")
    post("datastreamId=ds-429&__error=rate-limited")
    post("datastreamId=ds-500&__error=EXEG-0001-500")
    assert len(mockserver.requests()) == 9
    assert rules(mockserver) == ["no-retry-on-4xx", "no-retry-on-500", "wait-retry-after"]


# -- tenacity (Braze) ----------------------------------------------------------------------------------

def tenacity_post(mockserver, closing: ExitStack, retrying: tenacity.Retrying) -> Callable[[str], int]:
    client = closing.enter_context(httpx.Client(base_url=mockserver.url("braze"), headers=BRAZE_KEY))

    def post(query: str) -> int:
        """Each call tracks another user: a new request, whatever came before."""
        track = {"attributes": [{"external_id": query, "plan": "gold"}]}
        return int(retrying(client.post, f"/users/track?{query}", json=track).status_code)

    return post


def braze_wait(now: Callable[[], float]) -> Any:
    """Braze's rules: a 429 waits for X-RateLimit-Reset, a 5xx backs off exponentially."""
    exponential = tenacity.wait_exponential(multiplier=0.5, min=0.5, max=8)

    def wait(state: tenacity.RetryCallState) -> float:
        answer = state.outcome.result() if state.outcome else None
        if answer is not None and answer.status_code == 429 and "X-RateLimit-Reset" in answer.headers:
            return max(0.0, float(answer.headers["X-RateLimit-Reset"]) - now())
        return float(exponential(state))

    return wait


def test_tenacity_configured_as_braze_asks_is_clean(mockserver, virtual_sleep, closing):
    retrying = tenacity.Retrying(retry=tenacity.retry_if_result(lambda r: r.status_code in RETRYABLE),
                                 wait=braze_wait(mockserver.clock.now), stop=tenacity.stop_after_attempt(4),
                                 sleep=virtual_sleep, retry_error_callback=lambda state: state.outcome.result())
    post = tenacity_post(mockserver, closing, retrying)
    assert post("__code=503") == 503
    assert post("__error=rate-limited") == 429
    assert post("__code=400") == 400
    assert virtual_sleep[:3] == [0.5, 1, 2]
    assert rules(mockserver) == []


def test_tenacity_naive(mockserver, virtual_sleep, closing):
    retrying = tenacity.Retrying(retry=tenacity.retry_if_result(lambda r: r.status_code >= 400),
                                 wait=tenacity.wait_fixed(0), stop=tenacity.stop_after_attempt(3),
                                 sleep=virtual_sleep, retry_error_callback=lambda state: state.outcome.result())
    post = tenacity_post(mockserver, closing, retrying)
    post("__code=503")
    post("__error=rate-limited")
    post("__code=400")
    assert rules(mockserver) == ["backoff-on-5xx", "no-retry-on-4xx", "wait-ratelimit-reset"]


# -- httpx with httpx-retries' RetryTransport (Edge) -------------------------------------------------------

def httpx_post(mockserver, virtual_sleep, monkeypatch, closing: ExitStack,
               retry: httpx_retries.Retry) -> Callable[[str], int]:
    monkeypatch.setattr(httpx_retries.retry, "time", virtual_sleep.as_time_module())
    client = closing.enter_context(httpx.Client(base_url=mockserver.url("edge"), transport=RetryTransport(retry=retry)))

    def post(query: str) -> int:
        return client.post(f"/ee/v2/interact?{query}", json=EDGE_EVENT).status_code

    return post


def test_httpx_retry_transport_configured_as_edge_asks_is_clean(mockserver, virtual_sleep, monkeypatch, closing):
    retry = httpx_retries.Retry(total=3, backoff_factor=0.5, allowed_methods=["POST"])  # 429, 502, 503, 504
    post = httpx_post(mockserver, virtual_sleep, monkeypatch, closing, retry)
    assert post("datastreamId=ds-429&__error=rate-limited") == 429
    assert post("datastreamId=ds-502&__code=502") == 502
    assert post("datastreamId=ds-500&__error=EXEG-0001-500") == 500
    assert post("datastreamId=ds-400&__code=400") == 400
    assert statuses(mockserver) == [429] * 4 + [502] * 4 + [500, 400]
    assert rules(mockserver) == []


def test_httpx_retry_transport_naive(mockserver, virtual_sleep, monkeypatch, closing):
    retry = httpx_retries.Retry(total=2, allowed_methods=["POST"], status_forcelist=[400, 429, 500],
                                respect_retry_after_header=False)
    post = httpx_post(mockserver, virtual_sleep, monkeypatch, closing, retry)
    post("datastreamId=ds-400&__code=400")
    post("datastreamId=ds-429&__error=rate-limited")
    post("datastreamId=ds-500&__error=EXEG-0001-500")
    assert virtual_sleep == [0.0] * 6
    assert rules(mockserver) == ["no-retry-on-4xx", "no-retry-on-500", "wait-retry-after"]


# -- backoff (clientless throttle, DCS 311, Braze 5xx) ----------------------------------------------------

def throttled(answer: httpx.Response) -> bool:
    return answer.status_code in (403, 429)


def dcs_rejected(answer: httpx.Response) -> bool:
    return "311" in answer.headers.get("X-Error", "").split(",")


def test_backoff_configured_as_the_docs_ask_is_clean(mockserver, virtual_sleep, monkeypatch, closing):
    monkeypatch.setattr(backoff._sync, "time", virtual_sleep.as_time_module())
    client = closing.enter_context(httpx.Client())

    @backoff.on_predicate(backoff.constant, predicate=throttled, interval=1, jitter=None, max_tries=3)
    def config() -> httpx.Response:
        return client.get(f"{mockserver.url('clientless')}/api/v1/config/REQ?__error=too-many-requests-429")

    @backoff.on_predicate(backoff.expo, predicate=lambda r: r.status_code >= 500, jitter=None, max_tries=4)
    def track() -> httpx.Response:
        return client.post(f"{mockserver.url('braze')}/users/track?__code=502", json=BRAZE_TRACK, headers=BRAZE_KEY)

    assert config().status_code == 429 and track().status_code == 502
    assert virtual_sleep == [1, 1, 1, 2, 4]
    assert rules(mockserver) == []


def test_backoff_naive(mockserver, virtual_sleep, monkeypatch, closing):
    monkeypatch.setattr(backoff._sync, "time", virtual_sleep.as_time_module())
    client = closing.enter_context(httpx.Client())
    retry_at_once = backoff.on_predicate(backoff.constant, predicate=lambda r: throttled(r) or dcs_rejected(r),
                                         interval=0, jitter=None, max_tries=3)

    @retry_at_once
    def config() -> httpx.Response:
        return client.get(f"{mockserver.url('clientless')}/api/v1/config/REQ?__error=too-many-requests")

    @retry_at_once
    def event() -> httpx.Response:
        return client.get(f"{mockserver.url('dcs')}/event?d_mid={'1' * 38}&d_site=%esid!")

    assert config().status_code == 403 and dcs_rejected(event())
    assert rules(mockserver) == ["reencode-after-311", "throttle-wait"]


# -- the modes' windows end when their headers (or the docs) say ---------------------------------------

def test_a_long_outage_ends_when_its_retry_after_says(mockserver, virtual_sleep, monkeypatch, closing):
    """Edge's outage for 5 minutes: Retry-After counts down the seconds left, and a retry that waits them out
    succeeds. urllib3 waits all 300 s (clean); httpx-retries caps each wait at its max_backoff_wait (120 s by
    default), so it retries before the time Edge gave: a library default against "must respect Retry-After"."""
    mockserver.mode("outage", api="edge", ttl="5m")
    post = urllib3_post(mockserver, virtual_sleep, monkeypatch, closing, urllib3.util.retry.Retry(
        total=3, status_forcelist=[502, 503, 504], backoff_factor=0.5, allowed_methods=None, raise_on_status=False))
    assert post("datastreamId=ds-1") == 200
    assert statuses(mockserver) == [503, 200] and virtual_sleep == [300]
    assert rules(mockserver) == []
    mockserver.reset()
    mockserver.mode("outage", api="edge", ttl="5m")
    del virtual_sleep[:]
    post = httpx_post(mockserver, virtual_sleep, monkeypatch, closing,
                      httpx_retries.Retry(total=3, backoff_factor=0.5, allowed_methods=["POST"]))
    assert post("datastreamId=ds-1") == 200
    answers = mockserver.requests()
    assert [e["status"] for e in answers] == [503, 503, 503, 200]
    retry_after = [{n.lower(): v for n, v in e["reply_headers"]}["retry-after"] for e in answers[:3]]
    assert retry_after == ["300", "180", "60"]
    assert virtual_sleep == [120, 120, 60]
    assert rules(mockserver) == ["wait-retry-after"]


def test_clientless_rate_limited_mode_lets_through_a_client_that_waits_the_documented_second(
        mockserver, virtual_sleep, monkeypatch, closing):
    """throttling-mechanism.md: the throttle lasts 1 s, so a client must wait at least 1 s; one that does
    gets through, and the verdict finds nothing."""
    monkeypatch.setattr(backoff._sync, "time", virtual_sleep.as_time_module())
    mockserver.mode("rate-limited", api="clientless")
    client = closing.enter_context(httpx.Client(headers={"X-Forwarded-For": "198.51.100.7"}))

    @backoff.on_predicate(backoff.constant, predicate=throttled, interval=1, jitter=None, max_tries=3)
    def config(n: int) -> httpx.Response:
        return client.get(f"{mockserver.url('clientless')}/api/v1/config/REQ?n={n}")

    assert [config(n).status_code for n in range(3)] == [200, 200, 200]
    assert statuses(mockserver) == [200, 403, 200, 403, 200] and virtual_sleep == [1, 1]
    assert rules(mockserver) == []


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch):
    """Guard: a library that slept for real would make these tests slow without failing them."""
    import time

    monkeypatch.setattr(time, "sleep", lambda s: pytest.fail(f"a real sleep of {s} s"))
