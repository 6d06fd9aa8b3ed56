"""SIGHUP with --workers N under load: the workers are replaced and no request goes unanswered.

An audit sent 20 clients' requests (new connections and keep-alive ones) across two SIGHUPs: uvicorn left 17 on new
connections and 1-2 on reused ones with no answer, hypercorn 21 and 1, and a `__delay` in flight was cut after the
3 s grace of a stop. nginx and gunicorn replace their workers without that: the new ones take the listening socket's
connections, then the old ones stop accepting and finish what they hold.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
CLIENTS = 20  # threads: half on one keep-alive connection each, half on a new connection per request
PATH = "/dcs/event?d_mid=1"
DELAYED = 4  # requests in flight when the old workers are told to stop: a delay past the 3 s grace of a stop


def workers_of(pid: int) -> set[int]:
    """The server's worker processes: its children that multiprocessing spawned (not its resource tracker)."""
    workers = set()
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(int(child))
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile (ESRCH once it is a zombie being reaped)
            pass
    return workers


class Load:
    """CLIENTS threads sending until stopped; every outcome counted by the kind of connection it came on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stopped = threading.Event()
        self.outcomes: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.send, args=(reused,), daemon=True)
                        for reused in [True, False] * (CLIENTS // 2)]

    def count(self, kind: str, outcome: str) -> None:
        with self.lock:
            self.outcomes[f"{kind} {outcome}"] += 1

    def send(self, reused: bool) -> None:
        kind = "reused" if reused else "new"
        with httpx.Client(timeout=30) as kept:
            while not self.stopped.is_set():
                try:
                    if reused:
                        response = kept.get(self.url + PATH)
                    else:  # a client of its own: a connection of its own, closed after the answer
                        with httpx.Client(timeout=30) as once:
                            response = once.get(self.url + PATH)
                except httpx.HTTPError as exc:
                    self.count(kind, type(exc).__name__)
                else:
                    self.count(kind, str(response.status_code))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def answered(self) -> int:
        with self.lock:
            return sum(n for outcome, n in self.outcomes.items() if outcome.endswith(" 200"))


def replaced(pid: int, before: set[int], timeout: float = 60) -> set[int]:
    """The workers once none of `before` is left (the old ones have finished what they held) and two new ones are."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = workers_of(pid)
        if not (now & before) and len(now) >= 2:
            return now
        time.sleep(0.1)
    raise AssertionError(f"workers {sorted(before)} not replaced within {timeout} s: {sorted(workers_of(pid))}")


def spawned(pid: int, before: set[int], timeout: float = 20) -> None:
    """Once the new workers' processes exist (they read the files, then listen: meanwhile only the old ones accept)."""
    deadline = time.monotonic() + timeout
    while not workers_of(pid) - before and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_sighup_with_workers_answers_every_request_under_load(start_server, server_name):
    """Two SIGHUPs while 20 clients send: every request is answered 200, on new connections and on reused ones; and
    requests with a `__delay` longer than a stop's grace, sent to the old workers once the new ones are starting, are
    answered too (the old workers finish them before they end)."""
    server = start_server("--server", server_name, "--workers", "2", wait=False)
    server.wait_healthy(timeout=30)
    pid = server.process.pid
    time.sleep(1)  # both workers have taken the socket (the health answer came from one)
    workers = workers_of(pid)
    with Load(server.url) as load, ThreadPoolExecutor(DELAYED) as pool:
        server.process.send_signal(signal.SIGHUP)
        spawned(pid, workers)
        delayed = [pool.submit(httpx.get, server.url + PATH + "&__delay=8000", timeout=30) for _ in range(DELAYED)]
        workers = replaced(pid, workers)
        served = load.answered()
        server.process.send_signal(signal.SIGHUP)
        replaced(pid, workers)
        time.sleep(0.5)  # the new workers answer
        assert load.answered() > served, "the clients were answered after the second SIGHUP too"
    output = server.stop()
    outcomes = dict(load.outcomes)
    assert {outcome.split()[1] for outcome in outcomes} == {"200"}, (outcomes, output)
    assert outcomes.get("new 200", 0) > 100 and outcomes.get("reused 200", 0) > 100, outcomes
    assert [future.result().status_code for future in delayed] == [200] * DELAYED
    assert "Traceback" not in output, output


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_a_worker_killed_by_a_signal_is_replaced(start_server, server_name):
    """`kill -9` of one worker (or the OOM killer): another takes its place and the server serves on, as uvicorn's
    supervisor does; hypercorn's stopped every worker and exited 0, saying nothing."""
    server = start_server("--server", server_name, "--workers", "2", wait=False)
    server.wait_healthy(timeout=30)
    pid = server.process.pid
    time.sleep(1)
    workers = workers_of(pid)
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (len(workers_of(pid) - {victim}) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.process.poll() is None, server.stop()
    assert len(workers_of(pid) - {victim}) == 2
    assert all(httpx.get(server.url + PATH, timeout=10).status_code == 200 for _ in range(10))
    output = server.stop()
    assert server.process.returncode == 0 and "Traceback" not in output, output
