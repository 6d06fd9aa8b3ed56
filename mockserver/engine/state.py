"""State kept per session: sequences, quotas, resources. Every stateful behaviour goes through here.

`StateStore` is the interface; `MemoryStateStore` the default. A Redis store (the chaos issue)
implements the same five calls atomically, so callers never change. Values are JSON-like data.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from mockserver.engine.clock import Clock


class StateStore(Protocol):
    async def get(self, session: str, key: str, default: Any = None) -> Any: ...

    async def set(self, session: str, key: str, value: Any, ttl_s: float | None = None) -> None: ...

    async def incr(self, session: str, key: str, amount: int = 1, ttl_s: float | None = None) -> int:
        """Add to an integer (0 when absent) and return the new value, atomically."""
        ...

    async def compare_and_set(self, session: str, key: str, expected: Any, new: Any) -> bool:
        """Set `new` only if the current value equals `expected` (None: absent); True if set."""
        ...

    async def delete(self, session: str, key: str) -> None: ...

    async def keys(self, session: str, prefix: str = "") -> list[str]: ...

    async def clear(self, session: str | None = None) -> None:
        """Forget one session, or every session."""
        ...


class MemoryStateStore:
    """In-process dicts; per worker (the server warns when --workers > 1 uses it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.data: dict[str, dict[str, Any]] = {}
        self.expiry: dict[tuple[str, str], float] = {}

    def _live(self, session: str, key: str) -> dict[str, Any]:
        values = self.data.setdefault(session, {})
        if self.expiry and (deadline := self.expiry.get((session, key))) is not None:
            if self.clock.now() >= deadline:
                values.pop(key, None)
                del self.expiry[(session, key)]
        return values

    def _expire_at(self, session: str, key: str, ttl_s: float | None) -> None:
        if ttl_s is not None:
            self.expiry[(session, key)] = self.clock.now() + ttl_s

    async def get(self, session: str, key: str, default: Any = None) -> Any:
        value = self._live(session, key).get(key, default)
        return copy.deepcopy(value) if isinstance(value, dict | list) else value

    async def set(self, session: str, key: str, value: Any, ttl_s: float | None = None) -> None:
        self._live(session, key)[key] = copy.deepcopy(value)
        self._expire_at(session, key, ttl_s)

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
        self.expiry.pop((session, key), None)

    async def keys(self, session: str, prefix: str = "") -> list[str]:
        return sorted(k for k in list(self.data.get(session, {})) if k.startswith(prefix) and k in self._live(session, k))

    async def clear(self, session: str | None = None) -> None:
        if session is None:
            self.data.clear()
            self.expiry.clear()
        else:
            self.data.pop(session, None)
            self.expiry = {k: v for k, v in self.expiry.items() if k[0] != session}
