"""The journal as the verdict and the fixture read it: answer headers, body fingerprint, redaction, queries."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from mockserver.journal import BODY_CAP, BODY_KEEP, Entry, Journal
from tests.testing.conftest import BRAZE_KEY, BRAZE_TRACK, EDGE_EVENT


def test_an_entry_keeps_the_answer_headers_and_redacts_secrets_when_read(mockserver):
    httpx.post(mockserver.url("edge") + "/ee/v2/interact?datastreamId=ds-1&__error=rate-limited", json=EDGE_EVENT,
               headers={"Authorization": "Bearer secret-token", "x-api-key": "key-1", "Cookie": "demdex=123",
                        "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0"})
    [entry] = mockserver.requests()
    assert ["Retry-After", "1"] in entry["reply_headers"]
    assert entry["status"] == 429 and entry["errors"] == ["rate-limited"] and entry["route"] == "interact-v2"
    assert entry["query"] == "datastreamId=ds-1" and entry["flags"] == ["error=rate-limited"]
    headers = dict(entry["headers"])
    assert headers["authorization"] == "Bearer [redacted]" and headers["x-api-key"] == "[redacted]"
    assert headers["cookie"] == "[redacted]" and "secret-token" not in str(entry)
    assert headers["proxy-authorization"] == "Basic [redacted]" and "cHJveHk6c2VjcmV0" not in str(entry)
    assert entry["virtual_time"] and entry["time"] and entry["latency_ms"] > 0
    assert entry["session"] == mockserver.session


def test_credentials_in_the_query_or_the_body_are_redacted_when_read(mockserver):
    """Braze still reads a legacy `api_key` in the query or the JSON body; clientless DCR takes its
    `client_secret` in a form; a body cut at the cap mid-key still hides what is left of it."""
    httpx.post(mockserver.url("braze") + "/users/track?api_key=query-key&x=1",
               json={"api_key": "body-key", **BRAZE_TRACK})
    httpx.post(mockserver.url("clientless") + "/o/client/token",
               data={"grant_type": "client_credentials", "client_id": "c1", "client_secret": "form-secret"})
    httpx.post(mockserver.url("braze") + "/users/track", headers=BRAZE_KEY,
               content=b'{"attributes": [], "pad": "' + b"x" * (BODY_CAP - 60) + b'", "api_key": "cut-key-' + b"k" * 80)
    braze, clientless, cut = mockserver.requests()
    assert braze["query"] == "api_key=[redacted]&x=1" and '"api_key":"[redacted]"' in braze["body"]
    assert "client_secret=[redacted]" in clientless["body"] and "client_id=c1" in clientless["body"]
    assert "cut-key" not in cut["body"] and cut["body"].endswith('"api_key": "[redacted]"')
    assert "query-key" not in str(braze) and "body-key" not in str(braze) and "form-secret" not in str(clientless)


def test_queries_by_api_route_status_and_error(mockserver):
    with httpx.Client(base_url=mockserver.url("braze"), headers=BRAZE_KEY) as braze:
        braze.post("/users/track", json=BRAZE_TRACK)
        braze.post("/users/track?__error=rate-limited", json=BRAZE_TRACK)
    httpx.get(mockserver.url("dcs") + "/event?d_site=%esid!")
    assert [e["api"] for e in mockserver.requests()] == ["braze", "braze", "dcs"]
    assert [e["status"] for e in mockserver.requests(api="braze")] == [201, 429]
    assert len(mockserver.requests(route="users-track")) == 2
    assert [e["errors"] for e in mockserver.requests(status=429)] == [["rate-limited"]]
    assert [e["api"] for e in mockserver.requests(error="311")] == ["dcs"]
    assert len(mockserver.requests(limit=1)) == 1


@pytest.mark.mockserver(allow_unmatched=True)  # else the fixture fails the test at teardown
def test_unmatched_lists_the_requests_no_route_matched(mockserver):
    httpx.get(mockserver.url("braze") + "/users/nothing-here", headers=BRAZE_KEY)
    httpx.post(mockserver.url("braze") + "/users/track", headers=BRAZE_KEY, json=BRAZE_TRACK)
    # under no API (a base URL without its prefix): the mock's misuse, and no route matched it either
    assert httpx.get(mockserver.url("braze").removesuffix("/braze") + "/users/track").status_code == 400
    # a flag the mock does not know, on a route: misuse, but refused before its route was looked for
    assert httpx.get(mockserver.url("braze") + "/users/track?__nope=1", headers=BRAZE_KEY).status_code == 400
    assert [e["path"] for e in mockserver.unmatched()] == ["/braze/users/nothing-here", "/users/track"]


def test_bodies_are_capped_when_kept_and_when_shown():
    journal = Journal(size=2)
    entry = Entry(0.0, "POST", "/x", b"", [], "edge")
    entry.body = b"a" * (BODY_KEEP + 10)
    journal.record(entry)
    [shown] = journal.query()
    assert journal.entries[0][10] == b"a" * BODY_KEEP
    assert len(shown["body"]) == BODY_CAP and shown["body_size"] == BODY_KEEP + 10 and len(shown["body_hash"]) == 16


def test_set_cookie_in_answers_is_redacted_but_the_verdict_reads_raw_values():
    journal = Journal(size=2)
    entry = Entry(0.0, "GET", "/dcs/event", b"", [(b"cookie", b"demdex=42")], "dcs")
    entry.reply_headers = [("Set-Cookie", "demdex=42; Path=/")]
    journal.record(entry)
    assert journal.query()[0]["reply_headers"] == [["Set-Cookie", "[redacted]"]]
    raw = journal.query(redact=False)[0]
    assert raw["reply_headers"] == [["Set-Cookie", "demdex=42; Path=/"]] and raw["headers"] == [["cookie", "demdex=42"]]


@pytest.mark.mockserver(allow_unmatched=True)  # the second request matches no route, on purpose
def test_a_request_refused_before_routing_is_journaled_under_its_route(mockserver):
    """Reactor's gateway refuses a request without a token before any route is tried: on a route's
    path it is that route's request (not unmatched, so the fixture does not fail the test for it)."""
    assert httpx.get(mockserver.url("reactor") + "/companies").status_code == 401
    assert httpx.get(mockserver.url("reactor") + "/no-such-things").status_code == 401
    first, second = mockserver.requests()
    assert first["route"] is not None and first["errors"] == ["authentication-failure"]
    assert second["route"] is None
    assert [e["path"] for e in mockserver.unmatched()] == ["/reactor/no-such-things"]


