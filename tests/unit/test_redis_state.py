"""The Redis store keeps the memory store's contract, atomically across clients, on the virtual clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from mockserver.engine.clock import Clock
from mockserver.engine.redis_state import RedisStateStore
from mockserver.engine.state import CLOCK_KEY, GLOBAL, MODES_KEY, MemoryStateStore
from tests.redis_server import RedisProcess, needs_redis, redis_process

pytestmark = needs_redis


async def incr_and_sessions(store, clock):  # type: ignore[no-untyped-def]
    assert await store.incr("a", "n") == 1
    assert await store.incr("a", "n", 5) == 6
    assert await store.incr("b", "n") == 1
    assert await store.get("a", "missing", "fallback") == "fallback"


async def ttl_on_the_virtual_clock(store, clock):  # type: ignore[no-untyped-def]
    await store.set("s", "k", {"v": [1, 2]}, ttl_s=60)
    assert await store.incr("s", "c", ttl_s=10) == 1
    assert await store.incr("s", "c", ttl_s=10) == 2  # the window is the first increment's
    clock.advance(9.5)
    assert await store.get("s", "k") == {"v": [1, 2]} and await store.get("s", "c") == 2
    clock.advance(0.5)
    assert await store.get("s", "c") is None and await store.incr("s", "c", ttl_s=10) == 1
    assert await store.keys("s") == ["c", "k"]
    clock.advance(50)
    assert await store.get("s", "k") is None
    assert await store.keys("s") == []


async def set_without_ttl_keeps(store, clock):  # type: ignore[no-untyped-def]
    await store.set("s", "k", 1, ttl_s=5)
    await store.set("s", "k", 2)
    clock.advance(100)
    assert await store.get("s", "k") == 2


async def compare_and_set(store, clock):  # type: ignore[no-untyped-def]
    assert await store.compare_and_set("s", "k", None, {"b": 1, "a": [1.5, "x"]})
    assert not await store.compare_and_set("s", "k", None, {"other": 1})
    assert not await store.compare_and_set("s", "k", {"b": 2, "a": [1.5, "x"]}, {"other": 1})
    assert await store.compare_and_set("s", "k", {"a": [1.5, "x"], "b": 1}, {"state": "done"})
    value = await store.get("s", "k")
    value["state"] = "mutated"
    assert await store.get("s", "k") == {"state": "done"}


async def keys_delete(store, clock):  # type: ignore[no-untyped-def]
    for key in ("reactor:r:1", "reactor:r:2", "braze:x"):
        await store.set("s", key, True)
    assert await store.keys("s", "reactor:") == ["reactor:r:1", "reactor:r:2"]
    await store.delete("s", "reactor:r:1")
    assert await store.keys("s", "reactor:") == ["reactor:r:2"]
    assert await store.get("s", "reactor:r:1") is None


async def set_many_sets_each_and_drops_their_ttl(store, clock):  # type: ignore[no-untyped-def]
    await store.set("s", "a", 0, ttl_s=5)
    await store.set_many("s", {"a": {"v": 1}, "b": [2]})
    clock.advance(100)
    assert (await store.get("s", "a"), await store.get("s", "b")) == ({"v": 1}, [2])
    await store.clear("s")
    assert await store.keys("s") == []


CONTRACT = {f.__name__: f for f in (incr_and_sessions, ttl_on_the_virtual_clock, set_without_ttl_keeps,
                                    compare_and_set, keys_delete, set_many_sets_each_and_drops_their_ttl)}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisProcess]:
    yield from redis_process()


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def redis_store(redis_server: RedisProcess, clock: Clock) -> RedisStateStore:
    redis_server.flush()
    return RedisStateStore(redis_server.url, clock)


async def contract(name: str, store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    try:
        await CONTRACT[name](store, clock)
    finally:
        await store.close()


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_both_stores_keep_the_same_contract(redis_server, name):
    for kind in ("memory", "redis"):
        clock = Clock()
        clock.freeze(1000.0)
        store = MemoryStateStore(clock) if kind == "memory" else redis_store(redis_server, clock)
        run(contract(name, store, clock))


def test_begin_counts_and_reads_what_every_session_shares(redis_server):
    clock = Clock()
    store = redis_store(redis_server, clock)

    async def scenario():  # type: ignore[no-untyped-def]
        assert await store.begin("s") == (1, None, None)
        await store.set(GLOBAL, MODES_KEY, {"k": {"mode": "flaky"}})
        await store.set(GLOBAL, CLOCK_KEY, {"offset_s": 5.0, "frozen_at": None})
        assert await store.begin("s") == (2, {"k": {"mode": "flaky"}}, {"offset_s": 5.0, "frozen_at": None})
        assert (await store.begin("t"))[0] == 1
        await store.close()

    run(scenario())


def test_concurrent_writers_of_two_clients_lose_nothing(redis_server):
    """Two clients (two processes, in effect): increments and compare-and-set appends all land."""
    redis_server.flush()
    clock = Clock()

    async def scenario():  # type: ignore[no-untyped-def]
        one, two = RedisStateStore(redis_server.url, clock), RedisStateStore(redis_server.url, clock)

        async def append(store, item):  # type: ignore[no-untyped-def]
            while True:
                current = await store.get("s", "list")
                if await store.compare_and_set("s", "list", current, [*(current or []), item]):
                    return

        await asyncio.gather(*(s.incr("s", "n") for s in (one, two) for _ in range(200)))
        await asyncio.gather(*(append(one if i % 2 else two, i) for i in range(60)))
        assert await one.get("s", "n") == 400
        assert sorted(await two.get("s", "list")) == list(range(60))
        await one.close()
        await two.close()

    run(scenario())


def test_clear_forgets_one_session_or_all_of_them(redis_server):
    clock = Clock()
    store = redis_store(redis_server, clock)

    async def scenario():  # type: ignore[no-untyped-def]
        await store.set("a", "k", 1)
        await store.set("b", "k", 2)
        await store.set(GLOBAL, MODES_KEY, {})
        await store.clear("a")
        assert await store.get("a", "k") is None and await store.get("b", "k") == 2
        await store.clear()
        assert await store.get("b", "k") is None and await store.get(GLOBAL, MODES_KEY) is None
        await store.close()

    run(scenario())


def test_a_shared_store_never_answers_a_peek(redis_server):
    """What another process may change is only known by asking Redis: peek says 'ask'."""
    store = redis_store(redis_server, Clock())

    async def scenario():  # type: ignore[no-untyped-def]
        await store.set("s", "k", "v")
        assert store.peek("s", "k", "ask") == "ask"
        assert await store.get("s", "k") == "v"
        await store.close()

    run(scenario())


def test_a_sessions_keys_go_after_a_day_without_a_request(redis_server: RedisProcess) -> None:
    """A long-lived server meets ever-new sessions: each request renews its session's Redis TTL."""
    from mockserver.engine.redis_state import PREFIX, SESSION_IDLE_S

    async def run() -> tuple[int, int, int]:
        store = RedisStateStore(redis_server.url, Clock())
        try:
            await store.begin("idle")
            await store.set("idle", "k", 1, ttl_s=60)
            await store.begin("idle")  # the deadlines' hash exists now: its TTL is set too
            values = await store.redis.ttl(f"{PREFIX}s:idle")
            deadlines = await store.redis.ttl(f"{PREFIX}x:idle")
            shared = await store.redis.ttl(f"{PREFIX}s:{GLOBAL}")
            return values, deadlines, shared
        finally:
            await store.close()

    values, deadlines, shared = asyncio.run(run())
    assert SESSION_IDLE_S - 5 <= values <= SESSION_IDLE_S and SESSION_IDLE_S - 5 <= deadlines <= SESSION_IDLE_S
    assert shared in (-1, -2)  # the modes and the clock stay (-2: no such key yet)


