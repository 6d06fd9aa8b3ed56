"""The one clock every time-based behaviour reads: real time plus an offset, or frozen.

`POST /__admin/clock` moves it, so tests of windows and expiries need no sleeping. The time a body
prints where no client compares it with its own clock (a resource's `created_at`) is `stamp`: the
session's own time line, so the same requests replay byte for byte in any process (GUIDE §2).
"""

from __future__ import annotations

import math
import re
import time
from email.utils import formatdate
from typing import Any

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
TIMELINE_EPOCH = 1735689600.0  # 2025-01-01T00:00:00Z: where every session's time line starts
LAST_INSTANT = 253402300799.0  # 9999-12-31T23:59:59Z: the last time a Date header (4-digit year) can print


def as_float(value: int | float) -> float:
    """A time or a count as a float; an integer past what a float holds is infinitely far, with its sign (a token's
    `exp` of 400 digits: never expires). float() of such an integer raises OverflowError."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def parse_duration(value: Any) -> float:
    """Seconds from `60`, `"60s"`, `"250ms"`, `"5m"`, `"1h"`; raises ValueError otherwise (and on a
    number no clock can move by: NaN, infinity, or `1e999`, which JSON reads as infinity)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if not isinstance(value, int) or abs(value) < 10**300 else math.inf
    else:
        found = _DURATION.match(str(value))
        if not found:
            raise ValueError(f"not a duration: {value!r} (use 60, '60s', '250ms', '5m', '1h')")
        seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite duration: {value!r} (use 60, '60s', '250ms', '5m', '1h')")
    if abs(seconds) > LAST_INSTANT:  # a mode's ttl of 1e300 s was a Retry-After of 301 digits
        raise ValueError(f"{value!r} lasts past the year 9999, the last a Date header prints")
    return seconds


class Clock:
    def __init__(self) -> None:
        self.offset_s = 0.0
        self.frozen_at: float | None = None
        # What `advance` added since the last reset: the time line's share of the offset. An unfrozen clock's offset
        # also holds the wall time of the unfreezing, which no other process (or a second run) shares.
        self.advanced_s = 0.0
        self._date: tuple[int, bytes] = (-1, b"")

    def now(self) -> float:
        """Seconds since the epoch, as the imitated APIs see it."""
        if self.frozen_at is not None:
            return self.frozen_at
        # a clock advanced close to the year 9999 runs past it: every Date header was then a traceback
        return min(time.time() + self.offset_s, LAST_INSTANT)

    def http_date(self) -> bytes:
        """The Date header (RFC 9110 6.6.1) at this clock's now, not the server's: a client that reads
        X-RateLimit-Reset, an expiry or a Retry-After against Date sees the time the answer was made in,
        moved or frozen clock alike. Formatted once per second."""
        second = int(self.now())
        if second != self._date[0]:
            self._date = (second, formatdate(second, usegmt=True).encode("ascii"))
        return self._date[1]

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def stamp(self, number: int) -> float:
        """The time of a session's request `number` as a body prints it: the frozen instant, else
        the time line's epoch plus one second per request plus what the clock was advanced, which
        no process's start time (nor the moment it was unfrozen) changes (same seed, same requests: same bytes)."""
        if self.frozen_at is not None:
            return self.frozen_at
        return min(TIMELINE_EPOCH + self.advanced_s + number, LAST_INSTANT)

    def advance(self, seconds: float) -> None:
        self.advanced_s += seconds
        if self.frozen_at is not None:
            self.frozen_at += seconds
        else:
            self.offset_s += seconds

    def freeze(self, at: float | None = None) -> None:
        self.frozen_at = self.now() if at is None else at

    def unfreeze(self) -> None:
        if self.frozen_at is not None:
            self.offset_s = self.frozen_at - time.time()
            self.frozen_at = None

    def reset(self) -> None:
        self.offset_s = 0.0
        self.frozen_at = None
        self.advanced_s = 0.0

    def state(self) -> dict[str, float | None]:
        """What a shared store keeps, so every process reads the same clock."""
        return {"offset_s": self.offset_s, "frozen_at": self.frozen_at, "advanced_s": self.advanced_s}

    def load(self, state: Any) -> None:
        """Take the shared clock's state from the store (None or malformed: the clock as at start)."""
        offset = state.get("offset_s") if isinstance(state, dict) else None
        frozen = state.get("frozen_at") if isinstance(state, dict) else None
        self.offset_s = float(offset) if isinstance(offset, int | float) else 0.0
        self.frozen_at = float(frozen) if isinstance(frozen, int | float) else None
        advanced = state.get("advanced_s") if isinstance(state, dict) else None
        self.advanced_s = float(advanced) if isinstance(advanced, int | float) else self.offset_s  # an older store's

    def describe(self) -> dict[str, float | bool]:
        return {"now": self.now(), "offset_s": self.offset_s, "frozen": self.frozen_at is not None}
