"""Transport faults over real connections, on both servers: raw sockets, then httpx and requests."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import requests

from tests.conftest import ServerProcess, free_port, serving

pytestmark = pytest.mark.slow
AUTH = {"Authorization": "Bearer t", "x-api-key": "k"}
RAW_AUTH = b"Authorization: Bearer t\r\nx-api-key: k\r\n"


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    process = ServerProcess(["--server", request.param, "--seed", "3"], free_port())
    process.wait_healthy(timeout=20)
    yield process
    output = process.stop()
    assert "Traceback" not in output and "ERROR" not in output, output


def raw(server: ServerProcess, target: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: mock.test\r\n".encode() + RAW_AUTH + b"\r\n")
    return sock


def read_all(sock: socket.socket) -> tuple[bytes, list[float]]:
    """Every byte until the server closes, and when each piece came."""
    data, times = b"", []
    while chunk := sock.recv(65536):
        data += chunk
        times.append(time.monotonic())
    return data, times


def test_reset_is_a_tcp_rst_before_any_byte(server):
    with raw(server, "/reactor/companies?__fault=reset") as sock, pytest.raises(ConnectionResetError):
        sock.recv(1024)


def test_empty_closes_without_a_byte(server):
    with raw(server, "/reactor/companies?__fault=empty") as sock:
        assert read_all(sock)[0] == b""


def test_malformed_sends_bytes_no_http_parser_takes(server):
    with raw(server, "/reactor/companies?__fault=malformed") as sock:
        data = read_all(sock)[0]
    assert data and not data.startswith(b"HTTP/")


def test_malformed_bytes_are_seeded(server):
    def once() -> bytes:
        with raw(server, "/reactor/companies?__fault=malformed&__session=noise&__seed=5") as sock:
            return read_all(sock)[0]

    httpx.post(server.url + "/__admin/reset?session=noise")
    first = once()
    httpx.post(server.url + "/__admin/reset?session=noise")
    assert once() == first


def test_truncate_keeps_the_documented_errors_head_and_promises_more(server):
    with raw(server, "/reactor/companies?__fault=truncate&__error=internal-error") as sock:
        data = read_all(sock)[0]
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("HTTP/1.1 500")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/vnd.api+json"
    assert int(headers["content-length"]) // 2 == len(body) > 0  # README: the half body sent, then close
    assert body.startswith(b'{"errors":')


def test_truncate_alone_cuts_a_documented_error_of_the_route_before_its_work(server):
    """Issue 9: truncate is "a documented error's status line and headers" cut short: with no error asked, the
    route's first that answers at once, and the route's own work (a Reactor property created) is not done."""
    with raw(server, "/reactor/companies?__fault=truncate&__session=cut-alone") as sock:
        data = read_all(sock)[0]
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    assert status >= 400 and body and int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]) > len(body)
    journaled = httpx.get(server.url + "/__admin/requests", params={"session": "cut-alone"}).json()["requests"]
    [entry] = journaled
    assert entry["fault"] == "truncate" and len(entry["errors"]) == 1
    catalog = httpx.get(server.url + "/__admin/catalog", params={"api": "reactor"}).json()
    documented = {e["id"]: e["status"] for e in catalog}
    assert documented[entry["errors"][0]] == status


def test_slow_dribbles_the_body_over_the_delay(server):
    started = time.monotonic()
    with raw(server, "/reactor/companies?__fault=slow&__delay=600&__error=internal-error") as sock:
        data, times = read_all(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500")
    assert b"transfer-encoding: chunked" in head.lower() or b"content-length" in head.lower()
    assert len(times) >= 4, "the body should arrive in several pieces"
    assert times[-1] - started >= 0.5  # generous: 600 ms asked
    assert b'"errors"' in body


CLIENT_ERRORS = {
    "reset": (httpx.ReadError, requests.exceptions.ConnectionError),
    "empty": (httpx.RemoteProtocolError, requests.exceptions.ConnectionError),
    "malformed": (httpx.RemoteProtocolError, requests.exceptions.ConnectionError),
    "truncate": (httpx.RemoteProtocolError, requests.exceptions.ChunkedEncodingError),
}


@pytest.mark.parametrize("kind", sorted(CLIENT_ERRORS))
def test_clients_see_the_matching_exception(server, kind):
    url = f"{server.url}/reactor/companies?__fault={kind}&__error=internal-error"
    httpx_error, requests_error = CLIENT_ERRORS[kind]
    with pytest.raises(httpx_error):
        httpx.get(url, headers=AUTH, timeout=10)
    with pytest.raises(requests_error):
        requests.get(url, headers=AUTH, timeout=10)


def test_clients_read_a_slow_answer_whole(server):
    url = f"{server.url}/reactor/companies?__fault=slow&__delay=300"
    assert httpx.get(url, headers=AUTH, timeout=10).json()["data"]
    assert requests.get(url, headers=AUTH, timeout=10).json()["data"]


def test_the_prefer_form_and_the_journal(server):
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url + "/reactor/companies?__session=faulted", headers={**AUTH, "Prefer": "fault=empty"})
    entries = httpx.get(server.url + "/__admin/requests?session=faulted").json()["requests"]
    assert entries[0]["fault"] == "empty" and entries[0]["status"] == 0


def test_health_names_the_faults_the_server_serves(server):
    health = httpx.get(server.url + "/__admin/health").json()
    assert health["faults"] == ["reset", "empty", "malformed", "truncate", "slow"]


def test_the_connection_serves_the_next_request_after_slow(server):
    """A fault that keeps the connection (slow) leaves it usable: keep-alive still works."""
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        assert client.get("/reactor/companies?__fault=slow&__delay=100").status_code == 200
        assert client.get("/reactor/companies").status_code == 200


@pytest.fixture(scope="module")
def hypercorn() -> Iterator[ServerProcess]:
    yield from serving("--server", "hypercorn")


@pytest.mark.parametrize("kind", sorted(CLIENT_ERRORS))
def test_hypercorn_over_h2c_ends_the_connection(hypercorn, kind):
    with httpx.Client(http1=False, http2=True, timeout=10) as client:
        slow = client.get(hypercorn.url + "/reactor/companies?__fault=slow&__delay=50", headers=AUTH)
        assert slow.http_version == "HTTP/2" and slow.json()["data"]
        with pytest.raises(httpx.TransportError):
            client.get(f"{hypercorn.url}/reactor/companies?__fault={kind}&__error=internal-error", headers=AUTH)


def test_truncate_over_h2c_sends_half_the_body_before_the_end(hypercorn):
    """As over HTTP/1.1: the head promising the whole length, then half the body, then the end. hypercorn
    writes a stream's DATA from its own task: closing at once lost the half body (HEADERS, then FIN)."""
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "GET"), (":path", "/reactor/companies?__fault=truncate&__error=internal-error"),
                          (":scheme", "http"), (":authority", "mock.test"), ("authorization", "Bearer t"),
                          ("x-api-key", "k")], end_stream=True)
    promised, body = 0, b""
    with socket.create_connection(("127.0.0.1", hypercorn.port), timeout=10) as sock:
        sock.sendall(conn.data_to_send())
        while chunk := sock.recv(65536):
            for event in conn.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived):
                    promised = int(dict(event.headers)[b"content-length"])
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                assert not isinstance(event, h2.events.StreamEnded)
    assert promised // 2 == len(body) > 0 and body.startswith(b'{"errors":')


