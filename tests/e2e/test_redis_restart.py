"""A served mock on a Redis that restarts, on a server that stops, and after a full reset: what it answers and
what its journal holds are what one process on the memory store would answer and hold."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis

from mockserver.engine.redis_state import PREFIX
from mockserver.engine.state import REQUESTS_KEY
from mockserver.shared_journal import SharedJournal
from tests.redis_server import RedisProcess, needs_redis

pytestmark = [pytest.mark.slow, needs_redis]
BRAZE = {"Authorization": "Bearer key"}


@pytest.fixture
def restartable() -> Iterator[list[RedisProcess]]:
    """A Redis, and whichever were started again on its port: each stopped at the end."""
    started = [RedisProcess()]
    yield started
    for server in started:
        if server.process.poll() is None:
            server.stop()


def at_once(url: str, count: int, paths: Any) -> list[int]:
    """`count` requests, 40 at a time; statuses in order."""
    with httpx.Client(base_url=url, headers=BRAZE, timeout=20, limits=httpx.Limits(max_connections=40)) as client, \
            ThreadPoolExecutor(40) as pool:
        return list(pool.map(lambda n: client.get(paths(n)).status_code, range(count)))


def until(found: Any, timeout_s: float = 8.0) -> None:
    """Wait for a condition of Redis's: what the server has done so far (no answer tells it yet)."""
    deadline = time.monotonic() + timeout_s
    while not found():
        assert time.monotonic() < deadline, "the server did not get there"
        time.sleep(0.02)


def test_a_redis_started_again_is_answered_at_once_and_journals_every_request(restartable, start_server):
    """After a restart every connection the mock held had died with the Redis: the first call on each failed, the
    mock's 503 (5 in a row; 18, then 2 more, in a burst after 10 minutes idle), `POST /__admin/clock` too, and the
    entries of requests answered 200 were missing from the journal. The README says 503 only while Redis does not
    answer. Here the pools of the store and of the journal are full (40 at once) when Redis stops."""
    first = restartable[0]
    server = start_server("--state", first.url.replace("/0", "/8"))
    assert set(at_once(server.url, 40, lambda n: f"/braze/campaigns/list?__session=warm{n}")) == {200}
    first.stop()
    restartable.append(RedisProcess(first.port))
    assert at_once(server.url, 40, lambda n: "/braze/campaigns/list?__session=back") == [200] * 40
    assert httpx.post(server.url + "/__admin/clock", json={"advance": "60s"}).status_code == 200
    journal = httpx.get(server.url + "/__admin/requests", params={"session": "back"}).json()
    assert journal["count"] == 40 and [e["seq"] for e in journal["requests"]] == list(range(1, 41))
    verdict = httpx.get(server.url + "/__admin/verdict", params={"session": "back"}).json()
    assert verdict["complete"] is True
    assert "no answer from the shared state" not in server.stop()


def test_a_request_answered_whose_entry_redis_did_not_take_makes_the_verdict_incomplete(restartable, start_server):
    """The journal is written after a `__delay`, just before the answer leaves: Redis stopped during the delay
    did not take it, and the client had its 200 (the journal's failure is logged, not the client's). Its verdict
    then said `complete: true` over a journal that lacks the request; it says false until the session's reset."""
    first = restartable[0]
    server = start_server("--state", first.url)
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(httpx.get, server.url + "/braze/campaigns/list?__session=lost&__delay=2000",
                             headers=BRAZE, timeout=20)
        with redis.Redis(port=first.port, decode_responses=True) as client:  # its last call of Redis: the quota
            until(lambda: any(k.startswith("braze:rate:") for k in client.hkeys(f"{PREFIX}s:lost")))
        first.stop()
        assert answer.result().status_code == 200
    restartable.append(RedisProcess(first.port))
    for session, complete in (("lost", False), ("other", True)):
        verdict = httpx.get(server.url + "/__admin/verdict", params={"session": session}).json()
        assert verdict["complete"] is complete, session
    assert httpx.get(server.url + "/__admin/verdict").json()["complete"] is False
    assert httpx.post(server.url + "/__admin/reset", params={"session": "lost"}).status_code == 200
    assert httpx.get(server.url + "/__admin/verdict", params={"session": "lost"}).json()["complete"] is True
    assert "the shared journal did not take GET /braze/campaigns/list" in server.stop()


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_requests_cut_by_a_stop_during_a_delay_are_journaled(restartable, start_server, server_name):
    """SIGTERM gives the requests in flight 3 s (README, Stopping), then closes their connections unanswered: those
    in a `__delay` were never written to the Redis journal, which outlives the server (a client gone during a delay
    is journaled, status 0). Each is there now, status 0, as the client saw no answer."""
    first = restartable[0]
    server = start_server("--state", first.url, "--server", server_name)
    paths = [f"/braze/campaigns/list?__session=cut&__delay=6000&n={n}" for n in range(5)]
    with ThreadPoolExecutor(5) as pool:
        cut = [pool.submit(httpx.get, server.url + path, headers=BRAZE, timeout=20) for path in paths]
        with redis.Redis(port=first.port, decode_responses=True) as client:
            until(lambda: client.hget(f"{PREFIX}s:cut", REQUESTS_KEY) == "5")
        output = server.stop()
        assert all(isinstance(request.exception(), httpx.HTTPError) for request in cut)
    assert "Traceback" not in output

    async def journaled() -> list[dict[str, Any]]:
        journal = SharedJournal(first.url)
        try:
            await journal.sync()
            return journal.query(session="cut")
        finally:
            await journal.close()

    entries = asyncio.run(journaled())
    assert sorted((e["query"], e["status"], e["errors"], e["flags"]) for e in entries) == [
        (f"n={n}", 0, [], ["session=cut", "delay=6000"]) for n in range(5)]


def test_a_full_reset_numbers_the_journal_on_as_the_memory_store_does(restartable, start_server):
    """`POST /__admin/reset` cleared every `mockserver:*` key of Redis, the journal's numbering among them: the
    next request was `seq` 1 again, where one process on the memory store goes on (shared_journal.wipe says so)."""
    numbered = []
    for state in ("memory://", restartable[0].url):
        server = start_server("--state", state)
        for _ in range(2):
            assert httpx.get(server.url + "/braze/campaigns/list?__session=r", headers=BRAZE).status_code == 200
        assert httpx.post(server.url + "/__admin/reset").status_code == 200
        assert httpx.get(server.url + "/braze/campaigns/list?__session=r", headers=BRAZE).status_code == 200
        numbered.append([e["seq"] for e in httpx.get(server.url + "/__admin/requests").json()["requests"]])
    assert numbered == [[3], [3]]
