"""The journal in Redis (`--state redis://...`): every worker and replica records into one list and
reads from it, so `/__admin/requests`, coverage and the verdict see all requests whichever process
answers them.

Layout, under the state store's prefix: `journal` is a list of entries, each `seq\\nsession\\n` then
the marshal-ed entry (the same bytes the in-memory journal keeps), trimmed to `--journal-size`;
`journal:seq` numbers them across processes; the documented errors served (coverage) are sets of
`api\\nerror-id` members: `served:s:{session}` per session, which goes after a day without an error
served (`SESSION_IDLE_S`, as the session's state does), and `served:any` for the whole server since
the last full reset (bounded by the catalog; a session's reset or expiry leaves it, as the in-memory
journal keeps what the sessions it forgot were served). Writing is one Lua script, hence atomic;
reading takes the list whole and then answers as the in-memory journal does. `journal:lost` is the set of the
sessions (`` for none) whose entry Redis did not take (it was away, or failed): their verdict is incomplete until
their reset, as is the whole journal's.
"""

from __future__ import annotations

import asyncio
import marshal
from collections import deque
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mockserver.engine.redis_state import CONNECT_TIMEOUT_S, PREFIX, READ_TIMEOUT_S, SESSION_IDLE_S, pool_checks
from mockserver.journal import Entry, Journal

LIST, SEQ, SERVED, LOST = f"{PREFIX}journal", f"{PREFIX}journal:seq", f"{PREFIX}served:any", f"{PREFIX}journal:lost"
SERVED_BY = f"{PREFIX}served:s:"  # + session
RETELL_S = 0.25  # between two tries to tell Redis of a loss, while it does not answer
_PUSH = """
local n = redis.call('INCR', KEYS[2])
if ARGV[2] ~= '' then
  redis.call('RPUSH', KEYS[1], n .. '\\n' .. ARGV[2])
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
end
if #ARGV > 3 then
  for i = 4, #ARGV do
    redis.call('SADD', KEYS[3], ARGV[i])
    redis.call('SADD', KEYS[4], ARGV[i])
  end
  redis.call('EXPIRE', KEYS[4], ARGV[3])
end
return n
"""
_FORGET = """
local kept = {}
for _, e in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local s = string.find(e, '\\n', 1, true)
  if string.sub(e, s + 1, s + #ARGV[1] + 1) ~= ARGV[1] .. '\\n' then table.insert(kept, e) end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
for i = 1, #kept, 1000 do redis.call('RPUSH', KEYS[1], unpack(kept, i, math.min(i + 999, #kept))) end
return #kept
"""


