"""State shared through Redis: two server processes (and two workers of one) count and build as one."""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.apis.test_reactor_support import HEADERS as REACTOR_HEADERS
from tests.apis.test_reactor_support import Reactor
from tests.conftest import ServerProcess
from tests.redis_server import RedisProcess, needs_redis, redis_process

pytestmark = [pytest.mark.slow, needs_redis]
BRAZE = {"Authorization": "Bearer key"}
SLOW_BUILDS = "api: reactor\noptions: {polls_before_done: 3}\n"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisProcess]:
    yield from redis_process()


@pytest.fixture
def pair(redis_server, start_server, tmp_path: Path) -> list[ServerProcess]:
    """Two processes on one Redis; one uvicorn and one hypercorn, as two replicas might differ."""
    redis_server.flush()
    (tmp_path / "slow-builds.yaml").write_text(SLOW_BUILDS)
    common = ["--state", redis_server.url, "--scenarios", str(tmp_path)]
    return [start_server(*common), start_server(*common, "--server", "hypercorn")]


def statuses(urls: list[str], path: str, count: int, headers: dict[str, str]) -> list[int]:
    """`count` requests spread over the servers, 8 at a time."""
    targets = [url + path for url, _ in zip(itertools.cycle(urls), range(count), strict=False)]
    with httpx.Client(headers=headers, timeout=20) as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda url: client.get(url).status_code, targets))


def test_a_flaky_sequence_fails_exactly_n_times_in_total(pair):
    one, two = pair
    assert httpx.post(one.url + "/__admin/modes", json={"mode": "flaky", "api": "braze"}).status_code == 200
    assert [a["mode"] for a in httpx.get(two.url + "/__admin/modes").json()["active"]] == ["flaky"]
    found = statuses([one.url, two.url], "/braze/campaigns/list?__session=s", 20, BRAZE)
    assert sorted(found) == [200] * 18 + [503] * 2  # flaky: the first 2 of the route, across both


def test_a_quota_allows_exactly_its_limit_across_both(pair):
    one, two = pair
    found = statuses([one.url, two.url], "/braze/campaigns/list?__mode=rate-limited&__session=q", 30, BRAZE)
    assert found.count(200) == 10 and found.count(429) == 20


def test_the_clock_is_one_for_both_and_reopens_the_window(pair):
    one, two = pair
    httpx.post(one.url + "/__admin/clock", json={"freeze": True})
    assert statuses([one.url, two.url], "/braze/campaigns/list?__mode=rate-limited", 12, BRAZE).count(429) == 2
    advanced = httpx.post(two.url + "/__admin/clock", json={"advance": "60s"}).json()
    assert httpx.get(one.url + "/__admin/clock").json() == advanced
    assert statuses([one.url, two.url], "/braze/campaigns/list?__mode=rate-limited", 2, BRAZE) == [200, 200]


class Alternating:
    """A client whose requests go to each server in turn."""

    def __init__(self, urls: list[str]) -> None:
        self.clients = [httpx.Client(base_url=url, timeout=20) for url in urls]
        self.turns = itertools.cycle(self.clients)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return next(self.turns).request(method, path, **kwargs)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def test_a_reactor_build_lives_across_both(pair):
    alternating = Alternating([server.url for server in pair])
    reactor = Reactor(alternating, session="shared-build")
    try:
        _, library, _ = reactor.buildable()
        build = reactor.post(f"/libraries/{library}/builds").json()["data"]["id"]
        seen = [reactor.get(f"/builds/{build}").json()["data"]["attributes"]["status"] for _ in range(4)]
        assert seen == ["pending", "pending", "succeeded", "succeeded"]  # 3 polls in all, whichever server
        assert reactor.get(f"/libraries/{library}/builds").json()["data"][0]["id"] == build
    finally:
        alternating.close()


