"""State kept per session: sequences, quotas, resources. Every stateful behaviour goes through here.

`StateStore` is the interface; `MemoryStateStore` the default, `RedisStateStore` (redis_state.py)
the shared one, with the same calls made atomic, so callers never change. Values are JSON-like data.
Times to live follow the virtual clock, not the wall clock.

What every session shares lives in the pseudo-session `GLOBAL` (no session name can be `*`): the
modes switched on (`MODES_KEY`) and, with a shared store, the clock (`CLOCK_KEY`). `begin` reads
them with the session's request number in one call (one round trip to Redis per request).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, Protocol

from mockserver.engine.clock import Clock

GLOBAL = "*"
_ALONE = nullcontext()
MODES_KEY = "__modes"
CLOCK_KEY = "__clock"
REQUESTS_KEY = "__requests"
# (request number in the session, modes switched on, shared clock state or None)
Start = tuple[int, Any, Any]


class StateStore(Protocol):
    shared: bool  # True when other processes see the same state (the clock is then kept here too)

    async def begin(self, session: str) -> Start:
        """At the start of a request: the session's next request number, the modes switched on
        (GLOBAL's MODES_KEY) and, for a shared store, the clock (GLOBAL's CLOCK_KEY)."""
        ...

    async def get(self, session: str, key: str, default: Any = None) -> Any: ...

    def peek(self, session: str, key: str, default: Any = None) -> Any:
        """The value when this process holds it, without waiting and without a copy (read it, never
        change it); `default` when it is absent or held elsewhere (a shared store always says so)."""
        ...

    async def set(self, session: str, key: str, value: Any, ttl_s: float | None = None) -> None: ...

    async def set_many(self, session: str, values: Mapping[str, Any]) -> None:
        """Set several keys (no time-to-live) at once: another process, or a reset, sees all of them or none."""
        ...

    async def incr(self, session: str, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        """Add to an integer (0 when absent) and return the new value, atomically."""
        ...

    async def compare_and_set(self, session: str, key: str, expected: Any, new: Any) -> bool:
        """Set `new` only if the current value equals `expected` (None: absent); True if set."""
        ...

    async def delete(self, session: str, key: str) -> None: ...

    async def keys(self, session: str, prefix: str = "") -> list[str]: ...

    async def clear(self, session: str | None = None) -> None:
        """Forget one session, or every session (GLOBAL included)."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise when the store does not answer (a Redis gone away); for the health check."""
        ...

    def exclusive(self, session: str, name: str) -> AbstractAsyncContextManager[object]:
        """Held while a request reads, checks and changes the session's `name` (an API's resources), so two at
        the same time are one after the other, in every process (a build polled twice counts two polls)."""
        ...


