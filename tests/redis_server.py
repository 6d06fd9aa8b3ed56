"""A throwaway redis-server on a free loopback port, for the tests of the shared state store."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.conftest import free_port

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed (Debian: apt-get install "
                                 "redis-server; .ci/system-packages installs it in CI)")


class RedisProcess:
    def __init__(self, port: int | None = None) -> None:
        """A new redis-server, empty; on `port` to start one again where one was stopped (a Redis restarted)."""
        assert REDIS_SERVER is not None
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--protected-mode", "yes"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def flush(self) -> None:
        with redis.Redis(port=self.port) as client:
            client.flushdb()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def redis_process() -> Iterator[RedisProcess]:
    server = RedisProcess()
    try:
        yield server
    finally:
        server.stop()
