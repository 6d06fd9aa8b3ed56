"""A real client honouring Retry-After (requests + urllib3's Retry) against a real server process.

urllib3 really parses the header and decides to retry; only its sleep is recorded instead of slept,
so the test knows how long the client waited without waiting.
"""

from __future__ import annotations

import types

import pytest
import requests
import urllib3.util.retry
import yaml
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.apis.test_edge_support import EVENT

pytestmark = pytest.mark.slow
RETRY_AFTER = 3


@pytest.fixture
def edge_server(start_server, tmp_path):
    options = {"retry_after_seconds": RETRY_AFTER}
    (tmp_path / "edge.yaml").write_text(yaml.safe_dump({"api": "edge", "options": options}))
    return start_server("--scenarios", str(tmp_path))


@pytest.fixture
def slept(monkeypatch):
    waits: list[float] = []
    fake_time = types.SimpleNamespace(sleep=waits.append, time=urllib3.util.retry.time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", fake_time)
    return waits


def send(server, query: str, session: str) -> tuple[requests.Response, int]:
    """POST with a client that retries twice where the server says Retry-After; how many requests it made."""
    retry = Retry(total=2, respect_retry_after_header=True, allowed_methods=None, raise_on_status=False)
    with requests.Session() as client:
        client.mount("http://", HTTPAdapter(max_retries=retry))
        response = client.post(f"{server.url}/edge/ee/v2/interact?{query}&__session={session}", json=EVENT, timeout=10)
    journal = requests.get(f"{server.url}/__admin/requests", params={"session": session}, timeout=5).json()
    return response, journal["count"]


@pytest.mark.parametrize("error, status", [("rate-limited", 429), ("EXEG-0000-503", 503)])
def test_the_client_waits_as_told_on_429_and_503(edge_server, slept, error, status):
    response, requests_made = send(edge_server, f"datastreamId=ds-1&__error={error}", f"retry-{status}")
    assert response.status_code == status
    assert response.headers["Retry-After"] == str(RETRY_AFTER)
    assert requests_made == 3
    assert slept == [RETRY_AFTER, RETRY_AFTER]


def test_the_client_does_not_retry_a_400(edge_server, slept):
    response, requests_made = send(edge_server, "__code=400", "retry-400")
    assert response.status_code == 400 and "Retry-After" not in response.headers
    assert requests_made == 1 and slept == []
