from __future__ import annotations

import asyncio

from mockserver.engine.clock import Clock
from mockserver.engine.state import GLOBAL, MODES_KEY, MemoryStateStore


def run(coro):
    return asyncio.run(coro)


def test_sessions_are_isolated_and_incr_counts():
    store = MemoryStateStore(Clock())

    async def scenario():
        assert await store.incr("a", "n") == 1
        assert await store.incr("a", "n") == 2
        assert await store.incr("b", "n") == 1
        await store.clear("a")
        assert await store.get("a", "n") is None
        assert await store.get("b", "n") == 1

    run(scenario())


def test_ttl_follows_the_virtual_clock():
    clock = Clock()
    clock.freeze(1000.0)
    store = MemoryStateStore(clock)

    async def scenario():
        await store.set("s", "k", {"v": 1}, ttl_s=60)
        clock.advance(59)
        assert await store.get("s", "k") == {"v": 1}
        clock.advance(1)
        assert await store.get("s", "k") is None
        assert await store.keys("s") == []

    run(scenario())


def test_compare_and_set_and_copies():
    store = MemoryStateStore(Clock())

    async def scenario():
        assert await store.compare_and_set("s", "k", None, {"state": "pending"})
        assert not await store.compare_and_set("s", "k", None, {"state": "other"})
        value = await store.get("s", "k")
        value["state"] = "mutated"
        assert await store.get("s", "k") == {"state": "pending"}

    run(scenario())


def test_peek_sees_what_get_sees_without_a_wait():
    clock = Clock()
    clock.freeze(1000.0)
    store = MemoryStateStore(clock)

    async def scenario():
        assert store.peek("a", "k", "absent") == "absent"
        await store.set("a", "k", {"v": 1}, ttl_s=5)
        assert store.peek("a", "k") == await store.get("a", "k") == {"v": 1}
        clock.advance(6)
        assert store.peek("a", "k") is None  # expired, as for get
        await store.set("a", "k", 2)
        await store.clear("a")
        assert store.peek("a", "k") is None

    run(scenario())


def test_the_store_holds_at_most_max_sessions_and_forgets_the_least_recently_used():
    store = MemoryStateStore(Clock(), max_sessions=3)

    async def scenario():
        await store.compare_and_set(GLOBAL, MODES_KEY, None, {
            "b|*|flaky": {"mode": "flaky", "api": None, "session": "b", "id": 1, "since": 0, "until": None},
            "*|*|outage": {"mode": "outage", "api": None, "session": None, "id": 2, "since": 0, "until": None}})
        for session in ("a", "b", "c"):
            await store.begin(session)
            await store.set(session, "k", session, ttl_s=60)
        assert (await store.begin("a"))[0] == 2  # a used again: b is now the least recently used
        await store.begin("d")
        assert sorted(s for s in store.data if s != GLOBAL) == ["a", "c", "d"]
        assert sorted(store.expiry) == ["a", "c"]  # b's deadlines went with it
        assert list(await store.get(GLOBAL, MODES_KEY)) == ["*|*|outage"]  # and its own modes; every session's stay
        assert await store.get("a", "k") == "a" and await store.get("c", "k") == "c"
        assert (await store.begin("b"))[0] == 1  # b starts afresh
        assert sorted(s for s in store.data if s != GLOBAL) == ["a", "b", "d"]

    run(scenario())


def test_no_bound_with_max_sessions_0():
    store = MemoryStateStore(Clock(), max_sessions=0)

    async def scenario():
        for n in range(50):
            await store.begin(f"s{n}")
        assert len(store.data) == 50

    run(scenario())


def test_expired_keys_no_one_reads_again_are_swept():
    clock = Clock()
    clock.freeze(1000.0)
    store = MemoryStateStore(clock)

    async def scenario():
        await store.set("s", "kept", 1)
        for window in range(1000):  # a counter per window, as Braze's rate limit keeps: each read in its window only
            await store.incr("s", f"rate:{window}", ttl_s=3)
            clock.advance(3)
        assert len(store.data["s"]) < 130 and len(store.expiry["s"]) < 130
        assert await store.get("s", "kept") == 1

    run(scenario())
