"""Helpers of the plugin's own tests: a sleep that moves the server's virtual clock instead of waiting."""

from __future__ import annotations

import time
import types
from typing import Any

import pytest

from mockserver.testing import MockServer

EDGE_EVENT = {"event": {"xdm": {"eventType": "web.webpagedetails.pageViews"}}}
BRAZE_KEY = {"Authorization": "Bearer key-1"}
BRAZE_TRACK = {"attributes": [{"external_id": "user-1", "plan": "gold"}]}


class VirtualSleep(list[float]):
    """Records each wait a client asked for and advances the virtual clock by it: the verdict measures
    waits on the virtual clock, so a client is judged on what it decided, at no cost in real time."""

    def __init__(self, mockserver: MockServer) -> None:
        super().__init__()
        self.mockserver = mockserver

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if seconds > 0:
            self.mockserver.clock.advance(seconds)

    def as_time_module(self) -> Any:
        """A stand-in for the `time` module of a retry library: its sleep is this one."""
        return types.SimpleNamespace(sleep=self, time=time.time, monotonic=time.monotonic,
                                     perf_counter=time.perf_counter)


@pytest.fixture
def virtual_sleep(mockserver: MockServer) -> VirtualSleep:
    return VirtualSleep(mockserver)


def findings(verdict: dict[str, Any]) -> list[tuple[str, list[int]]]:
    """(rule, journal entries) of each finding."""
    return [(f["rule"], f["entries"]) for f in verdict["findings"]]


def seqs(mockserver: MockServer, **query: Any) -> list[int]:
    return [e["seq"] for e in mockserver.requests(**query)]
