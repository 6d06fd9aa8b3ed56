"""Python instructions per request: the mock against a bare Starlette app returning the same bytes.

The load benchmark (run.py) is the real measure, but on these shared VMs one run's ratio is good to
about ±0.05 (docs/architecture.md, Speed). This one is deterministic: both apps run in this process,
called through ASGI with the same scope as wrk's requests, and `sys.settrace` counts the bytecode
instructions and Python calls each request executes (C code, such as BLAKE2b or json, counts as the
one instruction that calls it). The figure is the same on every run, give or take the few instructions
that format the Date header again when the second changes. So a change to the hot path shows its
cost here even when the load benchmark cannot tell it from noise. Not a test: nothing asserts.

    python bench/instructions.py [--requests 200] [--path /reactor/properties/PR1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_app import make_app  # noqa: E402
from run import ANSWERED, HEADERS, ROUTES  # noqa: E402

from mockserver.app import build_app  # noqa: E402
from mockserver.settings import Settings  # noqa: E402

WIRE_HEADERS = [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
WIRE_HEADERS += [(b"user-agent", b"wrk"), (b"accept", b"*/*")]

Asgi = Callable[..., Any]


def scope(target: str) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": list(WIRE_HEADERS), "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}


async def request(app: Asgi, target: str) -> list[dict[str, Any]]:
    """One request through the app, as a server makes it; the messages it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope(target), receive, send)
    return sent


async def started(app: Asgi) -> asyncio.Queue[dict[str, Any]]:
    """The lifespan startup a server runs before the first request (the mock answers 503 until then); the
    queue the shutdown is put on."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    asyncio.get_running_loop().create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get,
                                               replies.put))
    await replies.get()
    return inbox


def count(loop: asyncio.AbstractEventLoop, app: Asgi, target: str, requests: int) -> tuple[float, float]:
    """Instructions and Python calls per request, after a warm-up (caches filled, as under load)."""
    for _ in range(200):
        loop.run_until_complete(request(app, target))
    instructions = calls = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal instructions, calls
        if event == "opcode":
            instructions += 1
        elif event == "call":
            calls += 1
            frame.f_trace_opcodes = True
        return trace

    async def many() -> None:
        for _ in range(requests):
            await request(app, target)

    coroutine = many()
    sys.settrace(trace)
    try:
        loop.run_until_complete(coroutine)
    finally:
        sys.settrace(None)
    # The driver's own share (many(), request(), receive, send) is the same for both apps: measured alone, taken off.
    return instructions / requests, calls / requests


def measure(loop: asyncio.AbstractEventLoop, mock: Asgi, target: str, requests: int) -> dict[str, Any]:
    answer = loop.run_until_complete(request(mock, target))
    start, body = answer[0], b"".join(m.get("body", b"") for m in answer[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"] if k.decode() in ANSWERED}
    bare = make_app({"status": start["status"], "headers": headers, "body": body.decode()}, target.partition("?")[0])
    mock_counts, bare_counts = count(loop, mock, target, requests), count(loop, bare, target, requests)
    floor = count(loop, _driver_only, target, requests)
    return {"status": start["status"], "size": len(body), "mock": mock_counts, "bare": bare_counts, "driver": floor}


async def _driver_only(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """No app at all: what the driver costs per request, taken off both sides."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests counted per app and route")
    parser.add_argument("--path", default=None, help="one route instead of run.py's set")
    args = parser.parse_args()
    routes = [("as asked", args.path)] if args.path else ROUTES
    loop = asyncio.new_event_loop()
    mock = build_app(Settings())
    lifespan = loop.run_until_complete(started(mock))
    print(f"instructions (Python bytecodes) and Python calls per request, {args.requests} requests per app, "
          "in-process through ASGI, the driver's own share taken off")
    print(f"{'route':38s} {'answer':>12s} {'bare instr':>10s} {'mock instr':>10s} {'ratio':>6s} "
          f"{'bare calls':>10s} {'mock calls':>10s}")
    for label, target in routes:
        r = measure(loop, mock, target, args.requests)
        (mock_i, mock_c), (bare_i, bare_c), (drv_i, drv_c) = r["mock"], r["bare"], r["driver"]
        mock_i, mock_c, bare_i, bare_c = mock_i - drv_i, mock_c - drv_c, bare_i - drv_i, bare_c - drv_c
        print(f"{label:38s} {r['status']!s:>5s} {r['size']!s:>4s} B {bare_i:10.0f} {mock_i:10.0f} "
              f"{mock_i / bare_i:5.2f}x {bare_c:10.0f} {mock_c:10.0f}")
        print(f"  GET {target}")
    loop.run_until_complete(lifespan.put({"type": "lifespan.shutdown"}))
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()


if __name__ == "__main__":
    main()
