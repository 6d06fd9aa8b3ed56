"""Hostile bytes on the wire, on both servers and over h2c: what the parsers refuse, what reaches the app."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ServerProcess, free_port

pytestmark = pytest.mark.slow
RAW_AUTH = b"Authorization: Bearer t\r\nx-api-key: k\r\n"


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    pytest.importorskip(request.param)
    process = ServerProcess(["--server", request.param], free_port())
    process.wait_healthy(timeout=20)
    yield process
    output = process.stop()
    assert "Traceback" not in output and "ERROR" not in output, output


def exchange(server: ServerProcess, data: bytes, wait: float = 5.0) -> bytes:
    """Every byte the server sends until it closes (or `wait` s of silence: a connection kept alive)."""
    out = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        try:
            while chunk := sock.recv(65536):
                out += chunk
                if b"\r\n\r\n" in out and _complete(out):
                    break
        except TimeoutError:
            pass
    return out


def _complete(out: bytes) -> bool:
    head, _, body = out.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.mark.parametrize("target", [b"http://mock.test/reactor/companies", b"http://reactor.adobe.io/companies"])
def test_an_absolute_form_target_is_answered_as_its_path(server, target):
    """A client whose HTTP_PROXY names the mock sends `GET http://host/path` (RFC 9112 §3.2.2: a server must
    accept it). hypercorn took the whole URL for the path: misuse, "no API at http://mock.test/reactor/companies"."""
    host = target.split(b"/")[2]
    out = exchange(server, b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + RAW_AUTH + b"\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and b'"type":"companies"' in out, out[:400]


REFUSED = {  # what httptools or h11 refuse before the app sees the request (README: "Bytes that are not HTTP")
    "obs-fold": b"GET /reactor/companies HTTP/1.1\r\nHost: m\r\n" + RAW_AUTH + b"X-Fold: a\r\n  b\r\n\r\n",
    "NUL in a header": b"GET /reactor/companies HTTP/1.1\r\nHost: m\r\n" + RAW_AUTH + b"X-Nul: a\x00b\r\n\r\n",
    "bad chunk size": b"POST /braze/users/track HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer k\r\n"
                      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "byte over 0x7f in the path": b"GET /reactor/companies/\xff HTTP/1.1\r\nHost: m\r\n" + RAW_AUTH + b"\r\n",
    "header name over 0x7f": b"GET /reactor/companies HTTP/1.1\r\nHost: m\r\n" + RAW_AUTH + b"X-\xff: 1\r\n\r\n",
    "TLS hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bytes_no_parser_takes_get_the_servers_own_4xx_and_the_connection_ends(server, name):
    """Never the app's: no API answer and no misuse (the request was never read), nothing journaled, no
    traceback, the connection closed, the server still serving. Where httptools refuses (obs-fold ...),
    hypercorn's h11 may take the bytes: then the API answers them, as any request."""
    out = exchange(server, REFUSED[name])
    status = out[9:12]
    if status in (b"200", b"401", b"404"):  # read as a request (h11 unfolds obs-fold ...): the API's answer
        assert server_name(server) == "hypercorn" and name == "obs-fold", out[:300]
        return
    assert status in (b"400", b"431"), out[:300]
    assert b"x-mockserver-misuse" not in out.lower() and b'"errors"' not in out
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("size", [70_000, 1_000_000])
def test_a_request_line_of_any_length_reaches_its_api_in_pieces_or_whole(server, size):
    """uvicorn gave its plain 400 over 64 KB (httptools' URL parser counts in 16 bits), hypercorn 431 over 16 KB
    when the head came in several reads: the DCS has its documented 414 for a GET over 8 KB, whatever the length."""
    head = b"GET /dcs/event?d_mid=1&x=" + b"a" * size + b" HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for start in range(0, len(head), 16_000):  # as a network delivers it: no server read gets it all
            sock.sendall(head[start:start + 16_000])
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    assert out.startswith(b"HTTP/1.1 414 ") and out.endswith(b"\r\n\r\nURI Too Long"), out[:300]
    [entry] = [e for e in _journal(server) if e["path"] == "/dcs/event" and e["status"] == 414][-1:]
    assert len(entry["query"]) == len(b"d_mid=1&x=") + size


