"""The request path (`mockserver/dispatch.py`) where a mutation audit found no test: each test pins one behaviour a
client relies on, over the ASGI interface."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisGone

from mockserver.app import build_app
from mockserver.dispatch import MAX_BODY
from mockserver.engine import chaos
from mockserver.engine.faults import ARRIVED_EXTENSION, TRANSPORT_EXTENSION
from mockserver.engine.redis_state import outage_log
from mockserver.journal import Entry, Journal
from mockserver.settings import Settings
from tests.unit.test_cors import PREFLIGHT


def test_a_body_of_16_mib_is_read_and_one_byte_more_is_misuse(client):
    """docs/architecture.md: "a body over 16 MiB (`MAX_BODY`) is misuse". A client uploading a large batch gets the
    API's own answer up to that size (Braze's 413 over its 4 MB limit, docs/apis/braze.md), and the mock's
    marked 400 only past it: never a Braze error for what the mock refused."""
    assert MAX_BODY == 16 * 1024 * 1024
    headers = {"Authorization": "Bearer k", "Content-Type": "application/json"}
    at_limit = client.post("/braze/users/track", headers=headers, content=b" " * MAX_BODY)
    assert at_limit.status_code == 413 and "x-mockserver-misuse" not in at_limit.headers, at_limit.text
    over = client.post("/braze/users/track", headers=headers, content=b" " * (MAX_BODY + 1))
    assert over.status_code == 400 and over.headers["x-mockserver-misuse"] == "1"
    assert f"request body over {MAX_BODY} bytes" in over.json()["detail"]


def test_only_an_options_request_is_a_preflight_that_clears_misused_flags(client):
    """A preflight (OPTIONS with Origin and Access-Control-Request-Method) clears flags the browser copied from the
    page's URL; a GET that happens to carry the same headers is the page's own request, and a misused flag there is
    the mock's 400 (GUIDE §2: misuse is never mistaken for the API's answer)."""
    path = "/reactor/properties/PR1?__error=no-such-error"
    assert client.options(path, headers=PREFLIGHT).status_code == 204
    refused = client.get(path, headers={**PREFLIGHT, "Authorization": "Bearer t"})
    assert refused.status_code == 400 and refused.headers["x-mockserver-misuse"] == "1"


FAILING_ERROR = """\
api: own
prefix: /own
error_response: {status: "{{ error.status }}", body: {api: "{{ error.title }}"}}
errors:
  ratio: {status: 400, title: Ratio, response: {body: {r: "{{ 1 // request.json.n }}"}}}
routes:
  - {id: any, method: POST, path: /x, respond: {status: 200, body: {ok: true}}}
"""


def test_an_error_whose_template_fails_on_a_request_is_named_with_its_file_and_line(tmp_path, make_client):
    """The mock's own 500 names what failed (README, "Misuse": the mock or its file failed): the route and the
    documented error being answered, each with the file:line `validate` gives, so the file's author knows which
    template to fix. The error asked by flag is not named in Preference-Applied: the mock's failure answered, not it."""
    (tmp_path / "own.yaml").write_text(FAILING_ERROR)
    client = make_client(scenarios=(str(tmp_path),))
    assert client.post("/own/x?__error=ratio", json={"n": 1}).json() == {"r": 1}
    answer = client.post("/own/x?__error=ratio", json={"n": 0})
    assert answer.status_code == 500 and answer.headers["x-mockserver-internal-error"] == "1"
    assert "preference-applied" not in answer.headers  # RFC 7240: the error asked was not what answered
    detail = answer.json()["detail"]
    assert f"answering route any ({tmp_path / 'own.yaml'}:7) with ratio ({tmp_path / 'own.yaml'}:5)" in detail, detail


def asgi_get(app: Any, path: str, query: bytes = b"", extensions: dict[str, Any] | None = None) -> list[dict]:
    """One GET handed to the app as a server hands it (`extensions` as mockserver's uvicorn gives them): the messages
    sent back."""
    return asgi_call(app, "GET", path, query, extensions=extensions)