def _record(journal: Journal, session: str, errors: tuple[str, ...] = ()) -> None:
    entry = Entry(0.0, "GET", "/x", b"", [], "edge")
    entry.session, entry.errors = session, errors
    journal.record(entry)


def test_the_journal_knows_which_sessions_its_bound_cut():
    journal = Journal(size=3)
    for session in ("a", "a", "b", "b"):
        _record(journal, session)
    assert [e["session"] for e in journal.query()] == ["a", "b", "b"]  # a's first entry was pushed out
    assert not journal.complete("a") and journal.complete("b") and not journal.complete()
    assert journal.complete("never-seen")
    journal.clear("a")
    assert journal.complete("a") and journal.complete("b")
    _record(journal, "a")
    _record(journal, "c")  # pushes b's first entry out
    assert journal.complete("a") and not journal.complete("b") and journal.complete("c")
    journal.clear()
    assert journal.complete() and journal.complete("b")


def test_the_journal_keeps_what_at_most_n_sessions_were_served_and_the_whole_server_keeps_all():
    journal = Journal(size=100, sessions=2)
    _record(journal, "a", ("rate-limited",))
    _record(journal, "b", ("bad-request",))
    _record(journal, "c", ("internal-error",))
    assert sorted(journal.served) == ["b", "c"] and sorted(journal.first) == ["b", "c"]
    assert journal.served_ids("a") == {} and journal.served_ids("c") == {"edge": {"internal-error"}}
    assert journal.served_ids() == {"edge": {"rate-limited", "bad-request", "internal-error"}}
    assert journal.complete("a")


def test_a_verdict_over_a_cut_window_says_so(make_client):
    client = make_client(journal_size=3)
    braze = {"Authorization": "Bearer k", "X-Mock-Session": "long"}
    for _ in range(4):
        client.post("/braze/users/track", json={"attributes": [{"external_id": "u", "a": 1}]}, headers=braze)
    verdict = client.get("/__admin/verdict", params={"session": "long"}).json()
    assert verdict["clean"] and verdict["requests"] == 3 and verdict["complete"] is False
    from mockserver.verdict import describe

    assert "incomplete: the journal" in describe(verdict)
    other = client.get("/__admin/verdict", params={"session": "other"}).json()
    assert other["complete"] is True and other["requests"] == 0