@pytest.mark.parametrize(("request_line", "status_line"), [
    (b"GET /dcs/event?d_mid=1", b"HTTP/1.1 200 OK\r\n"),
    (b"GET /dcs/event?d_mid=1&__code=429", b"HTTP/1.1 429 Too Many Requests\r\n"),
    (b"GET /dcs/event?d_mid=1&x=" + b"a" * 9000, b"HTTP/1.1 414 Request-URI Too Long\r\n"),
])
def test_the_status_line_has_its_reason_phrase_on_both_servers(server, request_line, status_line):
    """hypercorn sent `HTTP/1.1 429 ` (h11's empty reason): a client logging the status line printed no reason."""
    out = exchange(server, request_line + b" HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
    assert out.startswith(status_line), out[:200]


@pytest.mark.parametrize("server", ["uvicorn"], indirect=True)
@pytest.mark.parametrize("size", [100, 70_000])
def test_a_connect_target_gets_uvicorns_own_400_whatever_its_length(server, size):
    """Only a path or an absolute URL over 64 KB is read past httptools' limit: a CONNECT's authority is refused,
    long as short (it read as a URL with the host for its scheme: the mock's misuse "no API at 80")."""
    out = exchange(server, b"CONNECT " + b"a" * size + b":80 HTTP/1.1\r\nHost: m\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ") and b"Invalid HTTP request received." in out, out[:300]


def _journal(server: ServerProcess) -> list[dict]:  # type: ignore[type-arg]
    import httpx

    return httpx.get(f"http://127.0.0.1:{server.port}/__admin/requests").json()["requests"]


def server_name(server: ServerProcess) -> str:
    return server.process.args[server.process.args.index("--server") + 1]  # type: ignore[union-attr]


@pytest.mark.parametrize("server", ["hypercorn"], indirect=True)  # h2c is hypercorn's
def test_h2_a_stream_hypercorn_cannot_read_gets_400_and_the_other_streams_are_answered(server):
    """hypercorn reads `:method` and the path of `:path` as ASCII, and every request as having a `:path`: a byte
    over 0x7f there, or a CONNECT without `:path`, was a traceback in the log and the whole connection dropped
    with every stream on it. Such a stream gets the 400 hypercorn gives the same bytes over HTTP/1.1."""
    h2_connection = pytest.importorskip("h2.connection")
    import h2.config
    import h2.events

    conn = h2_connection.H2Connection(h2.config.H2Configuration(
        client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False))
    conn.initiate_connection()
    common = [(b":scheme", b"http"), (b":authority", b"mock.test"), (b"authorization", b"Bearer t"),
              (b"x-api-key", b"k")]
    conn.send_headers(1, [(b":method", b"POST"), (b":path", b"/braze/users/\xff"), *common])
    conn.send_data(1, b"{}", end_stream=True)  # its body, in the same read: dropped, the connection kept
    conn.send_headers(3, [(b":method", b"G\xffT"), (b":path", b"/reactor/companies"), *common], end_stream=True)
    conn.send_headers(5, [(b":method", b"CONNECT"), (b":authority", b"mock.test:443")], end_stream=True)
    conn.send_headers(7, [(b":method", b"GET"), (b":path", b"/reactor/companies?q=\xff"), *common], end_stream=True)
    conn.send_headers(9, [(b":method", b"GET"), (b":path", b"/reactor/companies"), *common], end_stream=True)
    statuses: dict[int, bytes] = {}
    ended: set[int] = set()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(conn.data_to_send())
        while len(ended) < 5 and (chunk := sock.recv(65536)):
            for event in conn.receive_data(chunk):
                assert not isinstance(event, h2.events.ConnectionTerminated), event
                if isinstance(event, h2.events.ResponseReceived):
                    statuses[event.stream_id] = dict(event.headers)[b":status"]
                elif isinstance(event, h2.events.StreamEnded):
                    ended.add(event.stream_id)
            sock.sendall(conn.data_to_send())
    assert statuses == {1: b"400", 3: b"400", 5: b"400", 7: b"200", 9: b"200"}


def test_a_body_longer_than_its_content_length_gets_the_apis_answer_first(server):
    """A Content-Length counted in characters, not UTF-8 bytes: the request ends one byte early and that byte is
    no request. uvicorn answered it at once with its "Invalid HTTP request received." in place of Braze's answer
    to the cut JSON, which the journal and coverage counted as served. The answer comes first (then the 400)."""
    body = '{"attributes":[{"external_id":"u1","first_name":"Zoë"}]}'
    head = b"POST /braze/users/track?__delay=50 HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer k\r\n"
    out = exchange(server, head + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                   + body.encode())
    head, _, answer = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/json" in head.lower(), out[:300]
    assert answer.startswith(b'{"message":"Bad Request","errors":["Bad syntax."]}'), out[:300]


def test_bytes_behind_a_request_saying_connection_close_are_not_read(server):
    """RFC 9112 §9.6: no further request is processed after one with `Connection: close`. hypercorn's h11
    refused the bytes at once and sent its empty 400 in place of the answer (Reactor's 200 here), which the
    journal counted as sent."""
    out = exchange(server, b"GET /reactor/companies HTTP/1.1\r\nHost: m\r\n" + RAW_AUTH + b"Content-Length: 2\r\n"
                           b"Connection: close\r\n\r\n{}GARBAGE\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 ") and b'"type":"companies"' in out, out[:300]


VALID = [  # one request of each API, closing the connection, whole in one read
    b"GET /reactor/companies HTTP/1.1\r\nHost: m\r\n" + RAW_AUTH + b"Connection: close\r\n\r\n",
    b"POST /braze/users/track HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\n"
    b"Content-Length: 45\r\nConnection: close\r\n\r\n" + b'{"attributes":[{"external_id":"u1","a":"b"}]}',
    b"GET /dcs/event?d_mid=1&d_rtbd=json&d_orgid=x%40AdobeOrg&c_k=v HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n",
    b"POST /edge/ee/v2/interact?datastreamId=ds-1 HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\n"
    b"Content-Length: 12\r\nConnection: close\r\n\r\n" + b'{"event":{}}',
    b"POST /clientless/reggie/v1/adultswim/regcode HTTP/1.1\r\nHost: m\r\nContent-Type: "
    b"application/x-www-form-urlencoded\r\nContent-Length: 17\r\nConnection: close\r\n\r\ndeviceId=d1&ttl=5",
]
EDITS = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 3), st.binary(max_size=3)), min_size=1, max_size=4)