class MemoryStateStore:
    """In-process dicts; per worker (the server warns when --workers > 1 uses it).

    A long-lived server meets ever-new sessions (one per test, run after run): it holds the last
    `max_sessions` used (0: no bound) and forgets the least recently used beyond, with its deadlines
    and the modes switched on for it alone. A session comes back afresh (request number 1), as after
    `POST /__admin/reset?session=`; one in use is never the least recently used unless that many
    other sessions came since its last request. A key whose deadline passed goes when read, or in a
    sweep of its session's deadlines (as the session's count of them doubles past `SWEEP_FROM`)."""

    shared = False
    SWEEP_FROM = 64

    def __init__(self, clock: Clock, max_sessions: int = 0) -> None:
        self.clock = clock
        self.max_sessions = max_sessions
        self.data: dict[str, dict[str, Any]] = {}  # in order of last use (`begin` moves a session last)
        self.expiry: dict[str, dict[str, float]] = {}  # session -> key -> deadline

    async def begin(self, session: str) -> Start:
        data = self.data
        values = data.pop(session, None)
        if values is None:
            values = {}
            if self.max_sessions and len(data) - (GLOBAL in data) >= self.max_sessions:
                self._forget_least_recent()
        data[session] = values
        number = values.get(REQUESTS_KEY, 0) + 1
        values[REQUESTS_KEY] = number
        shared = data.get(GLOBAL)
        return number, shared.get(MODES_KEY) if shared else None, None

    def _forget_least_recent(self) -> None:
        oldest = next(s for s in self.data if s != GLOBAL)
        del self.data[oldest]
        self.expiry.pop(oldest, None)
        modes = self.data.get(GLOBAL, {}).get(MODES_KEY)
        if isinstance(modes, dict) and any(isinstance(a, dict) and a.get("session") == oldest for a in modes.values()):
            self.data[GLOBAL][MODES_KEY] = {k: a for k, a in modes.items()
                                            if not (isinstance(a, dict) and a.get("session") == oldest)}

    def _live(self, session: str, key: str) -> dict[str, Any]:
        values = self.data.get(session)
        if values is None:
            values = self.data[session] = {}
        if self.expiry and (deadlines := self.expiry.get(session)) and (deadline := deadlines.get(key)) is not None:
            if self.clock.now() >= deadline:
                values.pop(key, None)
                del deadlines[key]
        return values

    def _expire_at(self, session: str, key: str, ttl_s: float | None) -> None:
        if ttl_s is None:
            return
        deadlines = self.expiry.get(session)
        if deadlines is None:
            deadlines = self.expiry[session] = {}
        deadlines[key] = self.clock.now() + ttl_s
        count = len(deadlines)
        if count >= self.SWEEP_FROM and count & (count - 1) == 0:  # 64, 128, 256 ...: amortized O(1)
            now, values = self.clock.now(), self.data.get(session, {})
            for gone in [k for k, d in deadlines.items() if now >= d]:
                values.pop(gone, None)
                del deadlines[gone]

    async def get(self, session: str, key: str, default: Any = None) -> Any:
        value = self._live(session, key).get(key, default)
        return copy.deepcopy(value) if isinstance(value, dict | list) else value

    def peek(self, session: str, key: str, default: Any = None) -> Any:
        return self._live(session, key).get(key, default)

    async def set(self, session: str, key: str, value: Any, ttl_s: float | None = None) -> None:
        self._live(session, key)[key] = copy.deepcopy(value)
        if ttl_s is None:
            self.expiry.get(session, {}).pop(key, None)  # a value set without a time-to-live stays
        else:
            self._expire_at(session, key, ttl_s)

    async def set_many(self, session: str, values: Mapping[str, Any]) -> None:
        for key, value in values.items():  # one process, no await between: at once
            await self.set(session, key, value)

    async def incr(self, session: str, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        values = self._live(session, key)
        fresh = key not in values
        values[key] = int(values.get(key, 0)) + amount
        if fresh:
            self._expire_at(session, key, ttl_s)
        return int(values[key])

    async def compare_and_set(self, session: str, key: str, expected: Any, new: Any) -> bool:
        values = self._live(session, key)
        if values.get(key) != expected:
            return False
        values[key] = copy.deepcopy(new)
        return True

    async def delete(self, session: str, key: str) -> None:
        self.data.get(session, {}).pop(key, None)
        self.expiry.get(session, {}).pop(key, None)

    async def keys(self, session: str, prefix: str = "") -> list[str]:
        return sorted(k for k in list(self.data.get(session, {}))
                      if k.startswith(prefix) and k in self._live(session, k))

    async def clear(self, session: str | None = None) -> None:
        if session is None:
            self.data.clear()
            self.expiry.clear()
        else:
            self.data.pop(session, None)
            self.expiry.pop(session, None)

    async def close(self) -> None:
        pass

    async def ping(self) -> None:
        pass

    def exclusive(self, session: str, name: str) -> AbstractAsyncContextManager[object]:
        return _ALONE  # one process, and its calls never wait: nothing runs between a request's read and write


def open_store(url: str, clock: Clock, max_sessions: int = 0) -> StateStore:
    """`memory://` (holding `max_sessions` sessions, 0: all) or `redis://host:port/db` (also `rediss://`, `unix://`)."""
    if url.startswith("memory"):
        return MemoryStateStore(clock, max_sessions)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from mockserver.engine.redis_state import RedisStateStore

        return RedisStateStore(url, clock)
    raise ValueError(f"unknown state store {url!r} (memory:// or redis://HOST:PORT/DB)")