EDGE_EVENT = b'{"event":{"xdm":{"eventType":"web.webpagedetails.pageViews","timestamp":"2024-01-01T00:00:00Z"}}}'
H2C = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"


@pytest.mark.parametrize("framing", [b"Content-Length: %d\r\n\r\n%s",
                                     b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"])
def test_a_post_proposing_h2c_is_answered_with_its_body_and_the_connection_kept(server, framing):
    """curl --http2 on http://, and Java's HttpClient (HTTP/2 by default), propose h2c with a POST's body:
    the server may ignore the Upgrade (RFC 9110 §7.8), not the body (uvicorn's parser stopped at the
    head: Edge answered EXEG-0109-408 'Empty request'). A request sent behind it on the connection is
    answered too."""
    post = (b"POST /edge/ee/v2/interact?datastreamId=ds-1 HTTP/1.1\r\nHost: mock.test\r\n"
            b"Content-Type: application/json\r\n" + H2C + framing % (len(EDGE_EVENT), EDGE_EVENT))
    follow = b"GET /reactor/companies HTTP/1.1\r\nHost: mock.test\r\n" + RAW_AUTH + b"Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(post + follow)
        data = read_all(sock)[0]
    assert data.startswith(b"HTTP/1.1 200 ") and b'"requestId"' in data and b"EXEG-0109-408" not in data
    assert data.count(b"HTTP/1.1 200 ") == 2


def test_connect_is_answered_once_as_read(server):
    """httptools takes every CONNECT for an upgrade: read without it, it would be one again, forever."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"CONNECT /reactor/companies HTTP/1.1\r\nHost: mock.test\r\n" + RAW_AUTH + b"\r\n")
        sock.settimeout(5)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 404 ")


def test_a_websocket_handshake_is_answered_as_the_http_get_it_also_is(server):
    """No API speaks WebSocket: the handshake gets the API's own answer (here Reactor's 401), as a server
    ignoring Upgrade gives it, not a hang (uvicorn passed it to an app that never accepted) or a 500
    (hypercorn's, for the same unanswered handshake)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /reactor/companies HTTP/1.1\r\nHost: mock.test\r\nConnection: Upgrade\r\n"
                     b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        sock.settimeout(5)
        data = b""
        while b"authentication-failure" not in data and (chunk := sock.recv(65536)):  # head, then body
            data += chunk
    assert data.startswith(b"HTTP/1.1 401 ") and b"authentication-failure" in data


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_a_fault_with_a_request_pipelined_behind_it_logs_nothing(start_server, server_name):
    """The fault ends the connection, and the request sent behind it with it. uvicorn marks only the last
    request read as disconnected: the faulted one, which the app returned from without an answer, was
    logged as an ERROR and given a 500 on a closed transport (a traceback: 'the handler is closed').
    hypercorn's connection task waited for the faulted answer to end (truncate's never does) before reading
    the next request, until the server stopped: a CancelledError traceback then."""
    server = start_server("--server", server_name)
    follow = b"GET /reactor/companies HTTP/1.1\r\nHost: mock.test\r\n" + RAW_AUTH + b"\r\n"
    for kind in ("reset", "empty", "malformed", "truncate"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"GET /reactor/companies?__fault={kind}&__delay=50 HTTP/1.1\r\nHost: mock.test\r\n".encode()
                         + RAW_AUTH + b"\r\n" + follow)
            try:
                data = read_all(sock)[0]
            except ConnectionResetError:
                data = b""
        assert data.count(b"HTTP/1.1 ") <= 1, kind  # truncate's head at most: nothing answers the one behind
    assert httpx.get(server.url + "/reactor/companies", headers=AUTH).status_code == 200
    output = server.stop()
    assert "Traceback" not in output and "ERROR" not in output, output


def test_h2c_a_body_the_route_does_not_read_leaves_the_connection_up(hypercorn):
    """hypercorn drops an HTTP/2 stream once its answer is sent; a DATA frame of the request arriving after
    that ended the whole connection (a KeyError in its H2Protocol, a traceback in the log). An admin route
    that takes no body (reset) answered before the client's DATA frame came: every stream of the
    connection was lost (an httpx client multiplexing sessions over h2 saw ReadError)."""
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "POST"), (":path", "/__admin/reset?session=h2-body"), (":scheme", "http"),
                          (":authority", "mock.test"), ("content-type", "application/json")])
    ended: list[int] = []
    with socket.create_connection(("127.0.0.1", hypercorn.port), timeout=10) as sock:
        sock.sendall(conn.data_to_send())
        time.sleep(0.2)  # the answer first, then the body
        conn.send_data(1, b"{}", end_stream=True)
        conn.send_headers(3, [(":method", "GET"), (":path", "/reactor/companies"), (":scheme", "http"),
                              (":authority", "mock.test"), ("authorization", "Bearer t"), ("x-api-key", "k")],
                          end_stream=True)
        sock.sendall(conn.data_to_send())
        while len(ended) < 2 and (chunk := sock.recv(65536)):
            ended += [e.stream_id for e in conn.receive_data(chunk) if isinstance(e, h2.events.StreamEnded)]
            sock.sendall(conn.data_to_send())
    assert sorted(ended) == [1, 3]


