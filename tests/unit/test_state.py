from __future__ import annotations

import asyncio

from mockserver.engine.clock import Clock
from mockserver.engine.state import MemoryStateStore


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
