"""The state store in Redis, shared by every worker and replica (`--state redis://HOST:PORT/DB`).

Layout, under the prefix `mockserver:`: one hash per session, `s:{session}`, field = key, value =
JSON in the value's own order (no spaces; the memory store keeps that order too, and answers print
stored resources as they are: sorted keys would give other bytes than one process); and one hash of
deadlines, `x:{session}`, field = key, value = the virtual time at which it expires. Expiry follows
the virtual clock, which Redis cannot know, so each script gets `now` and drops what has expired
as it reads (no Redis TTLs for values; a session's two hashes get one, real-time, that each of its
requests renews: `SESSION_IDLE_S`). Every call that reads and writes is one Lua script, hence atomic
across processes; `begin` is one script too, so a request costs one round trip before its own work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import LockError

from mockserver.engine.clock import Clock
from mockserver.engine.outcome import INTERNAL_ERROR_HEADERS
from mockserver.engine.state import CLOCK_KEY, GLOBAL, MODES_KEY, REQUESTS_KEY, Start

PREFIX = "mockserver:"
# Per process; requests beyond wait for a free connection rather than fail, for READ_TIMEOUT_S at most (a Redis
# that answers frees one within milliseconds; one that hangs held them in waves of 64, each READ_TIMEOUT_S long).
MAX_CONNECTIONS = 64
# A session's keys go after a day without a request (a real-time Redis TTL, renewed by each request): a
# server that stays up meets ever-new sessions (a test each, run after run), as memory:// bounds by count.
SESSION_IDLE_S = 86_400
# A Redis that accepts connections and never answers (stopped, overloaded, a half-open network) would hold every
# request, and the health check, for ever: each call gives up after these (README: 503 within 2 s). Nothing of
# ours needs more: no call blocks in Redis (`__delay` and `slow` wait in the server, not in Redis), and the
# biggest read, the whole journal at its 10,000 entries (8 MB), takes 70 ms on a 2-core machine.
CONNECT_TIMEOUT_S = READ_TIMEOUT_S = 2.0
# How long `exclusive` holds a session's resources at most, and waits for them: a request's reads and writes
# take milliseconds; a process that died holding the lock holds it no longer than this.
LOCK_S = 5.0
# The state's keys: a session's values and deadlines (`_names`), and the locks of `exclusive`.
OWN_KEYS = (f"{PREFIX}s:", f"{PREFIX}x:", f"{PREFIX}lock:")
_LIVE = """
local function live(h, x, f, now)
  local d = redis.call('HGET', x, f)
  if d and tonumber(d) <= now then
    redis.call('HDEL', h, f)
    redis.call('HDEL', x, f)
    return false
  end
  return redis.call('HGET', h, f)
end
"""
_GET = _LIVE + "return live(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))"
_INCR = _LIVE + """
local before = live(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))
local value = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[3])
if not before and ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[4]) end
return value
"""
_CAS = _LIVE + """
local function same(a, b)  -- JSON values equal whatever the order of their keys, as Python's ==
  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
local current = live(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))
if ARGV[3] == '0' then
  if current and current ~= 'null' then return 0 end
elseif current ~= ARGV[4] and not (current and same(cjson.decode(current), cjson.decode(ARGV[4]))) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
return 1
"""
_KEYS = _LIVE + """
local out = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, #ARGV[1]) == ARGV[1] and live(KEYS[1], KEYS[2], f, tonumber(ARGV[2])) then
    table.insert(out, f)
  end
