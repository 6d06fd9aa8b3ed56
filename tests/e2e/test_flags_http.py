"""Delays, chaos, replay and modes over real HTTP, on both servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from mockserver.dispatch import delay_of
from mockserver.engine.generate import Generator
from tests.conftest import ServerProcess, serving

pytestmark = pytest.mark.slow
AUTH = {"Authorization": "Bearer t", "x-api-key": "k"}
BRAZE = {"Authorization": "Bearer key"}


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    yield from serving("--server", request.param, "--seed", "21")


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.post("/__admin/reset")
        yield http


def timed(client: httpx.Client, url: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.get(url, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


@pytest.mark.parametrize(("spec", "applied"), [("300", "300"), ("uniform:200-400", "uniform:200-400"),
                                               ("lognormal:250,0.3", '"lognormal:250,0.3"')])  # a comma is quoted
def test_each_delay_waits_at_least_its_drawn_time(client, spec, applied):
    response, seconds = timed(client, f"/reactor/companies?__delay={spec}&__session=d", headers=AUTH)
    assert response.status_code == 200 and response.headers["preference-applied"] == f"delay={applied}, session=d"
    expected_ms = delay_of(spec, Generator(21, "d", 1, "delay"))  # the first request of the session
    assert seconds >= expected_ms / 1000 * 0.9, (seconds, expected_ms)


def test_delays_do_not_block_the_server(server):
    """20 requests waiting 600 ms each, all at once: together well under 20 x 600 ms."""
    async def burst() -> float:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            started = time.monotonic()
            answers = await asyncio.gather(*(http.get("/reactor/companies?__delay=600", headers=AUTH)
                                             for _ in range(20)))
            assert {a.status_code for a in answers} == {200}
            return time.monotonic() - started

    assert asyncio.run(burst()) < 4.0


def test_the_prefer_form_of_a_delay(client):
    response, seconds = timed(client, "/reactor/companies", headers={**AUTH, "Prefer": "delay=200"})
    assert response.status_code == 200 and seconds >= 0.18


def test_chaos_decisions_replay_over_http(client):
    """Issue 9: each answer names its decision, those the chaos let through too (`error=none`), and each replays."""
    answers = [client.get("/braze/campaigns/list?__chaos=0.5&__session=c", headers=BRAZE) for _ in range(30)]
    passed = [r for r in answers if r.headers["x-mock-decision"].endswith(";error=none")]
    assert 5 <= len(passed) <= 25 and all(r.status_code == 200 for r in passed)
    for response in answers[:10]:
        again = client.get("/braze/campaigns/list", params={"__replay": response.headers["x-mock-decision"]},
                           headers=BRAZE)
        assert again.status_code == response.status_code and again.content == response.content


def test_chaos_faults_over_a_real_connection(client):
    """With __chaos_faults=1 the draw may be a transport fault: the client then sees a transport error."""
    outcomes = set()
    for n in range(60):
        try:
            response = client.get(f"/braze/campaigns/list?__chaos=1&__chaos_faults=1&__delay=1&__session=f{n}",
                                  headers=BRAZE)
            outcomes.add("fault" if "fault=" in response.headers["x-mock-decision"] else "error")
        except httpx.TransportError:
            outcomes.add("transport error")
    assert outcomes == {"error", "fault", "transport error"}  # fault: slow or truncate's head ... then broken


def test_modes_over_http(client):
    assert [client.get("/braze/campaigns/list?__mode=flaky&__session=m", headers=BRAZE).status_code
            for _ in range(3)] == [503, 503, 200]
    client.post("/__admin/modes", json={"mode": "outage", "api": "reactor", "ttl": "30s"})
    assert client.get("/reactor/companies", headers=AUTH).status_code == 500
    client.post("/__admin/clock", json={"advance": "31s"})
    assert client.get("/reactor/companies", headers=AUTH).status_code == 200
    quota = [client.get("/reactor/companies?__mode=rate-limited&__session=q", headers=AUTH) for _ in range(11)]
    assert [r.status_code for r in quota] == [200] * 10 + [429] and "retry-after" in quota[-1].headers
    response, seconds = timed(client, "/braze/campaigns/list?__mode=slow", headers=BRAZE)
    assert response.status_code == 200 and seconds >= 0.05


def test_a_session_path_gives_a_base_url_its_own_session(client):
    """`/__session/NAME/<prefix>` on the served app, as the pytest plugin uses it: a client that only
    takes a base URL (an SDK) gets a session of its own, quotas and journal included."""
    for session in ("a", "b"):
        base = f"/__session/{session}/braze"
        statuses = [client.get(f"{base}/campaigns/list?__mode=rate-limited", headers=BRAZE).status_code
                    for _ in range(11)]
        assert statuses == [200] * 10 + [429]  # each session its own quota
    journal = client.get("/__admin/requests", params={"session": "a"}).json()["requests"]
    assert len(journal) == 11 and {e["path"] for e in journal} == {"/braze/campaigns/list"}
    own = client.get("/__session/a/__admin/requests", params={"session": "a"}).json()
    assert own["count"] == 11  # the admin API under a session path too
    for name in ("no%20spaces", "%E2%82%AC", "%ff"):  # outside latin-1 or not UTF-8: misuse, not a 500
        for path in ("/braze/campaigns/list", "/__admin/requests"):
            bad = client.get(f"/__session/{name}{path}", headers=BRAZE)
            assert bad.status_code == 400 and bad.headers["x-mockserver-misuse"] == "1", (name, path)
    escaped = client.get("/__session/a%2Db/braze/campaigns/list", headers=BRAZE)  # the name a-b, escaped
    assert escaped.status_code == 200
    assert client.get("/__admin/requests", params={"session": "a-b"}).json()["count"] == 1
