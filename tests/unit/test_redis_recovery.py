"""A Redis that went away and came back: the store and the journal carry on, count nothing twice, and a journal
entry Redis did not take makes the journal say it is incomplete."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from redis.exceptions import ConnectionError as RedisGone

from mockserver.engine.clock import Clock
from mockserver.engine.redis_state import RedisStateStore, unreachable
from mockserver.journal import Entry
from mockserver.shared_journal import RETELL_S, SharedJournal
from tests.redis_server import RedisProcess, needs_redis

pytestmark = needs_redis


def entry(session: str | None, path: str = "/braze/campaigns/list") -> Entry:
    answered = Entry(0.0, "GET", path, b"", [], "braze")
    answered.session, answered.status = session, 200
    return answered


def run_restarting(scenario: Callable[[RedisProcess, Callable[[], RedisProcess]], Awaitable[None]]) -> None:
    """`scenario(redis, start_again)` on a Redis of its own, which `start_again()` starts anew on the same port (after
    the scenario stopped it); every one still running is stopped at the end."""
    started = [RedisProcess()]

    def start_again() -> RedisProcess:
        started.append(RedisProcess(started[0].port))
        return started[-1]

    try:
        asyncio.run(scenario(started[0], start_again))
    finally:
        for server in started:
            if server.process.poll() is None:
                server.stop()


def test_connections_redis_closed_when_it_stopped_are_opened_again_before_a_call() -> None:
    """redis-py 8 speaks RESP3, and with it leaves out the check of a pooled connection it hands out (at EOF: the
    peer closed it) for maintenance notifications we do not use: the first call on each connection that died with
    the Redis failed (`Connection closed by server`), the request's 503, long after Redis was back. Each is opened
    again before its command is sent, so nothing is sent twice: every count after the restart is 1."""
    async def scenario(redis: RedisProcess, start_again: Callable[[], RedisProcess]) -> None:
        store = RedisStateStore(redis.url, Clock())
        journal = SharedJournal(redis.url)
        try:
            await asyncio.gather(*(store.begin(f"before{n}") for n in range(8)))  # 8 connections in the pool
            await journal.publish(entry("before"))
            await asyncio.to_thread(redis.stop)  # the loop runs meanwhile, as a server's does: it sees them closed
            await asyncio.to_thread(start_again)
            counted = await asyncio.gather(*(store.incr(f"s{n}", "n") for n in range(8)), return_exceptions=True)
            assert counted == [1] * 8
            assert [await store.get(f"s{n}", "n") for n in range(8)] == [1] * 8
            await journal.publish(answered := entry("after"))
            assert answered.seq == 1  # the Redis started again is empty: the first of its journal
            await journal.sync()
            assert [e["session"] for e in journal.query()] == ["after"] and journal.complete()
        finally:
            await store.close()
            await journal.close()

    run_restarting(scenario)


def test_an_entry_the_journal_did_not_take_makes_it_incomplete_for_its_session_in_every_process() -> None:
    """`dispatch._publish` logs a journal that cannot be written and answers all the same; the verdict over that
    session then said `complete: true` with a request missing. The loss is told to Redis once it answers again (so
    another process's verdict knows it too), until the session, or the whole journal, is reset."""
    async def scenario(redis: RedisProcess, start_again: Callable[[], RedisProcess]) -> None:
        one, two = SharedJournal(redis.url), SharedJournal(redis.url)
        try:
            await one.publish(entry("s"))
            redis.stop()
            with pytest.raises(RedisGone) as failed:
                await one.publish(entry("s"))
            assert unreachable(failed.value)  # the mock's 503 had the store failed so
            assert not one.complete("s") and not one.complete() and one.complete("t")  # known here at once
            again = start_again()
            await one.publish(entry("t"))
            await two.sync()
            assert (two.complete("s"), two.complete("t"), two.complete()) == (False, True, False)
            await two.wipe("s")
            await one.sync()
            assert one.complete("s") and one.complete()
            again.stop()
            with pytest.raises(RedisGone):  # an entry of no session
                await two.publish(entry(None))
            again = start_again()
            await two.sync()
            await one.sync()
            assert (one.complete(), one.complete("s"), two.complete()) == (False, True, False)
            await one.wipe()
            await two.sync()
            assert two.complete()
        finally:
            await one.close()
            await two.close()

    run_restarting(scenario)


def test_a_loss_is_told_to_every_process_once_redis_answers_again_without_waiting_for_another_request() -> None:
    """The process that lost an entry told Redis at its next call only: until then, another process's verdict over
    the session said complete. It now tries again on its own, every RETELL_S, until Redis takes it."""
    async def scenario(redis: RedisProcess, start_again: Callable[[], RedisProcess]) -> None:
        one, two = SharedJournal(redis.url), SharedJournal(redis.url)
        try:
            await one.publish(entry("s"))
            await asyncio.to_thread(redis.stop)  # the loop runs meanwhile, as a server's does
            with pytest.raises(RedisGone):
                await one.publish(entry("s"))
            await asyncio.sleep(4 * RETELL_S)  # tries that find Redis away
            await asyncio.to_thread(start_again)
            deadline = time.monotonic() + 20  # `one` is sent nothing more
            while time.monotonic() < deadline:
                await two.sync()
                if not two.complete("s"):
                    break
                await asyncio.sleep(0.05)
            assert (two.complete("s"), two.complete("t"), one.untold) == (False, True, set())
        finally:
            await one.close()
            await two.close()

    run_restarting(scenario)


def test_a_loss_being_told_when_its_session_is_reset_does_not_mark_the_session_lost_again() -> None:
    """`POST /__admin/reset?session=s` makes the session's verdict complete again. A loss this process was telling
    Redis at that moment (its retry task had taken the session, its command not yet sent) landed after the reset, and
    the session was lost again, with nothing lost since. The tell and the reset now take turns."""
    async def scenario(redis: RedisProcess, start_again: Callable[[], RedisProcess]) -> None:
        journal = SharedJournal(redis.url)
        gate = asyncio.Event()
        real_pipeline = journal.redis.pipeline

        def held_pipeline(transaction: bool = True) -> object:  # the tell's MULTI waits at the gate, as on a slow pool
            pipe = real_pipeline(transaction=transaction)
            if transaction:
                execute = pipe.execute

                async def execute_later() -> object:
                    await gate.wait()
                    return await execute()

                pipe.execute = execute_later  # type: ignore[method-assign]
            return pipe

        journal.redis.pipeline = held_pipeline  # type: ignore[method-assign]
        try:
            journal.untold.add("s")  # an entry of session s Redis did not take
            journal._keep_telling()  # noqa: SLF001 - the retry task publish starts
            await asyncio.sleep(0.05)
            reset = asyncio.create_task(journal.wipe("s"))
            await asyncio.sleep(0.05)
            gate.set()
            await reset
            assert journal._telling is not None  # noqa: SLF001
            await journal._telling  # noqa: SLF001 - the tell is over, its command sent
            await journal.sync()
            assert journal.complete("s") and journal.untold == set()
        finally:
            gate.set()
            await journal.close()

    run_restarting(scenario)


def test_a_request_does_not_queue_behind_a_loss_being_told() -> None:
    """A Redis that hangs holds a tell up to its 2 s timeout. Each request's `publish` waited its turn behind it (the
    fifth request in flight answered after 14.5 s, not 5 s, in the reviewer's run with Redis stopped): a request that
    finds a tell under way now leaves the loss to it, and only writes its own entry."""
    async def scenario(redis: RedisProcess, start_again: Callable[[], RedisProcess]) -> None:
        journal = SharedJournal(redis.url)
        try:
            journal.untold.add("s")
            async with journal._telling_lock:  # noqa: SLF001 - a tell under way, as on a Redis that hangs
                await asyncio.wait_for(journal.publish(answered := entry("t")), 10)  # (10 s: a hang, not a timing)
            assert answered.seq == 1 and journal.untold == {"s"}
            await journal.publish(entry("t"))  # none under way: this request tells it
            await journal.sync()
            assert journal.untold == set() and not journal.complete("s") and journal.complete("t")
        finally:
            await journal.close()

    run_restarting(scenario)
