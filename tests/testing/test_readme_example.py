"""Testing your client: the README's example, kept as a test file that runs (test_readme.py compares them)."""

import httpx
from httpx_retries import Retry, RetryTransport


def edge_client(base_url: str) -> httpx.Client:
    """The client under test: retries 429, 502, 503 and 504, waits as Retry-After says, else backs off."""
    retry = Retry(total=2, backoff_factor=0.5, allowed_methods=["POST"])
    return httpx.Client(base_url=base_url, transport=RetryTransport(retry=retry))


def test_a_bad_request_is_not_retried(mockserver):
    with edge_client(mockserver.url("edge")) as client:
        answer = client.post("/ee/v2/interact?datastreamId=ds-1", json={"event": {}}, headers={"Prefer": "code=400"})
    assert answer.status_code == 400
    assert len(mockserver.requests()) == 1
    mockserver.assert_clean_verdict()


def test_rate_limited_the_client_waits_as_told(mockserver):
    with edge_client(mockserver.url("edge")) as client:
        answer = client.post("/ee/v2/interact?datastreamId=ds-1&__error=rate-limited", json={"event": {}})
    assert answer.status_code == 429  # it gave up after two retries ...
    assert [e["status"] for e in mockserver.requests()] == [429, 429, 429]
    mockserver.assert_clean_verdict()  # ... each one Retry-After (1 s) later


def test_the_verdict_catches_a_naive_client(mockserver):
    with httpx.Client(base_url=mockserver.url("braze"), headers={"Authorization": "Bearer key"}) as braze:
        for _ in range(3):  # "retries" at once, whatever the answer
            braze.post("/users/track?__code=400", json={"attributes": []})
    [finding] = mockserver.verdict()["findings"]
    assert finding["rule"] == "no-retry-on-4xx" and finding["doc"] == "reference/braze-errors.md:61,73"
    assert len(finding["entries"]) == 3