def asgi_call(app: Any, method: str, path: str, query: bytes = b"", headers: tuple[tuple[bytes, bytes], ...] = (),
              received: tuple[dict, ...] = ({"type": "http.request", "body": b"", "more_body": False},),
              extensions: dict[str, Any] | None = None, host: bytes | None = b"127.0.0.1:8080",
              server: tuple[str, int | None] | None = ("127.0.0.1", 8080)) -> list[dict]:
    """One request handed to the app as a server hands it, the client sending the `received` messages (and `host`,
    None for a request without one; `server` the address the server listens on): the messages sent back."""
    sent: list[dict] = []
    pending = list(received)

    async def receive() -> dict:
        return pending.pop(0) if pending else {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [*([(b"host", host)] if host is not None else []), *headers], "client": ("127.0.0.1", 1),
             "server": server}
    if extensions is not None:
        scope["extensions"] = extensions
    asyncio.run(app(scope, receive, send))
    return sent


def test_the_journal_counts_a_requests_wait_behind_the_ones_before_it():
    """docs/architecture.md ("A journal entry's `time` is when uvicorn's protocol began reading the request"): the
    entry's `time` is that instant and its `latency_ms` runs from it, as the client measured it, not from when the
    app got round to it; the verdict's DCS rule reads calls in flight at once from them (README, the verdict)."""
    app = build_app()
    arrived = time.time() - 5.0
    sent = asgi_get(app, "/dcs/event", b"d_rtbd=json", {ARRIVED_EXTENSION: arrived})
    assert sent[0]["status"] == 200
    [entry] = app.runtime.journal.query()
    assert entry["time"] == arrived and entry["latency_ms"] >= 5000, entry


def test_a_replayed_fault_that_needs_the_connection_is_misuse_where_the_server_gives_none(client):
    """README: `__replay` gives again the answer a chaos decision gave, its transport fault included. An ASGI host that
    hands the app no connection (the in-process client here) cannot reset or cut one: the mock says so as misuse,
    the valid kinds listed (GUIDE §2), rather than answering as if the fault had happened."""
    token = "seed=0;session=default;n=1;fault=reset"
    answer = client.get("/dcs/event?d_rtbd=json", headers={"Prefer": f'replay="{token}"'})
    assert answer.status_code == 400 and answer.headers["x-mockserver-misuse"] == "1"
    assert answer.json()["detail"].startswith("fault 'reset' needs the connection") and answer.json()["valid"] == [
        "slow"]


def test_a_refused_replay_spends_no_request_number(client):
    """GUIDE §2: misuse is the mock's answer, not the API's; it must not move what the API's next answer draws.
    A replay refused (a fault this host cannot give, a token that is no decision) is refused before the session's
    request number is taken, so the next request is still the session's first: its decision says `n=1`."""
    for index, prefer in enumerate(['replay="seed=0;session=default;n=1;fault=reset"', 'replay="nonsense"']):
        session = {"X-Mock-Session": f"replay-{index}"}
        refused = client.get("/dcs/event?d_rtbd=json", headers={**session, "Prefer": prefer})
        assert refused.status_code == 400 and refused.headers["x-mockserver-misuse"] == "1", refused.text
        drawn = client.get("/dcs/event?d_rtbd=json&__chaos=1", headers=session)
        assert ";n=1;" in drawn.headers["x-mock-decision"], drawn.headers