def test_a_request_with_megabytes_of_headers_keeps_64_kib_of_them_in_the_journal(mockserver):
    """uvicorn takes a 1 MB header and 100 of 16 KB: kept whole, 10,000 such entries were gigabytes."""
    huge = {"X-Huge": "v" * 1_000_000, **{f"X-Many-{i}": "c" * 16_000 for i in range(100)}}
    httpx.post(mockserver.url("braze") + "/users/track", json=BRAZE_TRACK, headers={**BRAZE_KEY, **huge})
    [entry] = mockserver.requests()
    kept = sum(len(name) + len(value) for name, value in entry["headers"])
    assert kept <= 65536 + 100 and entry["headers"][-1][0] == "x-mockserver-journal-cut"
    assert entry["status"] == 201  # the API still read every header


def test_a_signed_authorization_header_keeps_what_identifies_the_client_and_hides_its_signature(client):
    """Adobe Pass's legacy header (api-facts.md): `POST requestor_id=.., nonce=.., ..., public_key=..,
    signature=<HMAC>`. The journal shows who signed and what (the requestor, the URI), never the HMAC."""
    signed = ("POST requestor_id=REQ1, nonce=n-1, signature_method=HMAC-SHA1, request_time=1700000000000, "
              "request_uri=/regcode, public_key=pk-1")
    client.post("/clientless/reggie/v1/REQ1/regcode", headers={"Authorization": f"{signed}, signature=SECRET+HMAC/="})
    [entry] = client.get("/__admin/requests?limit=1").json()["requests"]
    assert ["authorization", f"{signed}, signature=[redacted]"] in entry["headers"], entry["headers"]
    assert "SECRET+HMAC" not in str(entry)


def test_a_body_is_shown_up_to_2_kib_and_kept_up_to_64_kib():
    """README "A journal entry": `body` (its first 2 KiB); docs/architecture.md: body kept up to 64 KiB
    (its size and hash read from what is kept)."""
    journal = Journal(size=4)
    for size in (2048, 2049, 65536, 65537):
        entry = Entry(0.0, "POST", "/x", b"", [], "edge")
        entry.body = b"a" * size
        journal.record(entry)
    shown = journal.query()
    assert [len(e["body"]) for e in shown] == [2048, 2048, 2048, 2048]
    assert [e["body_size"] for e in shown] == [2048, 2049, 65536, 65537]
    assert [len(e[10]) for e in journal.entries] == [2048, 2049, 65536, 65536]
    assert shown[3]["body_hash"] == hashlib.sha1(b"a" * 65536).hexdigest()[:16] == shown[2]["body_hash"]


@pytest.mark.parametrize("over", [0, 1])
def test_request_headers_are_kept_whole_up_to_64_kib(over):
    """README: `headers` ... the first 64 KiB (names and values), then an `x-mockserver-journal-cut` note."""
    headers = [(b"x-a", b"v" * (65536 - 3 - 3 - 1)), (b"x-b", b"w" * (1 + over))]
    journal = Journal(size=1)
    journal.record(Entry(0.0, "GET", "/x", b"", headers, "edge"))
    [entry] = journal.query()
    if over:
        assert entry["headers"] == [["x-a", "v" * 65529], ["x-mockserver-journal-cut", "1 headers, 5 bytes not kept"]]
    else:
        assert entry["headers"] == [["x-a", "v" * 65529], ["x-b", "w"]]


@pytest.mark.parametrize(("settings", "kept"), [
    ({"journal_size": 1}, ["/dcs/event?d_mid=3"]),
    ({"journal_size": 2}, ["/dcs/event?d_mid=2", "/dcs/event?d_mid=3"]),
])
def test_the_journal_keeps_the_last_journal_size_requests_numbered_from_1(make_client, settings, kept):
    """README: the last `--journal-size` requests of all sessions; `--no-journal` keeps none. `seq`
    numbers every request the server answered, those pushed out included."""
    client = make_client(**settings)
    for n in (1, 2, 3):
        client.get(f"/dcs/event?d_mid={n}")
    entries = client.get("/__admin/requests").json()["requests"]
    assert [f"{e['path']}?{e['query']}" for e in entries] == kept
    assert [e["seq"] for e in entries] == [1, 2, 3][3 - len(kept):]


