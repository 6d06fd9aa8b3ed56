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
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.engine.faults import ARRIVED_EXTENSION, TRANSPORT_EXTENSION, TransportConnection

_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_PARSE_URL_MAX = 65535  # httptools.parse_url's longest URL (http_parser_url's uint16 lengths)

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
        self._previous_cycle: Any = None
        self._started: tuple[Any, asyncio.Task[None] | None] = (None, None)
        self._running: Any = None  # the request being answered (uvicorn answers one at a time)
        self._refused = False  # bytes no parser takes came behind a request still being answered
        self._retiring = False  # the worker is being replaced (workers.py): this connection ends after its answer

    def connection_lost(self, exc: Exception | None) -> None:
        """uvicorn marks only the last request read as disconnected: with one pipelined behind, the request
        being answered (a fault that closed the connection) was logged as an ERROR and given a 500 on the
        closed transport, a traceback."""
        running = self._running
        if running is not None and running is not self.cycle and not running.response_complete:
            running.disconnected = True
            running.message_event.set()
        super().connection_lost(exc)
        self._lost.set()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # when the request began to arrive: the journal's time, so calls sent at once read as in flight at once
        # even though the app answers them one after the other (the DCS verdict's simultaneous calls)
        extensions: dict[str, Any] = {TRANSPORT_EXTENSION: self._connection, ARRIVED_EXTENSION: time.time()}
        self.scope["extensions"] = extensions

    def data_received(self, data: bytes) -> None:
        """uvicorn's, but an `Upgrade` the app does not take (h2c, websocket) is ignored, not half-read.

        httptools ends the message at the head of any request naming an upgrade and leaves the rest of
        the bytes unread, so a POST that proposes h2c (curl --http2 on an http:// URL; Java's HttpClient,
        HTTP/2 by default, on its first request) reached the app with an empty body: Edge answered
        EXEG-0109-408, Braze its 400. RFC 9110 §7.8 lets a server ignore Upgrade, as hypercorn does
        for a request with a body: the request is parsed again without it and answered in HTTP/1.1.
        """
        self._unset_keepalive_if_required()
        if self._refused:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            cycle = self.cycle
            if cycle is not None and not cycle.more_body and not cycle.response_complete:
                self._refused = True  # bytes behind a whole request: its answer first (on_response_complete)
            else:
                self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade as upgrade:
            if self.scope["method"] != "CONNECT":  # CONNECT is always one to httptools: answered as read
                self._read_without_upgrade(data[upgrade.args[0]:])

    def on_response_complete(self) -> None:
        """uvicorn answered bytes it cannot parse at once, even those behind a whole request still being answered:
        a body one byte longer than its Content-Length (a length counted in characters, not UTF-8 bytes) got
        "Invalid HTTP request received." in place of the API's answer, which the journal and coverage counted as
        served. Its answer goes first, then the 400, as nginx answers a pipeline (RFC 9112 §9.3.2: in order)."""
        super().on_response_complete()
        if self._refused and self.cycle.response_complete and not self.transport.is_closing():  # the last one read
            self.send_400_response("Invalid HTTP request received.")

    def retire(self) -> None:
        """The worker is replaced (SIGHUP, workers.py): the connection ends once it has answered what it owes. A request
        being answered says `Connection: close`, and so does one that arrives later; an idle one (keep-alive, or just
        accepted, its first request perhaps on its way) closes at the keep-alive timeout, as an idle one always does.
        uvicorn's `shutdown` closed those at once: a request sent meanwhile got no answer."""
        self._retiring = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        elif self.timeout_keep_alive_task is None and not self.transport.is_closing():  # none read yet: no timer
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                self.timeout_keep_alive_handler)

    def on_headers_complete(self) -> None:
        self._read_head()
        if self._retiring:  # the answer closes the connection (RFC 9112 §9.6: it says so)
            self.cycle.keep_alive = False

    def _read_head(self) -> None:
        self._previous_cycle = self.cycle  # the request before this one on the connection, if any
        url = self.url
        if len(url) <= _PARSE_URL_MAX or not url.lower().startswith((b"/", b"http://", b"https://")):
            super().on_headers_complete()  # a CONNECT's authority-form: refused by parse_url, as a short one is
            return
        # httptools.parse_url keeps offsets in 16 bits: a longer target (a DCS GET with a 100 KB query) was
        # uvicorn's plain 400, where the API answers it as it answers 9 KB (DCS: its documented 414)
        self.url = b"/"
        super().on_headers_complete()
        self.url = url
        target = url.partition(b"#")[0]
        if not target.startswith(b"/"):  # absolute-form, `http://host/path?query`
            parts = urlsplit(target)
            target = (parts.path or b"/") + (b"?" + parts.query if parts.query else b"")
        raw_path, _, query = target.partition(b"?")
        path = raw_path.decode("latin-1")  # the parser took the target's bytes: ASCII
        self.scope["path"] = self.root_path + (unquote(path) if "%" in path else path)
        self.scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        self.scope["query_string"] = query

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        self._running = cycle
        if not self.parser.should_upgrade():  # the usual request: nothing to remember
            super()._start_asgi_task(cycle, app)
            return
        before = set(self.tasks)
        super()._start_asgi_task(cycle, app)
        self._started = (cycle, next(iter(self.tasks - before), None))

    def _read_without_upgrade(self, rest: bytes) -> None:
        cycle = self.cycle  # the request as httptools saw it, without its body: its task has not run yet
        started, task = self._started
        if started is cycle and task is not None:
            task.cancel()
        self.pipeline = type(self.pipeline)(entry for entry in self.pipeline if entry[0] is not cycle)
        version = self.parser.get_http_version().encode()
        head = [self.scope["method"].encode(), b" ", self.url, b" HTTP/", version, b"\r\n"]
        for name, value in self.headers:
            if name in (b"upgrade", b"http2-settings"):
                continue
            if name == b"connection":
                tokens = [t.strip() for t in value.split(b",")]
                value = b", ".join(t for t in tokens if t.lower() not in (b"upgrade", b"http2-settings"))
                if not value:
                    continue
            head += [name, b": ", value, b"\r\n"]
        self.cycle = self._previous_cycle  # the request read again comes after the same one
        self.parser = httptools.HttpRequestParser(self)
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)  # as uvicorn sets its own
        self.data_received(b"".join(head) + b"\r\n" + rest)


