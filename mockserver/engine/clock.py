"""The one clock every time-based behaviour reads: real time plus an offset, or frozen.

`POST /__admin/clock` moves it, so tests of windows and expiries need no sleeping.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self) -> None:
        self.offset_s = 0.0
        self.frozen_at: float | None = None

    def now(self) -> float:
        """Seconds since the epoch, as the imitated APIs see it."""
        if self.frozen_at is not None:
            return self.frozen_at
        return time.time() + self.offset_s

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
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

    def describe(self) -> dict[str, float | bool]:
        return {"now": self.now(), "offset_s": self.offset_s, "frozen": self.frozen_at is not None}
