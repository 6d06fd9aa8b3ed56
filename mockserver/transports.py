"""How each server hands the client's connection to the app, for transport faults (engine/faults.py).

ASGI gives no socket, so each server gets a thin adapter that puts a `Connection` in
`scope["extensions"]["mockserver.transport"]`:

- uvicorn takes an HTTP protocol *class* (`Config(http=...)`): a subclass of its httptools protocol
  adds the extension to every request's scope and signals when the connection is lost.
- hypercorn has no such setting: every connection runs in its own task (`TCPServer.run`), and the
  app's task is spawned from it, so a subclass of `TCPServer` sets a context variable that the
  app wrapper reads. The subclass is put in the one place hypercorn's asyncio worker looks it up.

Both serve every fault kind over HTTP/1.1; over h2c (hypercorn) `reset`, `empty` and `malformed`
end the whole HTTP/2 connection, `truncate` ends it mid-body.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.engine.faults import TRANSPORT_EXTENSION, TransportConnection

FAULTS_BY_SERVER = {
    "uvicorn": ["reset", "empty", "malformed", "truncate", "slow"],
    "hypercorn": ["reset", "empty", "malformed", "truncate", "slow"],
}


class FaultingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the connection in each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._lost = asyncio.Event()
        self._connection = TransportConnection(transport, self._lost.wait)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._lost.set()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: dict[str, Any] = {TRANSPORT_EXTENSION: self._connection}
        self.scope["extensions"] = extensions


_CONNECTION: contextvars.ContextVar[TransportConnection | None] = contextvars.ContextVar(
    "mockserver_connection", default=None)


def install_hypercorn() -> None:
    """Make hypercorn's asyncio worker run each connection through `_FaultingTCPServer`."""
    import hypercorn.asyncio.run as hypercorn_run
    from hypercorn.asyncio.tcp_server import TCPServer

    if getattr(hypercorn_run.TCPServer, "mockserver", False):  # type: ignore[attr-defined]
        return

    class _FaultingTCPServer(TCPServer):
        mockserver = True

        async def run(self) -> None:
            writer = self.writer

            async def lost() -> None:
                try:
                    await writer.wait_closed()
                except (ConnectionError, OSError):
                    pass
                for _ in range(4):  # let the connection's task see the end and close its stream
                    await asyncio.sleep(0)

            _CONNECTION.set(TransportConnection(writer.transport, lost))
            await super().run()

    hypercorn_run.TCPServer = _FaultingTCPServer  # type: ignore[attr-defined]


class HypercornConnectionApp:
    """Wraps the app: the connection of the current hypercorn connection task into the scope."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        connection = _CONNECTION.get()
        if connection is not None and scope["type"] == "http":
            scope.setdefault("extensions", {})[TRANSPORT_EXTENSION] = connection
        await self.app(scope, receive, send)