def test_a_reactor_build_polled_and_submitted_at_once_on_both_counts_every_request(pair):
    """Issue 9: resource transitions are atomic under concurrency. A handler reads a resource, checks it and writes
    it back in several calls: 12 polls at once were all `pending` (each read 0 polls before any wrote), and 8
    submits at once of one library all passed (8 `library.updated` events), where one process alone answers one."""
    urls = [server.url for server in pair]
    alternating = Alternating(urls)
    reactor = Reactor(alternating, session="at-once")
    try:
        _, library, _ = reactor.buildable()
        build = reactor.post(f"/libraries/{library}/builds").json()["data"]["id"]
        headers = {**reactor.headers, "Content-Type": "application/vnd.api+json"}
        submit = json.dumps({"data": {"id": library, "type": "libraries", "meta": {"action": "submit"}}})
        with ThreadPoolExecutor(12) as pool:
            polls = list(pool.map(lambda url: httpx.get(f"{url}/reactor/builds/{build}", headers=headers,
                                                        timeout=20).json()["data"]["attributes"]["status"],
                                  itertools.islice(itertools.cycle(urls), 12)))
            submits = list(pool.map(lambda url: httpx.patch(f"{url}/reactor/libraries/{library}", headers=headers,
                                                            content=submit, timeout=20).status_code,
                                    itertools.islice(itertools.cycle(urls), 8)))
        assert sorted(polls) == ["pending"] * 2 + ["succeeded"] * 10
        assert sorted(submits) == [200] + [403] * 7
    finally:
        alternating.close()