class Wire:
    """The connection a server adapter hands the app (engine.faults.Connection): what was written, how it ended."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.ended = ""

    def write(self, data: bytes) -> None:
        self.written.append(data)

    async def close(self) -> None:
        self.ended = "close"

    async def reset(self) -> None:
        self.ended = "reset"


REACTOR_AUTH = ((b"authorization", b"Bearer t"), (b"x-api-key", b"k"), (b"x-gw-ims-org-id", b"o"))


def test_the_debug_log_says_in_one_line_what_answered_each_request(tmp_path, caplog):
    """README (`--log-level debug`: a line per request saying what answered it and why): the line tells the mock's
    misuse from the API's errors and from the mock's own failure, says when no route or no API took the request,
    when no status line or no answer at all was sent, and keeps to one line whatever bytes the query holds."""
    (tmp_path / "own.yaml").write_text(FAILING_ERROR)
    app = build_app(Settings(log_level="debug", scenarios=(str(tmp_path),)))
    braze = ((b"authorization", b"Bearer k"),)
    caplog.set_level(logging.DEBUG, logger="mockserver")
    asgi_call(app, "GET", "/nowhere")
    asgi_call(app, "GET", "/braze/nowhere", headers=braze)
    asgi_call(app, "GET", "/braze/campaigns/list", b"q=\xff\x0a", braze)
    asgi_call(app, "GET", "/reactor/companies", b"__fault=reset", REACTOR_AUTH,
              extensions={TRANSPORT_EXTENSION: Wire()})
    asgi_call(app, "POST", "/own/x", b"__error=ratio", ((b"content-length", b"8"),),
              ({"type": "http.request", "body": b'{"n": 0}', "more_body": False},))
    asgi_call(app, "GET", "/dcs/event", b"d_mid=1&__error=300,301")
    asgi_call(app, "POST", "/edge/ee/v2/interact", b"__error=EXEG-0003-400")  # a problem+json of the API's own
    gone = ({"type": "http.request", "body": b'{"n":', "more_body": True}, {"type": "http.disconnect"})
    asgi_call(app, "POST", "/nowhere", headers=((b"content-length", b"9"),), received=gone)
    asgi_call(app, "POST", "/own/x", headers=((b"content-length", b"9"),), received=gone)
    lines = [r.getMessage().rsplit(", ", 1)[0] for r in caplog.records if r.levelno == logging.DEBUG]
    assert lines[:-1] == [
        "GET /nowhere -> 400 (the mock's misuse) [-, session default",
        "GET /braze/nowhere -> 404 (not-found; no route matched) [braze, session default",
        "GET /braze/campaigns/list?q=\\ufffd\\n -> 200 (no error; route campaigns-list) [braze, session default",
        "GET /reactor/companies -> no status line (no error; route list-companies; flags fault=reset; fault reset) "
        "[reactor, session default",
        "POST /own/x -> 500 (the mock's own error (its log says which); route any) "
        "[own, session default",
        "GET /dcs/event?d_mid=1 -> 200 (300, 301; route event; flags error=300,301) [dcs, session default",
        "POST /edge/ee/v2/interact -> 400 (EXEG-0003-400; route interact-v2; flags error=EXEG-0003-400) "
        "[edge, session default",
        "POST /nowhere -> no answer (the client left) (no error; no API) [-, session default",
    ], lines
    # its route was never looked for (README: "a client gone before its body ended, which no API answers")
    assert lines[-1].startswith("POST /own/x -> no answer (the client left) (no error; its body never ended: no route "
                                "looked for) [own, session default"), lines


def test_a_fault_asked_that_needs_the_connection_is_misuse_where_the_server_gives_none(client):
    """GUIDE §2 and §4: `__fault=reset` (and `empty`, `malformed`, `truncate`) act on the connection; a host that hands
    the app none (this in-process client, another ASGI server) cannot give them, and the mock says so as misuse with
    the kinds it can give, rather than answering as if the fault had happened (a client test would pass for
    nothing)."""
    for kind in ("reset", "truncate"):
        answer = client.get(f"/dcs/event?d_rtbd=json&__fault={kind}")
        assert answer.status_code == 400 and answer.headers["x-mockserver-misuse"] == "1", answer.text
        problem = answer.json()
        assert problem["detail"].startswith(f"fault '{kind}' needs the connection") and problem["valid"] == ["slow"]
    assert client.get("/dcs/event?d_rtbd=json&__fault=slow&__delay=1").status_code == 200


LATE_FIRST = """\
api: own
prefix: /own
error_response: {status: "{{ error.status }}", body: {id: "{{ error.id }}"}}
errors:
  late: {status: 502, title: Late, async: true}
  gateway: {status: 502, title: Gateway}
  other-late: {status: 504, title: Other, async: true}
  busy: {status: 503, title: Busy}
  also-busy: {status: 503, title: Also busy}
routes:
  - id: plain
    method: GET
    path: /x
    can_fail_with: [also-busy]
    respond: {status: 200, body: {ok: true}}