@pytest.mark.parametrize(("headers", "kept", "note"), [
    ([(b"x-a", b"v" * 65529), (b"x-b", b"w"), (b"x-c", b"zz")], ["x-a", "x-b"], "1 headers, 5 bytes not kept"),
    ([(b"x-a", b"v" * 65531), (b"x-b", b"ww"), (b"x", b"")], ["x-a"], "2 headers, 6 bytes not kept"),
])
def test_request_headers_are_kept_in_order_until_the_first_that_does_not_fit(headers, kept, note):
    """README: the first 64 KiB: a header filling them exactly is kept; after the first that does not
    fit none is (a small one after it neither), and the note counts what was left out."""
    journal = Journal(size=1)
    journal.record(Entry(0.0, "GET", "/x", b"", headers, "edge"))
    [entry] = journal.query()
    assert [name for name, _ in entry["headers"]] == [*kept, "x-mockserver-journal-cut"]
    assert entry["headers"][-1][1] == note


def test_coverage_of_a_session_adds_up_every_error_served_to_it(client):
    """GUIDE 2: `/__admin/coverage?session=`: the documented errors served so far, every one of them
    (the second error served to a session does not replace the first)."""
    session = {"X-Mock-Session": "cov"}
    for asked in ("300", "301", "300"):
        client.get(f"/dcs/event?d_mid=1&__error={asked}", headers=session)
    client.post("/edge/ee/v2/interact?datastreamId=ds-1&__error=rate-limited", json={"event": {}}, headers=session)
    client.get("/dcs/event?d_mid=1&__error=302", headers={"X-Mock-Session": "other"})
    apis = client.get("/__admin/coverage?session=cov").json()["apis"]
    assert sorted(apis["dcs"]["served_ids"]) == ["300", "301"] and apis["edge"]["served_ids"] == ["rate-limited"]
    assert (apis["dcs"]["requests"], apis["edge"]["requests"]) == (3, 1)  # README: requests counts, this session's
    whole = client.get("/__admin/coverage").json()["apis"]
    assert whole["dcs"]["requests"] == 4 and sorted(whole["dcs"]["served_ids"]) == ["300", "301", "302"]
    # a session's reset forgets its coverage, not the whole server's (until a full reset; Redis keeps it alike)
    client.post("/__admin/reset?session=other")
    assert client.get("/__admin/coverage?session=other").json()["apis"]["dcs"]["served_ids"] == []
    assert sorted(client.get("/__admin/coverage").json()["apis"]["dcs"]["served_ids"]) == ["300", "301", "302"]
    client.post("/__admin/reset")
    assert client.get("/__admin/coverage").json()["served"] == 0


def test_an_entry_without_query_or_body_shows_them_empty_and_a_body_not_utf8_replaced(client):
    client.get("/dcs/event")
    client.post("/braze/users/track", content=b'{"a": "\xff"}', headers={"Authorization": "Bearer k"})
    bare, odd = client.get("/__admin/requests").json()["requests"]
    assert (bare["query"], bare["body"], bare["body_size"]) == ("", "", 0)
    assert bare["body_hash"] == hashlib.sha1(b"").hexdigest()[:16]
    assert odd["body"] == '{"a": "\ufffd"}' and odd["body_size"] == 10


def test_limit_gives_the_last_n_entries_and_limit_0_none(client):
    """README: `limit=N`: the last N."""
    for n in (1, 2, 3):
        client.get(f"/dcs/event?d_mid={n}")
    def queries(limit: int) -> list[str]:
        return [e["query"] for e in client.get(f"/__admin/requests?limit={limit}").json()["requests"]]
    assert (queries(2), queries(1), queries(0)) == (["d_mid=2", "d_mid=3"], ["d_mid=3"], [])


