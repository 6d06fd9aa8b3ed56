"""Delay benchmark: 1,000 concurrent requests with `__delay=200` against a bare app that sleeps 200 ms.

Both on uvicorn (uvloop + httptools), one worker, in the same run, bursts alternated: each burst
opens 1,000 connections at once, sends one request on each and reads the answer whole (raw asyncio
sockets, so the load generator stays light); one burst each first warms the apps up. Prints, for
each app, the throughput of a burst (requests / time from the first connect to the last answer),
p50 and p99 latency, and errors (failed connections and answers other than 200), then the
mock/bare ratios (targets: throughput >= 0.9x, p99 <= 1.1x). Not a test: nothing here asserts timings.

    python bench/delay.py [--concurrency 1000] [--delay 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HEADERS, free_port, start_bare, start_mock  # noqa: E402

PATH = "/braze/campaigns/list"


async def one(port: int, target: str, latencies: list[float], errors: list[str]) -> None:
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        writer.write(f"GET {target} HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode())
        answer = await reader.read()
        writer.close()
    except OSError as exc:
        errors.append(type(exc).__name__)
        return
    if not answer.startswith(b"HTTP/1.1 200"):
        errors.append(answer[:12].decode("latin-1", "replace") or "empty")
        return
    latencies.append(time.perf_counter() - started)


async def burst(port: int, target: str, concurrency: int) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(one(port, target, latencies, errors) for _ in range(concurrency)))
    return concurrency / (time.perf_counter() - started), latencies, errors


def p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--delay", type=int, default=200, help="milliseconds, for both apps")
    parser.add_argument("--rounds", type=int, default=5, help="bursts per app, alternated")
    args = parser.parse_args()
    mock_port, bare_port = free_port(), free_port()
    mock, _ = start_mock(mock_port)
    os.environ["BARE_SLEEP_MS"] = str(args.delay)
    bare = start_bare(bare_port, PATH, {"status": 200, "body": '{"message":"success","campaigns":[]}',
                                        "headers": {"content-type": "application/json"}})
    results: dict[str, list[tuple[float, list[float], list[str]]]] = {"mock": [], "bare": []}
    try:
        asyncio.run(burst(mock_port, f"{PATH}?__delay={args.delay}", args.concurrency))  # warm-up, not counted
        asyncio.run(burst(bare_port, PATH, args.concurrency))
        for _ in range(args.rounds):
            results["mock"].append(asyncio.run(burst(mock_port, f"{PATH}?__delay={args.delay}", args.concurrency)))
            results["bare"].append(asyncio.run(burst(bare_port, PATH, args.concurrency)))
    finally:
        mock.terminate()
        bare.terminate()
    summary = {}
    for name, runs in results.items():
        rps = statistics.median(r[0] for r in runs)
        latencies = [x for r in runs for x in r[1]]
        errors = [x for r in runs for x in r[2]]
        summary[name] = (rps, p(latencies, 50), p(latencies, 99), errors)
    print(f"{args.concurrency} concurrent requests per burst, {args.rounds} bursts each, delay {args.delay} ms, "
          f"GET {PATH} (200), uvicorn, one worker")
    for name, label in (("bare", "bare Starlette (sleep)"), ("mock", "mockserver (__delay)")):
        rps, p50, p99, errors = summary[name]
        print(f"{label:24}: {rps:7.0f} req/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   errors {len(errors)}"
              + (f" ({', '.join(sorted(set(errors)))})" if errors else ""))
    mock_rps, _, mock_p99, _ = summary["mock"]
    bare_rps, _, bare_p99, _ = summary["bare"]
    print(f"ratio                   : throughput {mock_rps / bare_rps:.2f}x (target >= 0.9)   "
          f"p99 {mock_p99 / bare_p99:.2f}x (target <= 1.1)")


if __name__ == "__main__":
    main()
