"""The event loop `mockserver serve` runs on: uvloop, taking every queued connection when the socket is ready.

Counted in turns of the loop, not in time: uvloop's own server took about four connections per turn, so
the fortieth of a burst waited ten turns (ten batches of answers, under load) before its first byte was read.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from mockserver import eventloop
from mockserver.eventloop import EagerAcceptServer, new_event_loop

BURST = 40


MADE: list[Any] = []  # the transport of every connection a protocol was made for (uvloop's own classes)


class Upper(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        MADE.append(transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data.upper())


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    MADE.clear()
    event_loop = new_event_loop()
    yield event_loop
    for transport in MADE:
        transport.close()
    event_loop.run_until_complete(asyncio.sleep(0.01))
    event_loop.close()


def listening(sock_type: type[socket.socket] = socket.socket) -> socket.socket:
    sock = sock_type(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def turns(loop: asyncio.AbstractEventLoop, count: int) -> None:
    for _ in range(count):
        loop.run_until_complete(asyncio.sleep(0))


def serve(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> EagerAcceptServer:
    server = loop.run_until_complete(loop.create_server(Upper, sock=sock, backlog=128))
    assert isinstance(server, EagerAcceptServer)
    return server


def test_a_burst_of_queued_connections_is_taken_in_one_turn_and_each_is_served(
        loop: asyncio.AbstractEventLoop) -> None:
    sock = listening()
    server = serve(loop, sock)
    clients = [socket.create_connection(sock.getsockname()) for _ in range(BURST)]
    turns(loop, 2)  # the accept, then the handshake tasks that call connection_made
    assert len(MADE) == BURST
    for client in clients:
        client.sendall(b"ping")
    turns(loop, 3)
    for client in clients:
        client.settimeout(5)
        assert client.recv(16) == b"PING"
        client.close()
    server.close()
    sock.close()


def test_uvloops_own_server_for_comparison_takes_a_few_per_turn() -> None:
    """Why the module exists; if a uvloop release takes them all, eventloop.py can go."""
    import uvloop

    MADE.clear()
    stock = uvloop.new_event_loop()
    sock = listening()
    server = stock.run_until_complete(stock.create_server(Upper, sock=sock, backlog=128))
    clients = [socket.create_connection(sock.getsockname()) for _ in range(BURST)]
    turns(stock, 2)
    taken = len(MADE)
    for transport in MADE:
        transport.close()
    server.close()
    for client in clients:
        client.close()
    stock.run_until_complete(asyncio.sleep(0.01))
    stock.close()
    assert taken < BURST


def test_after_close_no_connection_is_taken(loop: asyncio.AbstractEventLoop) -> None:
    sock = listening()
    server = serve(loop, sock)
    assert server.is_serving()
    server.close()
    assert not server.is_serving()
    loop.run_until_complete(server.wait_closed())
    late = socket.create_connection(sock.getsockname())  # queued by the kernel; uvicorn closes the socket next
    turns(loop, 3)
    assert MADE == []
    late.close()
    sock.close()


def test_out_of_descriptors_pauses_logs_and_takes_them_later(loop: asyncio.AbstractEventLoop,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    class Short(socket.socket):
        failures = 1

        def accept(self) -> tuple[socket.socket, object]:
            if Short.failures:
                Short.failures -= 1
                raise OSError(errno.EMFILE, "Too many open files")
            return super().accept()

    monkeypatch.setattr(eventloop, "RETRY_AFTER_S", 0.05)
    sock = listening(Short)
    server = serve(loop, sock)
    clients = [socket.create_connection(sock.getsockname()) for _ in range(3)]
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        turns(loop, 2)
    assert MADE == [] and not server.is_serving()
    assert "cannot accept connections: Too many open files; trying again in 0.05 s" in caplog.text
    loop.run_until_complete(asyncio.sleep(0.2))  # the retry, then its handshakes
    assert len(MADE) == 3 and server.is_serving()
    for client in clients:
        client.close()
    server.close()
    sock.close()


def test_without_a_tcp_socket_it_is_uvloops_own_server(loop: asyncio.AbstractEventLoop) -> None:
    server = loop.run_until_complete(loop.create_server(Upper, "127.0.0.1", 0))
    assert not isinstance(server, EagerAcceptServer)
    assert server.is_serving()
    server.close()
    loop.run_until_complete(server.wait_closed())