def test_a_refused_request_is_journaled_in_the_session_it_names_or_the_default_one(client):
    """A request that names no session is the default session's, refused or not: `?session=default` lists a
    misuse too, as the verdict counts it there. One that names its session in any form is in that one; one
    whose only name is not a valid session is in none."""
    sent = [("/dcs/event?__bogus=1", {}), ("/dcs/event?__bogus=1", {"Prefer": "session=by-prefer"}),
            ("/dcs/event?__bogus=1&__session=by-query", {"Prefer": "session=by-prefer"}),
            ("/dcs/event?__bogus=1", {"X-Mock-Session": "by-header", "Prefer": "session=by-prefer"}),
            ("/dcs/event?__bogus=1", {"X-Mock-Session": "not a session name"}), ("/dcs/event?d_mid=1", {})]
    for url, headers in sent:
        client.get(url, headers=headers)
    entries = client.get("/__admin/requests").json()["requests"]
    assert [(e["misuse"], e["session"]) for e in entries] == [
        (True, "default"), (True, "by-prefer"), (True, "by-query"), (True, "by-header"), (True, None),
        (False, "default")]
    listed = client.get("/__admin/requests", params={"session": "default"}).json()["requests"]
    assert [(e["misuse"], e["query"]) for e in listed] == [(True, ""), (False, "d_mid=1")]  # flags are not the query


def test_requests_that_never_reached_an_api_are_journaled_with_nothing_served(client):
    """README: `status` is `0` when no status line reached the client (a client gone before its body ended,
    which no API answers); a refused request (misuse) is journaled in the session it names when that is a
    valid name. Neither reached a route, the virtual clock or a fault: those fields are null, the lists empty."""
    import asyncio

    app = client.app.app  # the app itself, under the test client's DecodedOnce
    chunks = [{"type": "http.request", "body": b'{"external_id"', "more_body": True}, {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return chunks.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    path = "/braze/users/track"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-length", b"40"), (b"authorization", b"Bearer k")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080)}
    asyncio.run(app(scope, receive, send))
    assert sent == []
    refused = client.get("/dcs/event", headers={"X-Mock-Session": "not a session name"})
    assert refused.status_code == 400 and refused.headers["X-Mockserver-Misuse"] == "1"
    gone, misuse = client.get("/__admin/requests").json()["requests"]
    assert (gone["status"], gone["body"], gone["body_size"], gone["misuse"]) == (0, '{"external_id"', 14, False)
    assert (misuse["status"], misuse["misuse"], misuse["session"]) == (400, True, None)
    for entry in (gone, misuse):
        assert (entry["route"], entry["virtual_time"], entry["fault"], entry["errors"]) == (None, None, None, [])
    assert (gone["flags"], gone["reply_headers"]) == ([], [])


def _recorded(journal: Journal, session: str | None, path: str = "/x") -> None:
    entry = Entry(0.0, "GET", path, b"", [], "edge")
    entry.session = session
    journal.record(entry)


def test_a_session_forgotten_and_seen_again_is_incomplete_once_its_entries_are_pushed_out():
    """With more sessions than --max-sessions, a session's first seq was forgotten; seen again, it started a
    new one, and a verdict of it said complete though its first requests were gone."""
    journal = Journal(size=4, sessions=2)
    _recorded(journal, "a")
    _recorded(journal, "b")
    _recorded(journal, "c")  # "a" forgotten among the sessions
    _recorded(journal, "a")
    assert journal.complete("a")
    _recorded(journal, "d")  # pushes a's first entry out
    assert not journal.complete("a") and journal.complete("c") and journal.complete("d")
    assert not journal.complete()
    journal.clear("a")
    assert journal.complete("a") and [e["session"] for e in journal.query()] == ["b", "c", "d"]


def test_a_read_decodes_only_the_entries_it_can_answer_with(monkeypatch):
    """A full journal decoded whole for each read took 0.2 s, every other request waiting (a fixture's teardown
    reads its session's twice): a session's read decodes its entries, `limit=N` the last N."""
    import marshal

    from mockserver import journal as module

    journal = Journal(size=1000)
    for n in range(1000):
        _recorded(journal, "mine" if n in (10, 500, 990) else f"other-{n % 7}", f"/x{n}")
    decoded: list[bytes] = []
    loads = marshal.loads
    monkeypatch.setattr(module.marshal, "loads", lambda data: decoded.append(data) or loads(data))
    assert [e["path"] for e in journal.query(session="mine")] == ["/x10", "/x500", "/x990"]
    assert len(decoded) == 3
    assert [e["path"] for e in journal.query(limit=2)] == ["/x998", "/x999"] and len(decoded) == 5
    assert journal.requests_by_api("mine") == {"edge": 3} and len(decoded) == 8
