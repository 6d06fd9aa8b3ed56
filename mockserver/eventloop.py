"""uvloop, taking every waiting connection each time the listening socket is ready.

uvloop's own server (libuv) takes about four queued connections per turn of the loop, and under load each
turn is a batch of answers, so a burst of new connections waits its turn in the kernel's accept queue: the
64th connection of a wrk run (or of a test suite's pools opening together) got its first answer 250-500 ms
late while every other request took 15 ms, and wrk's p99 swung from 15 to 240 ms between identical runs
(docs/architecture.md). asyncio's own loop takes up to `backlog` at each wake-up; this does the same, then
hands each socket to uvloop's transports (`connect_accepted_socket`), so everything after the accept is
uvloop's as before. Only for one process: workers sharing a socket keep uvloop's own, or the first to wake
would take a whole burst.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

import uvloop

log = logging.getLogger("mockserver")

RETRY_AFTER_S = 1.0  # out of descriptors or memory: as asyncio's loop (constants.ACCEPT_RETRY_DELAY)
_SHORTAGE = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class EagerAcceptServer:
    """What uvicorn uses of `asyncio.Server` (close, wait_closed, sockets), accepting until the queue is empty."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol_factory: Callable[[], asyncio.BaseProtocol],
                 sock: socket.socket, backlog: int) -> None:
        self._loop = loop
        self._factory = protocol_factory
        self._sock = sock
        self._backlog = max(1, backlog)
        self._handshakes: set[asyncio.Task[Any]] = set()  # kept, or a task can be collected mid-way
        self._serving = False
        self._closed = False
        self.sockets = [sock]
        sock.setblocking(False)
        sock.listen(self._backlog)  # as both loops' own servers do: a socket given only bound listens here
        self._serve()

    def _serve(self) -> None:
        if not self._closed and not self._serving:
            self._loop.add_reader(self._sock.fileno(), self._accept)
            self._serving = True

    def _pause(self) -> None:
        if self._serving:
            self._loop.remove_reader(self._sock.fileno())
            self._serving = False

    def _accept(self) -> None:
        for _ in range(self._backlog):
            try:
                conn, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:  # the client gave up while queued: the next one
                continue
            except OSError as exc:
                if exc.errno not in _SHORTAGE:
                    raise
                log.error("cannot accept connections: %s; trying again in %g s", exc.strerror, RETRY_AFTER_S)
                self._pause()
                self._loop.call_later(RETRY_AFTER_S, self._serve)
                return
            conn.setblocking(False)
            task = self._loop.create_task(self._loop.connect_accepted_socket(self._factory, conn))
            self._handshakes.add(task)
            task.add_done_callback(self._handed_over)

    def _handed_over(self, task: asyncio.Task[Any]) -> None:
        self._handshakes.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # read, so that a client gone before its transport was made is not logged
        if exc is not None and not isinstance(exc, OSError):
            self._loop.call_exception_handler({"message": "cannot serve an accepted connection", "exception": exc})

    def close(self) -> None:
        self._pause()
        self._closed = True

    def is_serving(self) -> bool:
        return self._serving

    async def wait_closed(self) -> None:
        """Connections already handed over are the server's (uvicorn waits for them itself)."""


class EagerAcceptLoop(uvloop.Loop):
    """uvloop, except a server on a TCP socket given to it accepts as asyncio's loop does."""

    async def create_server(self, protocol_factory: Callable[[], asyncio.BaseProtocol], host: Any = None,
                            port: Any = None, *, sock: socket.socket | None = None, backlog: int = 100,
                            ssl: Any = None, **kwargs: Any) -> Any:
        if sock is None or ssl is not None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return await super().create_server(protocol_factory, host, port, sock=sock, backlog=backlog, ssl=ssl,
                                               **kwargs)
        return EagerAcceptServer(self, protocol_factory, sock, backlog)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop factory `mockserver serve` gives uvicorn (`Config(loop="mockserver.eventloop:new_event_loop")`)."""
    return EagerAcceptLoop()
