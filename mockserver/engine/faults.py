"""Transport faults, named as WireMock and Toxiproxy name them, served on the connection itself.

ASGI hands an application no socket, so each server adapter (mockserver/transports.py) puts a
`Connection` in `scope["extensions"]["mockserver.transport"]`. Without it (an in-process test
client, another ASGI server) only `slow` can be served, since it is plain ASGI.

- `reset`: TCP RST before any byte (SO_LINGER 0, then close).
- `empty`: close with no response.
- `malformed`: bytes that are not HTTP, then close.
- `truncate`: the answer's status line and headers with its full Content-Length, half the body
  (a documented error: `__error`'s, else the route's first, dispatch._error_to_truncate), then close.
- `slow`: the whole answer, the body dribbled out in small chunks over the delay.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

TRANSPORT_EXTENSION = "mockserver.transport"
ARRIVED_EXTENSION = "mockserver.arrived"  # time.time() when the server began reading the request (HTTP/1.1)
NEEDS_TRANSPORT = ("reset", "empty", "malformed", "truncate")
PLAIN_ASGI = ("slow",)
SLOW_DEFAULT_MS = 1000.0
SLOW_CHUNKS = 20
HANDOVER_TURNS = 8  # loop turns before a truncated answer's close: h2c needs a few to put the half body on the wire
MALFORMED_PREFIX = b"\x00\xffMOCKSERVER-MALFORMED "


class Connection(Protocol):
    """The client's connection, as a server adapter exposes it to the application."""

    def write(self, data: bytes) -> None: ...

    async def close(self) -> None:
        """Send what was written, then FIN; return once the server has seen the connection end."""
        ...

    async def reset(self) -> None:
        """RST at once: SO_LINGER with a zero timeout, then close."""
        ...


class TransportConnection:
    """A `Connection` over an asyncio transport; `lost()` returns once the server saw it close."""

    __slots__ = ("transport", "lost")

    def __init__(self, transport: asyncio.BaseTransport, lost: Callable[[], Awaitable[Any]]) -> None:
        self.transport = transport
        self.lost = lost

    def write(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]

    async def close(self) -> None:
        self.transport.close()
        await self.lost()

    async def reset(self) -> None:
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:  # already gone: nothing left to reset
                pass
        self.transport.abort()  # type: ignore[attr-defined]
        await self.lost()


def connection_of(scope: dict[str, Any]) -> Connection | None:
    extensions = scope.get("extensions")
    return extensions.get(TRANSPORT_EXTENSION) if extensions else None


def kinds_served(has_transport: bool) -> tuple[str, ...]:
    return NEEDS_TRANSPORT + PLAIN_ASGI if has_transport else PLAIN_ASGI


def malformed_bytes(noise: bytes) -> bytes:
    """Not HTTP: no status line a parser accepts, whatever it reads first."""
    return MALFORMED_PREFIX + noise + b"\r\n\r\n"


def watch_departure(receive: Any) -> asyncio.Task[None]:
    """Done once the client has gone (ASGI's `http.disconnect`): a wait raced against it ends early. Call it once
    the request's body was read; what `receive` still gives before the end (an empty body) is passed over. A client
    that only shuts its sending side is gone too: a server cannot tell that FIN from a close (uvicorn drops the
    connection on it; hypercorn says disconnect), and a client that timed out sends just that."""

    async def departed() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    return asyncio.ensure_future(departed())


async def waited(seconds: float, departure: asyncio.Task[None]) -> bool:
    """Wait `seconds`; False as soon as the client has gone (a client that timed out during a `__delay` or a slow
    answer: nothing more is sent, and the journal says so at once). In-process test clients never depart."""
    done, _ = await asyncio.wait((departure,), timeout=seconds)
    return not done


def cut_status_line(status: int) -> bytes:
    """What `truncate` sends of an answer without a body (HEAD, 204, 304) over HTTP/1.1: its status line cut after the
    status's first digit. Half a head was read as a whole answer by curl and requests (the last header cut short),
    and the whole head with a short Content-Length too (a bodiless answer has no body to wait for)."""
    return b"HTTP/1.1 " + str(status).encode()[:1]


def no_status_line(kind: str, body: bytes, http2: bool) -> bool:
    """Whether a fault ends the connection before any status line reached the client (the journal's status 0)."""
    return kind in ("reset", "empty", "malformed") or (kind == "truncate" and not body and not http2)


async def serve_fault(kind: str, connection: Connection | None, send: Any, status: int,
                      headers: list[tuple[bytes, bytes]], body: bytes, delay_ms: float, noise: bytes,
                      receive: Any, http2: bool = False) -> bool:
    """Answer with a fault; False when the client left before anything was sent (a slow answer without a body).
    `headers` already hold the true Content-Length of `body`; `http2` says the head goes out as HEADERS (h2c), so
    a bodiless answer is truncated as the others are, not by a cut HTTP/1.1 status line."""
    if kind == "slow":
        departure = watch_departure(receive)
        try:
            return await _dribble(send, status, headers, body, delay_ms or SLOW_DEFAULT_MS, departure)
        finally:
            departure.cancel()
    if connection is None:  # checked before: a fault needing the socket is refused as misuse
        raise RuntimeError(f"fault {kind} needs the connection")
    if kind == "reset":
        await connection.reset()
    elif kind == "empty":
        await connection.close()
    elif kind == "malformed":
        connection.write(malformed_bytes(noise))
        await connection.close()
    elif kind == "truncate" and not body and not http2:  # nothing to cut short but the head itself
        connection.write(cut_status_line(status))
        await connection.close()
    elif kind == "truncate":
        promised = [(k, v) for k, v in headers if k != b"content-length"]
        promised.append((b"content-length", str(max(len(body), 2)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": promised})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        for _ in range(HANDOVER_TURNS):  # hypercorn's h2c writes a stream's DATA from its own task: let it run
            await asyncio.sleep(0)
        await connection.close()
    else:  # pragma: no cover - flags.py admits only FAULT_KINDS
        raise ValueError(kind)
    return True


async def _dribble(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes, over_ms: float,
                   departure: asyncio.Task[None]) -> bool:
    if not body:  # no body to dribble (HEAD, 204, 304): the whole answer comes late, not its nothing
        if not await waited(over_ms / 1000, departure):
            return False
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return True
    await send({"type": "http.response.start", "status": status, "headers": headers})
    count = max(1, min(len(body), SLOW_CHUNKS))
    pause = over_ms / 1000 / count
    for index in range(count):  # even cuts: no chunk is empty, so the last byte comes with the last pause
        if not await waited(pause, departure):
            return True  # the client left once the head had reached it: the rest would go nowhere
        chunk = body[len(body) * index // count:len(body) * (index + 1) // count]
        await send({"type": "http.response.body", "body": chunk, "more_body": index < count - 1})
    return True
