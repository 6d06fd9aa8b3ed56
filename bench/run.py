"""Load benchmark: the mock against a bare Starlette app returning the same bytes, in the same run.

Same server (uvicorn, uvloop + httptools, no access log), one worker each, run one after the other
so each gets the same two cores. Uses wrk when installed (Debian's `wrk`), else an asyncio load
generator. Prints requests/s and p99 for both and their ratios, and the mock's start-up time to
its first healthy answer. Not a test: nothing here asserts timings.

    python bench/run.py [--duration 10] [--connections 64] [--path /reactor/properties/PR1]
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
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--loop",
                                "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--path", default="/reactor/properties/PR1",
                        help="a documented-error route whose answer has templates (uuid, request id)")
    parser.add_argument("--rounds", type=int, default=2, help="alternate mock and bare this many times")
    parser.add_argument("--mock-args", default="", help="extra `mockserver serve` options, e.g. '--no-journal'")
    args = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") else "asyncio+httpx (install Debian's wrk for sharper figures)"
    mock_port, bare_port = free_port(), free_port()
    mock, startup_s = start_mock(mock_port, args.mock_args.split())
    startups = [startup_s]
    sample = httpx.get(f"http://127.0.0.1:{mock_port}{args.path}", headers=HEADERS)
    captured = {"status": sample.status_code, "body": sample.text,
                "headers": {k: v for k, v in sample.headers.items() if k in ("content-type",)}}
    bare = start_bare(bare_port, args.path, captured)
    results: dict[str, list[tuple[float, float, int]]] = {"mock": [], "bare": []}
    try:
        for _ in range(args.rounds):
            results["mock"].append(load(f"http://127.0.0.1:{mock_port}{args.path}", args.duration, args.connections))
            results["bare"].append(load(f"http://127.0.0.1:{bare_port}{args.path}", args.duration, args.connections))
    finally:
        mock.terminate()
        bare.terminate()
    for _ in range(4):
        process, seconds = start_mock(free_port())
        startups.append(seconds)
        process.terminate()
        process.wait()
    mock_rps = statistics.median(r[0] for r in results["mock"])
    bare_rps = statistics.median(r[0] for r in results["bare"])
    mock_p99 = statistics.median(r[1] for r in results["mock"])
    bare_p99 = statistics.median(r[1] for r in results["bare"])
    print(f"load generator: {tool}; {args.connections} connections, {args.duration}s x {args.rounds} rounds each")
    print(f"route: GET {args.path} -> {sample.status_code} ({len(sample.content)} bytes, templated)")
    print(f"bare Starlette : {bare_rps:9.0f} req/s   p99 {bare_p99:7.2f} ms")
    print(f"mockserver     : {mock_rps:9.0f} req/s   p99 {mock_p99:7.2f} ms")
    print(f"ratio          : throughput {mock_rps / bare_rps:.2f}x (target >= 0.8)   p99 {mock_p99 / bare_p99:.2f}x "
          f"(target <= 1.5)")
    print(f"socket errors  : mock {sum(r[2] for r in results['mock'])}, bare {sum(r[2] for r in results['bare'])}")
    print(f"start-up to first healthy answer: median {statistics.median(startups):.3f}s "
          f"(min {min(startups):.3f}s, max {max(startups):.3f}s; target <= 0.5s)")


if __name__ == "__main__":
    main()