def at_once(url: str, count: int, headers: dict[str, str]) -> list[httpx.Response]:
    """`count` requests sent together, each on its own connection."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: httpx.get(url, headers=headers, timeout=20), range(count)))


def test_the_first_requests_of_a_session_sent_at_once_all_find_it_set_up(pair):
    """A session is seeded with its company and the public packages on its first request. Marked seeded before the
    records were written, one of 20 first requests at once on Redis listed no package, another one of three."""
    one, two = pair
    for round_ in range(3):
        headers = {**REACTOR_HEADERS, "X-Mock-Session": f"seed-at-once-{round_}"}
        listed = [len(r.json()["data"]) for r in at_once(one.url + "/reactor/extension_packages", 10, headers)
                  + at_once(two.url + "/reactor/extension_packages", 2, headers)]
        assert listed == [listed[-1]] * 12 and listed[-1] > 1


def test_a_reset_during_the_first_requests_of_sessions_leaves_each_session_whole(redis_server, start_server):
    """A reset may land while a session is being seeded. Written record by record, the seeding's mark could outlive
    the company the reset removed, and the session answered without it until the next reset (35 of 360 sessions
    in this test, before the seeding became one write)."""
    redis_server.flush()
    server = start_server("--state", redis_server.url)
    moments = random.Random(1)
    broken = []
    with httpx.Client(headers=REACTOR_HEADERS, timeout=20) as client, ThreadPoolExecutor(6) as pool:
        for round_ in range(10):
            sessions = [f"reset-while-seeding-{round_}-{n}" for n in range(12)]
            first = [pool.submit(client.get, server.url + "/reactor/extension_packages",
                                 headers={"X-Mock-Session": session}) for session in sessions]
            time.sleep(moments.random() * 0.02)
            client.post(server.url + "/__admin/reset")
            for answer in first:
                answer.result()
            for session in sessions:  # no reset now: each session is whole, seeded before the reset or after it
                listed = client.get(server.url + "/reactor/extension_packages", headers={"X-Mock-Session": session})
                if listed.status_code != 200 or len(listed.json()["data"]) != 3:
                    broken.append((session, listed.status_code, listed.text[:200]))
    assert broken == []


def test_a_throttle_counts_every_request_sent_at_once(pair):
    """Clientless's token bucket under a frozen clock lets the burst (10) and one more through, however many
    arrive together: its compare-and-set gave up after 8 lost rounds and let the request through uncounted."""
    one, two = pair
    httpx.post(one.url + "/__admin/clock", json={"freeze": True})
    path = "/clientless/api/v1/config/REQ"
    for round_ in range(4):  # before, one round in two let more through
        headers = {"X-Forwarded-For": "10.0.0.9", "X-Mock-Session": f"throttle-at-once-{round_}"}
        with ThreadPoolExecutor(2) as pool:
            found = [r.status_code for answers in pool.map(
                at_once, (one.url + path, two.url + path), (30, 30), (headers, headers))
                for r in answers]
        assert sorted(found) == [200] * 11 + [403] * 49


def test_a_stored_resource_reads_the_same_bytes_from_redis_as_from_memory(redis_server, start_server):
    """GUIDE §2: same seed, same requests, same bytes, whichever way the mock runs. Reactor's company is
    stored when the session is seeded and read back on every listing: Redis kept its attributes in
    sorted order (cjm_enabled first), the memory store in the order the docs print (created_at first)."""
    redis_server.flush()
    shared, alone = start_server("--state", redis_server.url), start_server()
    answers = []
    for server in (shared, alone):
        with httpx.Client(base_url=server.url, timeout=20) as client:
            reactor = Reactor(client, session="stored-order")
            answers.append([reactor.get("/companies").content.replace(server.url.encode(), b"") for _ in range(2)])
    assert answers[0] == answers[1]
    assert list(json.loads(answers[0][1])["data"][0]["attributes"])[:2] == ["created_at", "name"]


def test_two_workers_on_redis_give_the_same_totals(redis_server, start_server):
    redis_server.flush()
    server = start_server("--workers", "2", "--state", redis_server.url)
    httpx.post(server.url + "/__admin/modes", json={"mode": "flaky", "api": "braze", "session": "w"})
    flaky = statuses([server.url], "/braze/campaigns/list?__session=w", 40, BRAZE)
    assert flaky.count(503) == 2
    quota = statuses([server.url], "/braze/campaigns/list?__mode=rate-limited&__session=wq", 40, BRAZE)
    assert quota.count(200) == 10 and quota.count(429) == 30
    output = server.stop()
    assert "state is per worker" not in output


def test_an_unreachable_redis_stops_the_start(start_server):
    with pytest.raises(RuntimeError, match="no Redis at redis://127.0.0.1:1/0"):
        start_server("--state", "redis://127.0.0.1:1/0")


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_a_redis_gone_while_serving_is_named_in_the_answer_and_the_health(start_server, server_name):
    """Not the misuse-titled 500 with a traceback per request, nor a health that says ok while every answer fails:
    503 naming the store (its password left out) and what to do, and one line in the log for the many requests."""
    gone = RedisProcess()
    server = start_server("--state", gone.url.replace("redis://", "redis://:secret@"), "--server", server_name)
    braze = server.url + "/braze/campaigns/list?__session=gone"
    assert httpx.get(braze, headers=BRAZE).status_code == 200
    gone.stop()
    answer = httpx.get(braze, headers=BRAZE)
    detail = f"no answer from the shared state {gone.url} ("
    assert answer.status_code == 503 and answer.headers["x-mockserver-internal-error"] == "1"
    assert answer.json()["type"] == "urn:mockserver:problem:state-unreachable"
    assert answer.json()["detail"].startswith(detail) and "start that Redis again" in answer.json()["detail"]
    assert {httpx.get(braze, headers=BRAZE).status_code for _ in range(20)} == {503}  # a client retrying in a loop
    health = httpx.get(server.url + "/__admin/health")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert health.json()["detail"].startswith(detail)
    live = httpx.get(server.url + "/__admin/health/live")  # the process itself is fine: nothing to restart
    assert live.status_code == 200 and live.json()["status"] == "alive"
    output = server.stop()
    assert "Traceback" not in output and "secret" not in output
    assert output.count(f"GET /braze/campaigns/list: {detail}") == 1  # one line per 10 s, not 21


def test_a_redis_that_hangs_is_answered_503_within_the_timeout_and_the_mock_recovers(start_server):
    """A Redis that takes the connection and never answers (SIGSTOP: stopped, swapped out, a half-open network) held
    each request and the health for redis-py's default (none in redis-py 5, which pyproject allows; 5 s, twice per
    request, in 8.1): README promises the 503 within 2 s, on the API, the health and the admin routes, and answers
    once it is back."""
    import signal
    import time

    from mockserver.engine.redis_state import READ_TIMEOUT_S

    hung = RedisProcess()
    try:
        server = start_server("--state", hung.url)
        braze = server.url + "/braze/campaigns/list?__session=hung"
        assert httpx.get(braze, headers=BRAZE).status_code == 200
        hung.process.send_signal(signal.SIGSTOP)
        for url in (braze, server.url + "/__admin/health", server.url + "/__admin/requests?session=hung"):
            started = time.monotonic()
            answer = httpx.get(url, headers=BRAZE, timeout=30)
            took = time.monotonic() - started
            assert answer.status_code == 503 and took < READ_TIMEOUT_S + 1, (url, answer.status_code, took)
            assert "Timeout reading from" in answer.json()["detail"]
        hung.process.send_signal(signal.SIGCONT)
        assert httpx.get(braze, headers=BRAZE).status_code == 200
        assert httpx.get(server.url + "/__admin/health").status_code == 200
        assert [e["status"] for e in httpx.get(server.url + "/__admin/requests?session=hung").json()["requests"]] == [
            200, 200]  # the 503 is the mock's own, and was not recorded: the journal lives in the same Redis
        assert "Traceback" not in server.stop()
    finally:
        hung.process.send_signal(signal.SIGCONT)
        hung.stop()


def test_the_journal_coverage_and_verdict_are_one_for_both(pair):
    """Requests answered by either process are in the journal, the coverage and the verdict of both."""
    one, two = pair
    paths = ["/braze/campaigns/list?__session=j", "/braze/campaigns/list?__session=j&__error=rate-limited",
             "/dcs/event?d_site=%esid!&__session=j", "/braze/campaigns/list?__session=other"]
    for server, path in zip(itertools.cycle(pair), paths, strict=False):
        assert httpx.get(server.url + path, headers=BRAZE).status_code in (200, 429)
    for server in pair:
        journal = httpx.get(server.url + "/__admin/requests", params={"session": "j"}).json()["requests"]
        assert [(e["api"], e["status"], e["errors"]) for e in journal] == [
            ("braze", 200, []), ("braze", 429, ["rate-limited"]), ("dcs", 200, ["311"])]
        seqs = [e["seq"] for e in journal]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3  # one numbering for both processes
        coverage = httpx.get(server.url + "/__admin/coverage", params={"session": "j"}).json()
        assert coverage["apis"]["braze"]["served_ids"] == ["rate-limited"]
        assert coverage["apis"]["dcs"]["served_ids"] == ["311"]
        assert coverage["apis"]["braze"]["requests"] == 2
        verdict = httpx.get(server.url + "/__admin/verdict", params={"session": "j"})
        assert verdict.status_code == 200
    assert httpx.post(two.url + "/__admin/reset", params={"session": "j"}).status_code == 200
    assert httpx.get(one.url + "/__admin/requests", params={"session": "j"}).json()["count"] == 0
    others = httpx.get(one.url + "/__admin/requests", params={"session": "other"}).json()["requests"]
    assert [e["session"] for e in others] == ["other"]  # a session's reset leaves the others
    assert httpx.get(one.url + "/__admin/coverage", params={"session": "j"}).json()["apis"]["braze"]["served"] == 0
    httpx.delete(one.url + "/__admin/requests")
    assert httpx.get(two.url + "/__admin/requests").json()["count"] == 0


def test_what_sessions_were_served_is_bounded_in_redis(redis_server, start_server):
    """Coverage in Redis: one set per session that goes a day after its last error served, and one for the
    whole server that holds each documented error once, however many sessions were served it."""
    redis_server.flush()
    server = start_server("--state", redis_server.url)
    for index in range(20):
        path = f"/braze/campaigns/list?__session=s{index}&__error=rate-limited"
        assert httpx.get(server.url + path, headers=BRAZE).status_code == 429
    assert httpx.get(server.url + "/braze/campaigns/list?__session=quiet", headers=BRAZE).status_code == 200
    with redis.Redis(port=redis_server.port) as client:
        assert client.smembers("mockserver:served:any") == {b"braze\nrate-limited"}
        assert 86_000 < client.ttl("mockserver:served:s:s7") <= 86_400
        assert not client.exists("mockserver:served:s:quiet")  # served no documented error
    whole = httpx.get(server.url + "/__admin/coverage").json()["apis"]["braze"]
    assert whole["served_ids"] == ["rate-limited"] and whole["requests"] == 21
    for session, served in (("s3", 1), ("quiet", 0)):
        coverage = httpx.get(server.url + "/__admin/coverage", params={"session": session}).json()
        assert coverage["apis"]["braze"]["served"] == served
    assert httpx.post(server.url + "/__admin/reset").status_code == 200
    with redis.Redis(port=redis_server.port) as client:
        assert client.keys("mockserver:served*") == []
    assert httpx.get(server.url + "/__admin/coverage").json()["served"] == 0


def test_the_journal_keeps_its_size_across_both(redis_server, start_server):
    redis_server.flush()
    servers = [start_server("--state", redis_server.url, "--journal-size", "3") for _ in range(2)]
    for index in range(5):
        httpx.get(servers[index % 2].url + f"/braze/campaigns/list?__session=n{index}", headers=BRAZE)
    journal = httpx.get(servers[1].url + "/__admin/requests").json()["requests"]
    assert [e["session"] for e in journal] == ["n2", "n3", "n4"]


def session_script(send: Any, session: str) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    """A stateful client of three APIs in one session: Reactor creates then reads, Braze meets its quota,
    clientless reads the reg code it made. Each answer as status, headers (Date and Server aside), bytes."""
    answers = []

    def call(method: str, path: str, headers: dict[str, str], body: str | None = None) -> Any:
        response = send(method, path, {**headers, "X-Mock-Session": session, "Host": "mock.test"}, body)
        answers.append((response.status_code, [(k, v) for k, v in response.headers.multi_items()
                                               if k not in ("date", "server")], response.content))
        return response.json()

    reactor = {"Authorization": "Bearer t", "x-api-key": "k", "Content-Type": "application/vnd.api+json"}
    company = call("GET", "/reactor/companies", reactor)["data"][0]["id"]
    created = call("POST", f"/reactor/companies/{company}/properties", reactor, json.dumps(
        {"data": {"type": "properties", "attributes": {"name": "p", "platform": "web", "domains": ["a.com"]}}}))
    call("GET", f"/reactor/properties/{created['data']['id']}", reactor)
    for _ in range(12):
        call("GET", "/braze/campaigns/list?__mode=rate-limited", BRAZE)
    clientless = {"Authorization": "Bearer t", "Accept": "application/json"}
    code = call("POST", "/clientless/reggie/v1/REQ/regcode",
                {**clientless, "Content-Type": "application/x-www-form-urlencoded"}, "deviceId=d1")["code"]
    call("GET", f"/clientless/reggie/v1/REQ/regcode/{code}", clientless)
    return answers


def test_sessions_sent_at_once_over_both_give_the_bytes_of_one_process_alone(pair):
    """GUIDE §2: a session's requests in the same order give the same bytes whatever other sessions do at
    the same time. Eight sessions, once one after the other on one server, once all at once, each request
    to either server (16 connections): every session's answers the same, ids, counters and quota included."""
    httpx.post(pair[0].url + "/__admin/clock", json={"freeze": "2026-01-01T00:00:00Z"})
    sessions = [f"at-once-{n}" for n in range(8)]
    with httpx.Client(timeout=20, limits=httpx.Limits(max_connections=16)) as client:
        def alone(method: str, path: str, headers: dict[str, str], body: str | None) -> httpx.Response:
            return client.request(method, pair[0].url + path, headers=headers, content=body)

        counter = itertools.count()

        def spread(method: str, path: str, headers: dict[str, str], body: str | None) -> httpx.Response:
            return client.request(method, pair[next(counter) % 2].url + path, headers=headers, content=body)

        one_by_one = [session_script(alone, s) for s in sessions]
        for session in sessions:
            httpx.post(pair[0].url + "/__admin/reset", params={"session": session})
        with ThreadPoolExecutor(8) as pool:
            at_once = list(pool.map(lambda s: session_script(spread, s), sessions))
    assert [a[0] for a in one_by_one[0]].count(429) == 2  # the quota (10) was met in the session
    assert at_once == one_by_one