class _HypercornConnection(TransportConnection):
    """A hypercorn connection, with the task that serves it and whether a fault ended it."""

    __slots__ = ("task", "faulted", "arrived")

    def __init__(self, transport: asyncio.BaseTransport, lost: Any, task: asyncio.Task[Any] | None) -> None:
        super().__init__(transport, lost)
        self.task = task
        self.faulted = False
        self.arrived: float | None = None  # when the first bytes read since the last HTTP/1.1 request came in

    async def close(self) -> None:
        self.faulted = True
        await super().close()

    async def reset(self) -> None:
        self.faulted = True
        await super().reset()


_CONNECTION: contextvars.ContextVar[_HypercornConnection | None] = contextvars.ContextVar(
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

            connection = _HypercornConnection(writer.transport, lost, asyncio.current_task())
            _CONNECTION.set(connection)
            read = self.reader.read

            async def timed_read(n: int = -1) -> bytes:  # when a request began to arrive, as uvicorn's is stamped
                data = await read(n)
                if data and connection.arrived is None:
                    connection.arrived = time.time()
                return data

            self.reader.read = timed_read  # type: ignore[method-assign]
            try:
                await super().run()
            except asyncio.CancelledError:
                if connection.faulted and connection.task is not None and connection.task.uncancel() == 0:
                    return  # the end `HypercornConnectionApp` gave a faulted connection
                # The server stops and the grace for requests in flight is over: hypercorn cancels each connection's
                # task. Left cancelled, Python 3.11's asyncio.streams asks it for its exception() in a done callback,
                # which raises, and a 20-line traceback is logged for a clean stop. The connection closes here with
                # no answer, as uvicorn's do, and the task ends.
                writer.transport.abort()

        async def _read_data(self) -> None:
            """hypercorn's, except that once the client has closed (or the read failed) the idle timer stops: it
            ran on for up to the keep-alive timeout (5 s), and so did the connection's task, which a worker being
            replaced waits for (workers.py). A request in flight still holds the task until it is answered."""
            await super()._read_data()
            await self.idle_task.stop()

    hypercorn_run.TCPServer = _FaultingTCPServer  # type: ignore[attr-defined]
    _install_h2_refusal()
    _install_h11_close()


def _install_h11_close() -> None:
    """Bytes behind a request that said `Connection: close` are not read (RFC 9112 §9.6: the server must not
    process any further request on that connection). h11 refused them at once, and hypercorn sent its empty 400
    in place of the request's answer (a body longer than its Content-Length), which the journal counted as sent."""
    import h11
    import hypercorn.protocol
    from hypercorn.protocol.h11 import H11Protocol

    class ClosingH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            connection = self.connection
            read = connection.next_event

            def next_event() -> Any:
                if connection.their_state is h11.MUST_CLOSE and connection.trailing_data[0]:
                    return h11.NEED_DATA  # the answer goes out, then the connection closes
                return read()

            connection.next_event = next_event  # type: ignore[method-assign]

        async def _send_h11_event(self, event: Any) -> None:
            """With the status line's reason phrase, as uvicorn sends it (`HTTP/1.1 429 Too Many Requests`): hypercorn
            left it empty, and a client that shows or logs it (Java's, curl -i) printed nothing."""
            if isinstance(event, h11.Response | h11.InformationalResponse) and not event.reason:
                phrase = _REASONS.get(event.status_code)
                if phrase:
                    event = type(event)(status_code=event.status_code, headers=event.headers.raw_items(),
                                        http_version=event.http_version, reason=phrase)
            await super()._send_h11_event(event)

    hypercorn.protocol.H11Protocol = ClosingH11Protocol  # type: ignore[attr-defined]


def _install_h2_refusal() -> None:
    """An HTTP/2 stream hypercorn cannot read gets the server's own 400, and the connection goes on.

    hypercorn reads `:method` and the path of `:path` (not its query) as ASCII, and takes every request to have a
    `:path`: a byte over 0x7f there (h2 lets it through; over HTTP/1.1 h11 refuses it and hypercorn answers 400) or a
    CONNECT without `:path` (RFC 9113 §8.5) was a traceback in the log and the whole connection dropped, every stream
    on it. Such a stream gets the 400 with no body hypercorn sends over HTTP/1.1 (RFC 9113 §8.1.1 lets a server
    answer a malformed request), its body is dropped, and it ends once the request has (hypercorn forgets an ended
    stream: a DATA frame after that would end the connection)."""
    import hypercorn.protocol
    import hypercorn.protocol.h2 as hypercorn_h2
    from hypercorn.protocol.events import EndBody, Request, Response, StreamClosed
    from hypercorn.protocol.http_stream import HTTPStream

    class RefusingStream(HTTPStream):
        refused = False

        async def handle(self, event: Any) -> None:
            if isinstance(event, Request) and not event.raw_path.partition(b"?")[0].isascii():  # hypercorn's unquote
                self.closed = self.refused = True
                empty = [(b"content-length", b"0")]
                await self.send(Response(stream_id=self.stream_id, headers=empty, status_code=400))
                await self.send(EndBody(stream_id=self.stream_id))
            elif isinstance(event, EndBody) and self.refused:
                await self.send(StreamClosed(stream_id=self.stream_id))
            else:
                await super().handle(event)

    class RefusingH2Protocol(hypercorn_h2.H2Protocol):
        async def _create_stream(self, request: Any) -> None:
            fields = dict(request.headers)
            if not (fields.get(b":method", b"").isascii() and b":path" in fields):
                regular = [(name, value) for name, value in request.headers if not name.startswith(b":")]
                request.headers = [(b":method", b"GET"), (b":path", b"\x80"), *regular]  # RefusingStream refuses it
            await super()._create_stream(request)

    hypercorn_h2.HTTPStream = RefusingStream  # type: ignore[attr-defined]
    hypercorn.protocol.H2Protocol = RefusingH2Protocol  # type: ignore[attr-defined]


class HypercornConnectionApp:
    """Wraps the app: the connection of the current hypercorn connection task into the scope."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        connection = _CONNECTION.get()
        if connection is not None and scope["type"] == "http":
            extensions = scope.setdefault("extensions", {})
            extensions[TRANSPORT_EXTENSION] = connection
            if scope.get("http_version") != "2" and connection.arrived is not None:  # h2's streams share the reads
                extensions[ARRIVED_EXTENSION] = connection.arrived
        if connection is not None:
            connection.arrived = None  # the next request's first read starts its own time
        if scope["type"] == "http" and b"://" in scope.get("raw_path", b""):
            scope = _origin_form(scope)
        if scope.get("http_version") == "2":
            receive, send = _whole_body_first(receive, send)
        await self.app(scope, receive, send)
        if connection is not None:
            connection.arrived = None  # reads of this request's body, or of one pipelined behind it: not a start
        if connection is not None and connection.faulted and connection.task is not None and scope["type"] == "http" \
                and scope.get("http_version") != "2":
            # hypercorn's HTTP/1.1 loop reads a request pipelined behind this one once this answer is done;
            # ended by the fault (truncate: mid-body), it never is, and the connection's task waited until
            # the server stopped (a traceback then): it ends once this request's task has.
            task = connection.task
            current = asyncio.current_task()
            if current is not None:
                current.add_done_callback(lambda _: task.cancel())


def _origin_form(scope: dict[str, Any]) -> dict[str, Any]:
    """The path of an absolute-form target (`GET http://host/path`, as a client sends it to a proxy: one whose
    HTTP_PROXY names the mock), which a server must accept (RFC 9112 §3.2.2). hypercorn hands the whole URL over as
    the path (every such request was misuse, "no API at http://..."); uvicorn gives the path, and so does this."""
    raw: bytes = scope["raw_path"]
    scheme, _, rest = raw.partition(b"://")
    if scheme.lower() not in (b"http", b"https"):
        return scope  # a path with "://" further on (`/r/http://x`)
    raw = b"/" + rest.partition(b"/")[2]
    return {**scope, "raw_path": raw, "path": unquote(raw.decode("ascii"))}


def _whole_body_first(receive: Any, send: Any) -> tuple[Any, Any]:
    """hypercorn drops an HTTP/2 stream once its answer is sent: a DATA frame of the request still on the
    way then ends the whole connection (a KeyError in its H2Protocol), every other stream with it. So the
    request's body is read to its end before the answer's last frame (the dispatcher always reads it;
    an admin route that takes none, such as reset, did not)."""
    done = False

    async def receive_all() -> Any:
        nonlocal done
        message = await receive()
        done = message["type"] == "http.disconnect" or not message.get("more_body", False)
        return message

    async def send_after_body(message: Any) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            while not done:
                await receive_all()
        await send(message)

    return receive_all, send_after_body