def test_a_redis_that_hangs_fails_every_call_within_the_timeout_even_beyond_the_pool() -> None:
    """SIGSTOP: the connections stay open and nothing answers. 100 calls at once, more than the pool's 64
    connections: each fails as `unreachable` (the 503) within READ_TIMEOUT_S, rather than waiting for a connection
    the calls before hold (waves of 64, 4 s for the second), and the store answers again once Redis does."""
    import signal
    import time

    from mockserver.engine.redis_state import MAX_CONNECTIONS, READ_TIMEOUT_S, unreachable

    hung = RedisProcess()

    async def scenario() -> None:
        store = RedisStateStore(hung.url, Clock())
        await asyncio.gather(*(store.begin(f"warm{n}") for n in range(MAX_CONNECTIONS)))  # the pool full and open
        hung.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        failed = await asyncio.gather(*(store.begin(f"s{n}") for n in range(100)), return_exceptions=True)
        took = time.monotonic() - started
        hung.process.send_signal(signal.SIGCONT)
        assert all(isinstance(e, Exception) and unreachable(e) for e in failed), {repr(e) for e in failed}
        assert took < READ_TIMEOUT_S * 1.5, took
        assert (await store.begin("back"))[0] == 1
        await store.close()

    try:
        asyncio.run(scenario())
    finally:
        hung.process.send_signal(signal.SIGCONT)
        hung.stop()


def test_the_outage_log_tells_the_last_failures_and_carries_none_into_the_next_outage(caplog):
    """One line per window while Redis is away: the failures after the last line are told when the window ends
    (they were told with the next outage's first line, if ever, counted over the hour between)."""
    from mockserver.engine.redis_state import OutageLog

    outage = OutageLog()
    outage.EVERY_S = 0.2

    async def fail(times: int) -> None:
        for n in range(times):
            outage.error("request %d failed", n)

    async def two_outages() -> None:
        await fail(5)
        await asyncio.sleep(0.4)
        while outage.untold or time.monotonic() - outage.last < outage.EVERY_S:  # a loaded machine's late timer
            await asyncio.sleep(0.05)
        await fail(1)

    with caplog.at_level("ERROR", logger="mockserver"):
        asyncio.run(two_outages())
    assert [r.getMessage() for r in caplog.records] == [
        "request 0 failed", "request 4 failed (and 4 more like it in the last 0 s)", "request 0 failed"]