def test_a_client_gone_mid_body_is_journaled_unanswered(server):
    """A client that closes before its body ends sent no whole request: half a JSON body was answered as a
    whole one (Braze's 400 bad-request, journaled and counted as served: a 400 no client saw). It is in
    the journal with status 0, no error, and what came of its body."""
    session = "gone-mid-body"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"POST /braze/users/track?__session={session} HTTP/1.1\r\nHost: mock.test\r\n".encode()
                     + b"Authorization: Bearer k\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                     + b'{"attr')
        time.sleep(0.1)
    deadline, entries = time.monotonic() + 5, []
    while not entries and time.monotonic() < deadline:
        time.sleep(0.05)
        entries = httpx.get(server.url + "/__admin/requests", params={"session": session}).json()["requests"]
    assert [(e["status"], e["errors"], e["body_size"]) for e in entries] == [(0, [], 6)]
    coverage = httpx.get(server.url + "/__admin/coverage", params={"session": session}).json()
    assert coverage["apis"]["braze"]["served_ids"] == []


@pytest.mark.parametrize("fault", ["&__delay=3000", "&__fault=slow&__delay=20000"])
def test_a_client_that_gives_up_during_the_wait_is_journaled_unanswered_at_once(server, fault):
    """A client whose read timed out during a `__delay` (or a slow answer) saw no status: the journal said 503 with
    the whole delay as its latency, only once the delay was over, and the verdict judged its retries against a
    Retry-After it never read. Now the server notices the closed connection, stops, and journals status 0 at once."""
    session = f"gave-up-{'slow' if 'slow' in fault else 'delay'}"
    url = f"{server.url}/edge/ee/v2/interact?datastreamId=ds-1&__error=EXEG-0000-503{fault}"
    started = time.monotonic()
    with httpx.Client(timeout=httpx.Timeout(5, read=0.3), headers={"X-Mock-Session": session}) as client:
        for _ in range(2):  # the first, then a retry sent at once: both time out
            with pytest.raises(httpx.ReadTimeout):
                client.post(url, json={"event": {"xdm": {}}})
    deadline, entries = time.monotonic() + 2, []
    while len(entries) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        entries = httpx.get(server.url + "/__admin/requests", params={"session": session}).json()["requests"]
    assert time.monotonic() - started < 2.5  # well before the 3 s delay ran out
    if "slow" in fault:  # the head of a slow answer went out before its body (1 s a piece): the status reached it
        assert [e["status"] for e in entries] == [503, 503] and all(e["latency_ms"] < 1500 for e in entries)
    else:
        assert [(e["status"], e["errors"]) for e in entries] == [(0, []), (0, [])]
        verdict = httpx.get(server.url + "/__admin/verdict", params={"session": session}).json()
        assert verdict["findings"] == []  # no Retry-After was read, so none was disobeyed


