"""Shared fixtures: an in-process client over ASGI, and real server processes on free ports."""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import apis
from mockserver.apis import CheckResult
from mockserver.app import build_app
from mockserver.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# The cache of files found valid lives in a folder of this test run, not the user's ~/.cache; the
# process that made it removes it at exit (xdist workers inherit the variable, and make none).
if "MOCKSERVER_CACHE_DIR" not in os.environ:
    os.environ["MOCKSERVER_CACHE_DIR"] = tempfile.mkdtemp(prefix="mockserver-cache-")
    atexit.register(shutil.rmtree, os.environ["MOCKSERVER_CACHE_DIR"], ignore_errors=True)


UNDECLARED: list[str] = []  # what a check returned that its @check(errors=...) does not declare


def declared_only(name: str, func: apis.Check) -> apis.Check:
    """`func`, noting any error id it returns outside its declared `errors=`: `__code` and the loader trust that list,
    and a check that outgrew it (edge.payload's four 400s, session 18) showed nowhere until someone asked by flag."""
    declared = frozenset(apis.CHECK_ERRORS[name])

    def note(verdict: Any) -> Any:
        if isinstance(verdict, list):
            UNDECLARED.extend(f"{name} returned '{ref.id}'" for ref in verdict if ref.id not in declared)
        return verdict

    def guarded(ctx: Any, args: Any) -> CheckResult:
        return note(func(ctx, args))  # type: ignore[no-any-return]

    async def guarded_async(ctx: Any, args: Any) -> CheckResult:
        return note(await func(ctx, args))  # type: ignore[misc,no-any-return]

    return guarded_async if inspect.iscoroutinefunction(func) else guarded  # CheckCall awaits by this


# Wrapped before any test builds an app: the loader binds a check's function when it compiles a `when:`.
apis.load_api_modules()
for _name, _func in list(apis.CHECKS.items()):
    apis.CHECKS[_name] = declared_only(_name, _func)


@pytest.fixture(autouse=True)
def checks_answer_declared_errors() -> Iterator[None]:
    """Every request of every in-process test also checks that checks keep to their declared errors."""
    del UNDECLARED[:]
    yield
    assert not UNDECLARED, f"undeclared in @check(errors=...): {sorted(set(UNDECLARED))}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DecodedOnce:
    """The app as a server hands it requests. Starlette's TestClient (1.10) decodes a path twice (httpx's
    `URL.path`, then `unquote`): `/items/%2500` reached the app as `/items/\\x00`, where uvicorn and
    hypercorn give `/items/%00` (`raw_path` decoded once). Everything else is the app's (`client.app.runtime`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"%" in scope["raw_path"]:
            scope = {**scope, "path": unquote(scope["raw_path"].decode("ascii"))}
        await self.app(scope, receive, send)


def asgi_client(app: Any, **kwargs: Any) -> TestClient:
    """A TestClient of `app` at the address the mock's own examples use, paths decoded once (`DecodedOnce`)."""
    return TestClient(DecodedOnce(app), base_url="http://127.0.0.1:8080", **kwargs)


@pytest.fixture
def make_client() -> Iterator:
    """Build an app from settings and talk to it over ASGI (lifespan included)."""
    clients: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        client = asgi_client(build_app(Settings(**settings)))  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:  # type: ignore[no-untyped-def]
    return make_client()


class ServerProcess:
    def __init__(self, args: list[str], port: int, env: dict[str, str] | None = None,
                 executable: list[str] | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        command = (executable or [sys.executable, "-m", "mockserver"]) + ["serve", "--port", str(port), *args]
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})

    def wait_healthy(self, timeout: float = 10.0) -> float:
        """Seconds from process start to the first 200 from /__admin/health."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{output}")
            try:
                if httpx.get(self.url + "/__admin/health", timeout=0.5).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"no healthy answer within {timeout}s")

    def stop(self) -> str:
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out.decode() if out else ""


def serving(*args: str, timeout: float = 20.0) -> Iterator[ServerProcess]:
    """A served mock for a module-scoped fixture (`yield from serving(...)`): healthy, then stopped."""
    process = ServerProcess(list(args), free_port())
    try:
        process.wait_healthy(timeout=timeout)
        yield process
    finally:
        process.stop()


def npm_installed(folder: Path, *packages: str) -> Path:
    """These npm packages installed in `folder` (a real client of an API); the test is skipped when npm cannot
    install them (offline)."""
    try:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", *packages], cwd=folder, check=True,
                       capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as failed:
        pytest.skip(f"npm install {' '.join(packages)} failed: {failed}")
    return folder


def serving_files(folder: Path, files: dict[str, str]) -> Iterator[ServerProcess]:
    """A served mock with these scenario files (name -> text), written in `folder`, after the bundled ones."""
    for name, text in files.items():
        (folder / name).write_text(text)
    yield from serving("--scenarios", str(folder))


@pytest.fixture
def start_server() -> Iterator:
    servers: list[ServerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, executable: list[str] | None = None,
              wait: bool = True) -> ServerProcess:
        server = ServerProcess(list(args), free_port(), env, executable)
        servers.append(server)
        if wait:
            server.wait_healthy()
        return server

    yield start
    for server in servers:
        server.stop()