end
return out
"""
_BEGIN = f"""
local n = redis.call('HINCRBY', KEYS[1], '{REQUESTS_KEY}', 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return {{n, redis.call('HGET', KEYS[2], '{MODES_KEY}'), redis.call('HGET', KEYS[2], '{CLOCK_KEY}')}}
"""


def pool_checks() -> dict[str, Any]:
    """The options that keep a pool from handing out a connection Redis closed (a restart, its `timeout`).

    redis-py's pool checks each connection it hands out: one the peer closed (at EOF) is opened again before the
    command is sent. redis-py 8 speaks RESP3 and then turns on maintenance notifications (for Redis Cloud's
    failovers) by default, and with them leaves that check out: after a restart each pooled connection failed its
    next call (`Connection closed by server`, the request's 503) long after Redis answered again. Without them the
    check is back. No retry is asked for instead (redis-py's `retry=`): a command whose connection failed after it
    was sent may have run (an `INCR`, a journal entry, a request counted: twice if sent again), and one that timed
    out would take twice the 2 s the README promises. The asyncio client has the notifications from redis-py 8.1
    (7.x and 8.0 have the module, and their asyncio connections refuse the option): asked of the connection class."""
    import inspect

    from redis.asyncio.connection import AbstractConnection

    if "maint_notifications_config" not in inspect.signature(AbstractConnection.__init__).parameters:
        return {}  # pragma: no cover - redis-py before 8.1, whose asyncio pools always check
    from redis.maint_notifications import MaintNotificationsConfig

    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class RedisStateStore:
    """`StateStore` over redis-py's asyncio client; connections open on first use, in the server's loop."""

    shared = True

    def __init__(self, url: str, clock: Clock) -> None:
        self.clock = clock
        pool = BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=READ_TIMEOUT_S,
                                               decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                               socket_timeout=READ_TIMEOUT_S, **pool_checks())
        self.redis: Redis = Redis.from_pool(pool)  # closing the client closes the pool
        self._held: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()
        self._get = self.redis.register_script(_GET)
        self._incr = self.redis.register_script(_INCR)
        self._cas = self.redis.register_script(_CAS)
        self._keys = self.redis.register_script(_KEYS)
        self._begin = self.redis.register_script(_BEGIN)

    @staticmethod
    def _names(session: str) -> list[str]:
        return [f"{PREFIX}s:{session}", f"{PREFIX}x:{session}"]

    def _deadline(self, ttl_s: float | None) -> str:
        return "" if ttl_s is None else repr(self.clock.now() + ttl_s)

    async def begin(self, session: str) -> Start:
        values, deadlines = self._names(session)
        number, modes, clock = await self._begin(keys=[values, self._names(GLOBAL)[0], deadlines],
                                                 args=[SESSION_IDLE_S])
        return int(number), _load(modes), _load(clock)

    async def get(self, session: str, key: str, default: Any = None) -> Any:
        found = await self._get(keys=self._names(session), args=[key, repr(self.clock.now())])
        return default if found is None else json.loads(found)

    def peek(self, session: str, key: str, default: Any = None) -> Any:
        return default  # held in Redis: only `get` knows

    async def set(self, session: str, key: str, value: Any, ttl_s: float | None = None) -> None:
        values, deadlines = self._names(session)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(values, key, dump(value))
            if ttl_s is None:
                pipe.hdel(deadlines, key)
            else:
                pipe.hset(deadlines, key, self._deadline(ttl_s))
            await pipe.execute()

    async def set_many(self, session: str, values: Mapping[str, Any]) -> None:
        names = self._names(session)
        async with self.redis.pipeline(transaction=True) as pipe:  # MULTI/EXEC: a reset's DEL sees all or none
            pipe.hset(names[0], mapping={key: dump(value) for key, value in values.items()})
            pipe.hdel(names[1], *values)
            await pipe.execute()

    async def incr(self, session: str, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        args: list[str | int] = [key, repr(self.clock.now()), amount, self._deadline(ttl_s)]
        return int(await self._incr(keys=self._names(session), args=args))

    async def compare_and_set(self, session: str, key: str, expected: Any, new: Any) -> bool:
        args = [key, repr(self.clock.now()), "0" if expected is None else "1",
                "" if expected is None else dump(expected), dump(new)]
        return bool(await self._cas(keys=self._names(session), args=args))

    async def delete(self, session: str, key: str) -> None:
        values, deadlines = self._names(session)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(values, key)
            pipe.hdel(deadlines, key)
            await pipe.execute()

    async def keys(self, session: str, prefix: str = "") -> list[str]:
        found = await self._keys(keys=self._names(session), args=[prefix, repr(self.clock.now())])
        return sorted(found)

    async def clear(self, session: str | None = None) -> None:
        """Forget `session`'s state, or every session's (and the locks). The journal's keys share the prefix and are
        its own to clear (`SharedJournal.wipe`): its numbering goes on after a full reset, as the in-memory one does."""
        if session is not None:
            await self.redis.delete(*self._names(session))
            return
        batch: list[str] = []
        async for name in self.redis.scan_iter(match=PREFIX + "*", count=500):
            if not name.startswith(OWN_KEYS):
                continue
            batch.append(name)
            if len(batch) >= 500:
                await self.redis.delete(*batch)
                batch = []
        if batch:
            await self.redis.delete(*batch)

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> None:
        await self.redis.ping()

    @asynccontextmanager
    async def exclusive(self, session: str, name: str) -> AsyncIterator[object]:
        """One request of this process at a time asks Redis's lock (redis-py's: SET NX with a token, released by a
        script); it expires after `LOCK_S`, so a process that died holding it holds it no longer than that."""
        here = self._held.setdefault((session, name), asyncio.Lock())
        async with here:
            lock = self.redis.lock(f"{PREFIX}lock:{session}:{name}", timeout=LOCK_S, sleep=0.002,
                                   blocking_timeout=LOCK_S)
            taken = await lock.acquire()
            if not taken:  # held past LOCK_S: a process that died holding it, or a request stuck in Redis
                logging.getLogger("mockserver").warning(
                    "session %s: %s's resources held by another request for over %.0f s; this one runs without "
                    "waiting longer", session, name, LOCK_S)
            try:
                yield lock
            finally:
                if taken:
                    try:
                        await lock.release()
                    except LockError:  # expired (a request held it over LOCK_S) and maybe taken since: not ours
                        pass


def unreachable(exc: BaseException) -> bool:
    """Redis went away, or does not answer: not a bug of ours, nor an answer of the imitated API."""
    from redis.exceptions import ConnectionError, TimeoutError

    return isinstance(exc, (ConnectionError, TimeoutError))


def unreachable_detail(url: str, exc: BaseException) -> str:
    """One line for the log and the answer; the URL without its password."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return f"no answer from the shared state {shown} ({exc}): start that Redis again, or serve with --state memory://"


class OutageLog:
    """While Redis is away every request fails the same way: one line per `EVERY_S` seconds, saying how many
    were left untold since the line before, instead of one per request (a client retrying in a loop wrote
    thousands). Those left untold when the failures stop are told `EVERY_S` after the last line, so a count
    is never lost, nor carried into the next outage's first line."""

    EVERY_S = 10.0

    def __init__(self) -> None:
        self.last = -self.EVERY_S
        self.untold = 0
        self.message = ""

    def error(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.last < self.EVERY_S:
            if not self.untold:
                self.tell_later(self.last + self.EVERY_S - now)
            self.untold += 1
            self.message = message % args
            return
        if self.untold:
            message += f" (and {self.untold} more like it in the last {now - self.last:.0f} s)"
        self.last, self.untold = now, 0
        logging.getLogger("mockserver").error(message, *args)

    def tell_later(self, delay_s: float) -> None:
        try:
            asyncio.get_running_loop().call_later(delay_s, self.tell_untold)
        except RuntimeError:  # no loop (a caller outside the server): told with the next line, if any
            pass

    def tell_untold(self) -> None:
        if self.untold:
            now = time.monotonic()
            logging.getLogger("mockserver").error("%s (and %d more like it in the last %.0f s)",
                                                  self.message, self.untold, now - self.last)
            self.last, self.untold = now, 0


outage_log = OutageLog()


def state_gone_answer(url: str, exc: BaseException, request: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """The mock's own 503 (problem+json) while the shared state does not answer, API routes and admin alike, and its
    line in the log (no traceback: nothing of ours failed)."""
    problem = {"type": "urn:mockserver:problem:state-unreachable", "title": "The mock server's state does not answer",
               "status": 503, "detail": unreachable_detail(url, exc)}
    outage_log.error("%s: %s", request, problem["detail"])
    return 503, list(INTERNAL_ERROR_HEADERS), json.dumps(problem, separators=(",", ":")).encode()


def check_reachable(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ConnectionError with the reason when the Redis at `url` does not answer a PING; ValueError for a URL
    redis-py would read wrongly (it takes `/abc` as database 0, silently: a typo shared another setup's state)."""
    import redis

    path = unquote(urlsplit(url).path)  # as redis-py reads it: `/%31` is database 1
    if not url.startswith("unix:") and path not in ("", "/") and not path[1:].isdecimal():
        raise ValueError(f"the database is a number (redis://HOST:PORT/0), not {path[1:]!r}")

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ConnectionError(f"no Redis at {url}: {exc}") from None
    finally:
        client.close()