def test_faults_on_an_answer_without_a_body_still_show(server):
    """A HEAD (or a 204, as clientless logout answers under `slow`) has no body to cut short or dribble: `truncate`
    cuts the head itself (a client read a whole answer before), and `slow` sends the whole answer
    late (it arrived at once, and the wait fell on the next request of the connection)."""
    logout = "/clientless/api/v1/logout?requestor=R&deviceId=d"
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.delete(f"{server.url}{logout}&__fault=truncate", headers=AUTH)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.head(f"{server.url}/dcs/event?d_rtbd=json&__fault=truncate")
    with pytest.raises(requests.ConnectionError):  # half a head was read whole by requests and curl
        requests.head(f"{server.url}/reactor/companies?__error=too-many-requests&__fault=truncate", headers=AUTH,
                      timeout=10)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"HEAD /dcs/event?d_rtbd=json&__fault=truncate&__session=cut-head HTTP/1.1\r\nHost: m\r\n\r\n")
        assert read_all(sock)[0] == b"HTTP/1.1 2"  # the status line cut: no client takes it for an answer
    journaled = httpx.get(server.url + "/__admin/requests", params={"session": "cut-head"}).json()["requests"]
    assert [(e["status"], e["fault"]) for e in journaled] == [(0, "truncate")]
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        started = time.monotonic()
        assert client.delete(f"{logout}&__fault=slow&__delay=600").status_code == 204
        assert time.monotonic() - started >= 0.55
        started = time.monotonic()
        assert client.get("/dcs/event?d_rtbd=json").status_code == 200  # the same connection, at once
        assert time.monotonic() - started < 0.4


def test_a_client_gone_before_a_slow_answer_without_a_body_is_journaled_unanswered(server):
    """A slow HEAD sends nothing until the end of its delay: a client that left first got no status, and the journal
    said 429 with its error, counted as served."""
    session = "slow-head-gone"
    with pytest.raises(httpx.ReadTimeout):
        httpx.head(f"{server.url}/reactor/companies?__error=too-many-requests&__fault=slow&__delay=3000",
                   headers={**AUTH, "X-Mock-Session": session}, timeout=httpx.Timeout(5, read=0.3))
    deadline, entries = time.monotonic() + 2, []
    while not entries and time.monotonic() < deadline:
        time.sleep(0.05)
        entries = httpx.get(server.url + "/__admin/requests", params={"session": session}).json()["requests"]
    assert [(e["status"], e["errors"]) for e in entries] == [(0, [])]