def mutated(request: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Each edit removes `cut` bytes at a place and puts `put` there."""
    for place, cut, put in edits:
        place %= len(request) + 1
        request = request[:place] + put + request[place + cut:]
    return request


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(VALID), EDITS)
def test_a_request_with_bytes_changed_gets_an_answer_never_a_5xx_or_a_traceback(server, request_bytes, edits):
    """Whatever the bytes, what comes back is an HTTP answer under 500 (the API's, misuse, or the server's
    own 400/431) or nothing (a connection kept open for the rest of a body); no traceback (the fixture reads
    the server's log at the end), and the server answers the next request."""
    out = exchange(server, mutated(request_bytes, edits), wait=1.0)
    if out:
        assert out[:9] == b"HTTP/1.1 " and out[9:12].isdigit() and int(out[9:12]) < 500, out[:300]
    assert exchange(server, b"GET /__admin/health HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")[9:12] == b"200"


@pytest.mark.parametrize("request_bytes", VALID)
def test_the_requests_the_property_changes_are_answered_by_their_api(server, request_bytes):
    """In a session of its own: the property test's mutated requests (one server for both) may have spent
    clientless's throttle bucket of this address, and the 12th regcode request at once is rightly a 403."""
    out = exchange(server, request_bytes.replace(b"Host: m\r\n", b"Host: m\r\nX-Mock-Session: unmutated\r\n", 1))
    assert out[9:12] in (b"200", b"201", b"401"), out[:300]  # clientless's regcode without Authorization: 401
