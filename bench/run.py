"""Load benchmark: the mock against a bare Starlette app returning the same bytes, in the same run.

Same server (uvicorn, uvloop + httptools, no access log), one worker each, run one after the other
so each gets the same two cores. Uses wrk when installed (Debian's `wrk`), else an asyncio load
generator. Prints requests/s and p99 for both and their ratios, and the mock's start-up time to
its first healthy answer. Not a test: nothing here asserts timings.

    python bench/run.py [--duration 8] [--rounds 3] [--connections 64] [--path /reactor/properties/PR1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"Authorization": "Bearer bench-token", "x-api-key": "bench", "Host": "bench.local"}
ANSWERED = ("content-type", "x-error")  # the mock's headers the bare app repeats (the rest are its own work)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, started: float, timeout: float = 15.0) -> float:
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return time.monotonic() - started
        except httpx.HTTPError:
            time.sleep(0.01)
    raise TimeoutError(url)


def start_mock(port: int, extra: list[str] | None = None) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", str(port), *(extra or [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, wait_healthy(f"http://127.0.0.1:{port}/__admin/health", started)


def start_bare(port: int, path: str, captured: dict[str, object]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BARE_RESPONSE": json.dumps(captured), "BARE_PATH": path, "PYTHONPATH": str(ROOT / "bench")}
    # As `mockserver serve` runs uvicorn: no access log, no Server header of its own.
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--loop",
                                "uvloop", "--http", "httptools", "--no-access-log", "--no-server-header",
                                "--log-level", "warning"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(f"http://127.0.0.1:{port}{path}", time.monotonic())
    return process


def run_wrk(url: str, duration: int, connections: int) -> tuple[float, float, int]:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in HEADERS.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99_text = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99_text, out
    p99_ms = float(p99_text.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_text.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures = sum(int(x) for x in socket_errors.groups()) if socket_errors else 0
    del errors  # documented errors are 4xx by design
    return rps, p99_ms, failures


async def _asyncio_load(url: str, duration: int, connections: int) -> tuple[float, float, int]:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers=HEADERS) as client:
        async def worker() -> None:
            nonlocal failures
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    await client.get(url)
                    latencies.append(time.perf_counter() - start)
                except httpx.HTTPError:
                    failures += 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - began
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 100 else float("nan")
    return len(latencies) / elapsed, p99, failures


def load(url: str, duration: int, connections: int) -> tuple[float, float, int]:
    if shutil.which("wrk"):
        return run_wrk(url, duration, connections)
    return asyncio.run(_asyncio_load(url, duration, connections))


# (what it shows, path and query). The first is the route the targets are read on: a documented
# error reached naturally (an unknown id), with a template (uuid, request id) and a state lookup.
ROUTES = [
    ("reactor not-found, natural (targets)", "/reactor/properties/PR1"),
    ("braze 429, by __error flag", "/braze/campaigns/list?__error=rate-limited"),
    ("dcs X-Error 2, unknown org, natural", "/dcs/event?d_mid=1&d_rtbd=json&d_orgid=x"),
]


def measure_route(mock_port: int, path: str, args: argparse.Namespace) -> dict[str, object]:
    """Mock and bare alternately, `rounds` times; the ratios are taken round by round (paired), then
    their median, so a machine that slows down during the run weighs on both sides alike."""
    sample = httpx.get(f"http://127.0.0.1:{mock_port}{path}", headers=HEADERS)
    captured = {"status": sample.status_code, "body": sample.text,
                "headers": {k: v for k, v in sample.headers.items() if k in ANSWERED}}
    bare_port = free_port()
    bare = start_bare(bare_port, path.split("?", 1)[0], captured)
    mock_runs: list[tuple[float, float, int]] = []
    bare_runs: list[tuple[float, float, int]] = []
    try:
        for _ in range(args.rounds):
            mock_runs.append(load(f"http://127.0.0.1:{mock_port}{path}", args.duration, args.connections))
            bare_runs.append(load(f"http://127.0.0.1:{bare_port}{path}", args.duration, args.connections))
    finally:
        bare.terminate()
        bare.wait()
    return {
        "status": sample.status_code, "size": len(sample.content),
        "mock_rps": statistics.median(r[0] for r in mock_runs), "bare_rps": statistics.median(r[0] for r in bare_runs),
        "mock_p99": statistics.median(r[1] for r in mock_runs), "bare_p99": statistics.median(r[1] for r in bare_runs),
        "rps_ratio": statistics.median(m[0] / b[0] for m, b in zip(mock_runs, bare_runs, strict=True)),
        "p99_ratio": statistics.median(m[1] / b[1] for m, b in zip(mock_runs, bare_runs, strict=True)),
        "errors": sum(r[2] for r in mock_runs + bare_runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--path", default=None,
                        help="one route instead of the default set (a documented error with templates is the point)")
    parser.add_argument("--rounds", type=int, default=3, help="alternate mock and bare this many times per route")
    parser.add_argument("--mock-args", default="", help="extra `mockserver serve` options, e.g. '--no-journal'")
    args = parser.parse_args()
    routes = [("as asked", args.path)] if args.path else ROUTES
    tool = "wrk" if shutil.which("wrk") else "asyncio+httpx (install Debian's wrk for sharper figures)"
    mock_port = free_port()
    mock, startup_s = start_mock(mock_port, args.mock_args.split())
    startups = [startup_s]
    try:
        results = [(label, path, measure_route(mock_port, path, args)) for label, path in routes]
    finally:
        mock.terminate()
        mock.wait()
    for _ in range(4):
        process, seconds = start_mock(free_port())
        startups.append(seconds)
        process.terminate()
        process.wait()
    print(f"load generator: {tool}; {args.connections} connections, {args.duration}s x {args.rounds} rounds per side; "
          "one uvicorn worker (uvloop, httptools) each; ratios: median of the rounds' mock/bare")
    print(f"{'route':38s} {'answer':>12s} {'bare req/s':>10s} {'mock req/s':>10s} {'ratio':>6s} "
          f"{'bare p99':>9s} {'mock p99':>9s} {'ratio':>6s}")
    for label, path, r in results:
        print(f"{label:38s} {r['status']!s:>5s} {r['size']!s:>4s} B {r['bare_rps']:10.0f} {r['mock_rps']:10.0f} "
              f"{r['rps_ratio']:5.2f}x {r['bare_p99']:7.2f}ms {r['mock_p99']:7.2f}ms {r['p99_ratio']:5.2f}x")
        print(f"  GET {path}" + (f"   socket errors: {r['errors']}" if r["errors"] else ""))
    first = results[0][2]
    print(f"targets (first route): throughput {first['rps_ratio']:.2f}x (>= 0.8), "
          f"p99 {first['p99_ratio']:.2f}x (<= 1.5)")
    print(f"start-up to first healthy answer: median {statistics.median(startups):.3f}s "
          f"(min {min(startups):.3f}s, max {max(startups):.3f}s; target <= 0.5s)")


if __name__ == "__main__":
    main()