class SharedJournal(Journal):
    """A `Journal` whose entries live in Redis; the local deque is only the view of the last read."""

    shared = True

    def __init__(self, url: str, size: int = 10_000, enabled: bool = True) -> None:
        super().__init__(size, enabled)
        self.size = max(size, 1)
        self.redis: Redis = Redis.from_url(url, decode_responses=False,  # entries are bytes, not text
                                           socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=READ_TIMEOUT_S,
                                           **pool_checks())
        self._push = self.redis.register_script(_PUSH)
        self._forget = self.redis.register_script(_FORGET)
        # The sessions ("" for none) whose entry Redis did not take: those this process has not told Redis yet
        # (it did not answer), and those every process told it, as of the last `sync`.
        self.untold: set[str] = set()
        self.lost_any: set[str] = set()
        self._telling: asyncio.Task[None] | None = None
        self._telling_lock = asyncio.Lock()  # a loss told and a reset one after the other: never a loss told after it
        self._closed = False

    async def publish(self, entry: Entry) -> None:
        """Record `entry` for every process (its `seq` is the shared one). One Redis did not take is told as lost:
        the caller answers the request all the same (`dispatch._publish`), and its verdict must not say complete."""
        session = (entry.session or "").encode()
        packed = b""
        if self.enabled:
            packed = session + b"\n" + entry.pack()
        served = [f"{entry.api}\n{e}".encode() for e in entry.errors] if entry.api and entry.session else []
        try:
            if self.untold and not self._telling_lock.locked():  # one telling already (a hanging Redis holds it up
                await self._tell_lost()                            # to 2 s): the retry task tells, requests go on
            entry.seq = int(await self._push(keys=[LIST, SEQ, SERVED, SERVED_BY.encode() + session],
                                             args=[self.size, packed, SESSION_IDLE_S, *served]))
        except BaseException:  # Redis away, or the server stopping in the middle: maybe written, maybe not
            self.untold.add(entry.session or "")
            self._keep_telling()
            raise

    def _keep_telling(self) -> None:
        """Tell the loss as soon as Redis answers again, not at this process's next request: meanwhile another
        process's verdict over the session said complete."""
        if not self._closed and (self._telling is None or self._telling.done()):
            self._telling = asyncio.get_running_loop().create_task(self._tell_until_told())

    async def _tell_until_told(self) -> None:
        while self.untold:
            try:
                await self._tell_lost()
            except (RedisError, OSError):
                await asyncio.sleep(RETELL_S)

    async def _tell_lost(self) -> None:
        """The losses of this process's, into Redis, for every process's verdict (a day, as a session's state)."""
        if self.untold:
            async with self._telling_lock:
                told = sorted(self.untold)  # a reset meanwhile took its session out
                if told:
                    async with self.redis.pipeline(transaction=True) as pipe:
                        pipe.sadd(LOST, *told)
                        pipe.expire(LOST, SESSION_IDLE_S)
                        await pipe.execute()
                    self.untold.difference_update(told)

    async def sync(self) -> None:
        """Take in what every process recorded, for the reads that follow."""
        await self._tell_lost()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(LIST, 0, -1)
            pipe.smembers(LOST)
            raw, lost = cast(tuple[list[bytes], set[bytes]], await pipe.execute())
        self.lost_any = {member.decode() for member in lost}
        packed: deque[bytes] = deque(maxlen=self.size)
        sessions: deque[str | None] = deque(maxlen=self.size)
        for item in raw:
            seq, session, rest = item.split(b"\n", 2)
            stored = marshal.loads(rest)
            packed.append(marshal.dumps((int(seq), *stored[1:])))
            sessions.append(session.decode() if session else None)
        self._packed, self._sessions = packed, sessions

    async def sync_served(self, session: str | None = None) -> None:
        """Take in the documented errors served to `session`, or to any session since the last full reset."""
        members = cast(set[bytes], await self.redis.smembers(SERVED if session is None else SERVED_BY + session))
        by_api: dict[str, set[str]] = {}
        for member in members:
            api, error = member.decode().split("\n", 1)
            by_api.setdefault(api, set()).add(error)
        self.served, self.served_before = ({}, by_api) if session is None else ({session: by_api}, {})

    def complete(self, session: str | None = None) -> bool:
        """At its bound, the list may have lost entries of any session (which, it does not tell); an entry Redis did
        not take is lost to its session's verdict (and the whole journal's), as the in-memory journal tells one its
        bound pushed out."""
        if len(self._packed) >= self.size:
            return False
        lost = self.lost_any | self.untold
        return not lost if session is None else session not in lost

    async def wipe(self, session: str | None = None) -> None:
        async with self._telling_lock:  # a loss being told lands before the reset, not after it
            if session is None:
                await self.redis.delete(LIST, SERVED, LOST)  # the numbering goes on, as the in-memory one does
                async for key in self.redis.scan_iter(match=SERVED_BY + "*", count=1000):
                    await self.redis.delete(key)
                self.untold.clear()
            else:
                await self._forget(keys=[LIST, SERVED_BY + session, LOST], args=[session.encode()])
                self.untold.discard(session)
        await self.sync()

    async def close(self) -> None:
        self._closed = True
        if self._telling is not None:
            self._telling.cancel()
        await self.redis.aclose()