"""


def test_code_prefers_an_error_answered_at_once_then_the_routes_own_in_file_order(tmp_path, make_client):
    """GUIDE §2: `__code=STATUS` answers "a documented error of that status, preferring one this route can give". On a
    route that starts no asynchronous work an error answered at once comes before an asynchronous one listed first
    (a client asking a 502 of a plain GET gets the API's 502 there); failing that, the asynchronous one is answered
    at once (Reactor's 502s on `GET /companies`); of several, the route's own first, the same one every time."""
    (tmp_path / "own.yaml").write_text(LATE_FIRST)
    client = make_client(scenarios=(str(tmp_path),))

    def answered(status: int) -> str:
        answer = client.get(f"/own/x?__code={status}")
        assert answer.status_code == status, answer.text
        return str(answer.json()["id"])

    assert answered(502) == "gateway"
    assert answered(504) == "other-late"
    assert answered(503) == "also-busy"  # the route's own (can_fail_with), before the API's first of that status


class Refusing(Journal):
    """A shared journal whose every write fails with `failure` (a Redis gone away, or a bug)."""

    shared = True

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure

    async def publish(self, entry: Entry) -> None:
        raise self.failure


@pytest.mark.parametrize("failure,told", [
    (RedisGone("Connection refused"), "the shared journal did not take GET /dcs/event: Connection refused"),
    (RuntimeError("a bug"), "the shared journal did not take GET /dcs/event"),
])
def test_a_journal_that_cannot_be_written_is_logged_and_the_client_still_gets_its_answer(
        make_client, caplog, monkeypatch, failure, told):
    """README (`--state redis://`: "one a request of which was answered while its entry could not be written: Redis
    went away in between"): the client gets the API's answer, not a 500 of the mock's; the log says which request's
    entry was lost, as one line for a Redis gone away (told now and then, not per request) and with its traceback
    for anything else, a bug to report."""
    monkeypatch.setattr(outage_log, "last", -outage_log.EVERY_S)  # no line of an earlier outage holds this one back
    monkeypatch.setattr(outage_log, "untold", 0)
    client = make_client()
    client.app.runtime.journal = Refusing(failure)
    caplog.set_level(logging.ERROR, logger="mockserver")
    answer = client.get("/dcs/event?d_rtbd=json")
    assert answer.status_code == 200 and "x-mockserver-internal-error" not in answer.headers
    [record] = caplog.records
    assert record.getMessage() == told and (record.exc_info is None) == isinstance(failure, RedisGone), record


def test_a_fault_refused_as_misuse_takes_no_request_number_of_its_session(client):
    """GUIDE §2 (Determinism: "the same requests in the same order within a session give byte-identical" answers): a
    request refused as the mock's misuse is no request of the imitated API, so the next answer of its session is the
    one a session that never sent it gets (what it draws drawn from the same request number)."""
    headers = {"X-Mock-Session": "refused-first", "Authorization": "Bearer t", "x-api-key": "k",
               "x-gw-ims-org-id": "o"}

    def drawn() -> list[int]:  # chaos draws from the session's request number (README, `__chaos`)
        return [client.get("/reactor/companies?__chaos=0.5", headers=headers).status_code for _ in range(12)]

    assert client.get("/reactor/companies?__fault=reset", headers=headers).status_code == 400
    after_misuse = drawn()
    assert client.post("/__admin/reset?session=refused-first").status_code == 200
    assert drawn() == after_misuse and len(set(after_misuse)) > 1


@pytest.mark.parametrize("server,base", [
    (("10.0.0.7", 8081), "http://10.0.0.7:8081"), (None, "http://localhost"),
    (("::1", 8081), "http://[::1]:8081"),
])
def test_links_of_a_request_without_host_name_the_address_the_server_listens_on(server, base):
    """RFC 9112 §3.2: an HTTP/1.0 request may come without a Host header. Links in answers (Reactor's `links.self`, a
    clientless redirect) then name the address the server listens on (ASGI `server`), or `localhost` when it gives
    none, so that a client following them reaches this mock rather than a host it never named."""
    sent = asgi_call(build_app(), "GET", "/reactor/profile", headers=REACTOR_AUTH, host=None, server=server)
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"])["data"]["links"]["self"] == f"{base}/reactor/profile"


REACTOR_HEADERS = {"Authorization": "Bearer t", "x-api-key": "k", "x-gw-ims-org-id": "o"}


def test_preference_applied_names_only_what_shaped_the_answer(client):
    """README (`Preference-Applied`: the flags applied, RFC 7240) and GUIDE §2: an error asked and answered at once
    leaves no room for a mode or a chaos draw, which do not run: only the error is named (so is it beside a `__code`,
which the ids asked overrule). An asynchronous error asked
    of a build whose library does not exist is never reported (the API refuses the build first, as Reactor does): no
    error flag is named, `__code` no more than `__error`."""
    answer = client.get("/dcs/event?d_rtbd=json&__error=300&__mode=outage&__chaos=0.5&__chaos_faults=1")
    assert answer.status_code == 200 and answer.headers["preference-applied"] == "error=300"
    decided = client.get("/dcs/event?d_rtbd=json&__error=300&__code=200")  # the ids asked decide, not the status
    assert decided.headers["preference-applied"] == "error=300"
    for flag in ("__code=502", "__error=sftp-exception"):
        refused = client.post(f"/reactor/libraries/LBnope/builds?{flag}", headers=REACTOR_HEADERS)
        assert refused.status_code == 404 and "preference-applied" not in refused.headers, refused.headers


def test_truncate_alone_cuts_the_routes_first_error_answered_at_once(client):
    """GUIDE §4 and issue 9: `truncate` sends "a documented error's status line and headers" cut short. Asked alone,
    it cuts the route's first documented error that answers at once (chaos's pool), journaled as that error, and the
    connection is closed (not reset) once its half body is sent."""
    wire = Wire()
    sent = asgi_call(client.app.app, "GET", "/reactor/companies", b"__fault=truncate&__session=cut", REACTOR_AUTH,
                     extensions={TRANSPORT_EXTENSION: wire})
    [entry] = client.get("/__admin/requests?session=cut").json()["requests"]
    [error] = entry["errors"]
    documented = {e["id"]: e["status"] for e in client.get("/__admin/catalog?api=reactor").json()}
    assert entry["fault"] == "truncate" and sent[0]["status"] == documented[error] >= 400, (entry, sent)
    assert wire.ended == "close"
    reactor = client.app.runtime.catalog.apis["reactor"]
    [route] = [r for r in reactor.routes if r.id == entry["route"]]
    pool = chaos.error_pool(reactor, route)
    assert len(pool) > 1 and error == pool[0]  # the first: the same error every time


def test_an_api_that_answers_one_error_at_a_time_names_that_one_and_every_other_flag_applied(client):
    """README (`Preference-Applied`: what was applied, RFC 7240): Braze answers one error at a time
    (`one_error_per_answer`), so of two error ids asked the one answered is named; the seed and the delay asked
    shaped the answer too and stay named, as a client that logs the header to replay a run reads them."""
    answer = client.get("/braze/campaigns/list?__error=bad-request,forbidden&__seed=3&__delay=1",
                        headers={"Authorization": "Bearer k"})
    assert answer.status_code == 400 and answer.headers["preference-applied"] == "error=bad-request, seed=3, delay=1"


def test_an_asynchronous_error_the_handler_reports_is_named_applied(client):
    """GUIDE §2 (`__error`: "an error the API reports asynchronously is reported that way on a route that starts
    asynchronous work") and README (`Preference-Applied`: what was applied): Edge's 207 embeds the upstream error
    asked, so the answer names it applied, as a client checking that its flag took effect reads it."""
    answer = client.post("/edge/ee/v2/interact?configId=ds-1&__error=EXEG-0200-504", json={"event": {"xdm": {}}})
    assert answer.status_code == 207 and answer.headers["preference-applied"] == "error=EXEG-0200-504"
    assert [e["type"].rsplit("/", 1)[1] for e in answer.json()["errors"]] == ["EXEG-0200-504"]
