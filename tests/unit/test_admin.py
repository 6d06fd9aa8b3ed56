"""The admin API's answers to its own misuse, over ASGI: problem+json, marked, with the valid values."""

from __future__ import annotations

import pytest


def is_misuse(response, status: int = 400) -> bool:  # type: ignore[no-untyped-def]
    return (response.status_code == status and response.headers["content-type"] == "application/problem+json"
            and response.headers["x-mockserver-misuse"] == "1")


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("POST", "/__admin/health", "GET"), ("POST", "/__admin/catalog", "GET"), ("PUT", "/__admin/requests", "DELETE"),
    ("GET", "/__admin/reset", "POST"), ("DELETE", "/__admin/clock", "POST"), ("PUT", "/__admin/modes", "DELETE"),
    ("POST", "/__admin/verdict", "GET"), ("POST", "/__admin/requests/unmatched", "GET"),
])
def test_a_method_an_admin_route_does_not_take_is_a_marked_405_with_allow(client, method, path, allow):
    response = client.request(method, path)
    assert is_misuse(response, 405), (response.headers, response.text)
    assert allow in response.headers["allow"] and allow in response.json()["valid"]
    assert response.json()["status"] == 405 and method in response.json()["detail"]


def test_an_unknown_admin_route_is_misuse_listing_the_routes(client):
    response = client.get("/__admin/nope")
    assert is_misuse(response), (response.headers, response.text)
    assert "/__admin/nope" in response.json()["detail"] and "/__admin/health" in response.json()["valid"]


def test_delete_requests_takes_only_a_session_and_forgets_nothing_otherwise(client):
    client.get("/braze/nope")
    refused = client.delete("/__admin/requests?api=braze")
    assert is_misuse(refused) and refused.json()["valid"] == ["session"]
    assert client.get("/__admin/requests").json()["count"] == 1
    assert client.delete("/__admin/requests?session=default").status_code == 204
    assert client.get("/__admin/requests").json()["count"] == 0


@pytest.mark.parametrize(("method", "path", "valid"), [
    ("POST", "/__admin/reset?sesion=a", ["session"]),
    ("DELETE", "/__admin/modes?mod=outage", ["api", "mode", "session"]),
    ("GET", "/__admin/requests?sesion=a", ["api", "error", "limit", "route", "session", "status"]),
    ("GET", "/__admin/requests/unmatched?apis=braze", ["api", "session"]),
    ("GET", "/__admin/coverage?sesion=a", ["api", "session"]),
    ("GET", "/__admin/verdict?sesion=a", ["api", "session"]), ("GET", "/__admin/catalog?apis=braze", ["api"]),
    ("POST", "/__admin/reload?scenarios=/elsewhere", []), ("GET", "/__admin/clock?session=a", []),
])
def test_a_query_parameter_an_admin_route_does_not_take_is_misuse_and_changes_nothing(client, method, path, valid):
    """A misspelt filter is not 'no filter': `reset?sesion=a` would forget every session, `modes?mod=` every mode."""
    client.post("/__admin/modes", json={"mode": "outage", "api": "braze"})
    client.get("/braze/nope")
    response = client.request(method, path)
    assert is_misuse(response), (response.status_code, response.text)
    assert response.json().get("valid", []) == valid and path.split("?")[0] in response.json()["detail"]
    assert client.get("/__admin/requests").json()["count"] == 1
    assert len(client.get("/__admin/modes").json()["active"]) == 1


def test_coverage_and_unmatched_take_an_api(client):
    client.get("/braze/nope")
    client.get("/reactor/nope")
    coverage = client.get("/__admin/coverage?api=braze").json()
    assert list(coverage["apis"]) == ["braze"] and coverage["in_play"] == ["braze"]
    unmatched = client.get("/__admin/requests/unmatched?api=reactor").json()["requests"]
    assert [e["path"] for e in unmatched] == ["/reactor/nope"]
    assert is_misuse(client.get("/__admin/coverage?api=brazil"))


@pytest.mark.parametrize("limit", ["-1", "abc", "1.5", "+5", "1_000", " 7", "\u0667", "9" * 5000])
def test_a_limit_that_is_not_a_count_is_misuse(client, limit):
    assert is_misuse(client.get("/__admin/requests", params={"limit": limit}))


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "abc"}, "limit"), ({"status": "abc"}, "status"), ({"limit": "1", "status": "4xx"}, "status"),
    ({"status": "+404"}, "status"), ({"status": "\u0664\u0660\u0664"}, "status"), ({"status": "99"}, "status"),
])
def test_a_journal_filter_that_is_not_a_number_is_misuse_naming_it_with_the_valid_values(client, params, field):
    """README: a bad value sent to a parameter is answered with the list of valid values."""
    response = client.get("/__admin/requests", params=params)
    assert is_misuse(response) and response.json().get("valid"), response.text
    assert response.json()["detail"].startswith(field), response.text


def test_a_clock_body_that_is_not_json_is_misuse_with_the_valid_commands(client):
    response = client.post("/__admin/clock", content=b"advance 1s")
    assert is_misuse(response) and response.json().get("valid") == ["advance", "freeze", "reset"], response.text


@pytest.mark.parametrize(("body", "field"), [
    ({}, "advance"), ({"advance": "-5s"}, "advance"), ({"advance": "soon"}, "advance"),
    ({"freeze": "yes"}, "freeze"), ({"reset": 1}, "reset"), ({"bogus": 1}, "bogus"),
    ({"freeze": "2026-01-01T00:00:00"}, "freeze"), ({"freeze": -1}, "freeze"),  # no offset; before 1970
])
def test_a_clock_command_that_means_nothing_is_misuse_naming_the_field(client, body, field):
    before = client.get("/__admin/clock").json()
    response = client.post("/__admin/clock", json=body)
    assert is_misuse(response) and field in response.json()["detail"], response.text
    after = client.get("/__admin/clock").json()
    assert (after["offset_s"], after["frozen"]) == (before["offset_s"], before["frozen"])


@pytest.mark.parametrize("instant", [1767225600, 1767225600.0, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"])
def test_the_clock_freezes_at_an_instant_given_as_epoch_seconds_or_iso_8601(client, instant):
    try:
        frozen = client.post("/__admin/clock", json={"freeze": instant}).json()
        assert (frozen["now"], frozen["frozen"]) == (1767225600, True)
        assert client.post("/__admin/clock", json={"advance": "90s"}).json()["now"] == 1767225690
    finally:
        client.post("/__admin/clock", json={"reset": True})


def test_advancing_the_clock_by_0_is_fine(client):
    """A retry library's first sleep is often 0 s; a test swapping its sleep for the clock sends advance 0."""
    assert client.post("/__admin/clock", json={"advance": 0}).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"mode": "outage", "ttl": 0}, "ttl"), ({"mode": "outage", "ttl": "-5s"}, "ttl"),
    ({"mode": "outage", "ttl": "soon"}, "ttl"), ({"mode": "outage", "on": "yes"}, "on"),
    ({"mode": "outage", "ttl": 1e300}, "ttl"), ({"mode": "outage", "ttl": "9999999999999999999999s"}, "ttl"),
    ({"mode": "outage", "ttl": 253402300000}, "ttl"),  # shorter than the year 9999, but ends past it from now
])
def test_a_mode_switch_with_a_bad_ttl_or_on_is_misuse_and_switches_nothing(client, body, field):
    response = client.post("/__admin/modes", json=body)
    assert is_misuse(response) and response.json()["detail"].startswith(f"{field}: "), response.text
    assert client.get("/__admin/modes").json()["active"] == []


@pytest.mark.parametrize(("query", "valid"), [("mode=meltdown", "outage"), ("mode=outage&api=nope", "braze")])
def test_switching_off_an_unknown_mode_or_api_is_misuse(client, query, valid):
    client.post("/__admin/modes", json={"mode": "outage", "api": "braze"})
    response = client.delete(f"/__admin/modes?{query}")
    assert is_misuse(response) and valid in response.json()["valid"], response.text
    assert len(client.get("/__admin/modes").json()["active"]) == 1


def test_the_dispatcher_and_the_admin_api_write_misuse_alike(client):
    """Same problem type, same bytes shape: compact JSON from both (a path no API serves, a bad admin query)."""
    by_dispatcher, by_admin = client.get("/nosuch"), client.get("/__admin/catalog?api=nope")
    assert is_misuse(by_dispatcher) and is_misuse(by_admin)
    assert by_dispatcher.text.startswith('{"type":"urn:mockserver:problem:misuse","title":')
    assert by_admin.text.startswith('{"type":"urn:mockserver:problem:misuse","title":')


DEEP = ["[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000]


@pytest.mark.parametrize("text", [*DEEP, '{"advance": 1e999}', '{"advance": NaN}',
                                  '{"advance": "' + "9" * 400 + 's"}', '{"advance": "999999999999d"}',
                                  '{"advance": ' + "9" * 400 + "}", '{"freeze": 1e300}'])
def test_a_hostile_clock_body_is_misuse_and_the_clock_still_prints_a_date(client, text):
    """JSON nested past Python's recursion limit, a number JSON reads as infinity or NaN, or an advance past
    year 9999 (where no Date header can be written: every later answer was a 500) moves nothing."""
    before = client.get("/__admin/clock").json()
    response = client.post("/__admin/clock", content=text.encode())
    assert is_misuse(response), response.text
    after = client.get("/__admin/clock").json()
    assert (after["offset_s"], after["frozen"]) == (before["offset_s"], before["frozen"])
    assert client.get("/braze/users/track").headers["date"]


@pytest.mark.parametrize("text", [*DEEP, '{"mode": "outage", "ttl": 1e999}', '{"mode": "outage", "ttl": NaN}',
                                  '{"mode": "outage", "ttl": Infinity}',
                                  '{"mode": "outage", "ttl": "' + "9" * 400 + 's"}'])
def test_a_hostile_mode_switch_body_is_misuse_and_switches_nothing(client, text):
    response = client.post("/__admin/modes", content=text.encode())
    assert is_misuse(response), response.text
    assert client.get("/__admin/modes").json()["active"] == []


NAMES = "1-128 letters, digits or . _ : @ -, not dots alone"


@pytest.mark.parametrize(("body", "valid"), [({"mode": "outage", "api": ["braze"]}, "braze"),
                                             ({"mode": "outage", "api": {}}, "braze"),
                                             ({"mode": "outage", "session": 5}, NAMES),
                                             ({"mode": "outage", "session": ["s1"]}, NAMES)])
def test_a_mode_switch_naming_its_api_or_session_by_no_string_is_misuse_and_switches_nothing(client, body, valid):
    """JSON gives a list or a number where a name goes: misuse naming the valid ones (it was a TypeError 500)."""
    response = client.post("/__admin/modes", json=body)
    assert is_misuse(response) and valid in response.json()["valid"], response.text
    assert client.get("/__admin/modes").json()["active"] == []


PAGE_ELSEWHERE = [  # what browsers send with a page's fetch() or form to the mock on 127.0.0.1
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://localhost:8080", "Sec-Fetch-Site": "same-site"},  # another port, or localhost vs 127.0.0.1
    {"Origin": "https://evil.example"},  # a browser without Sec-Fetch-* (Safari before 16.4)
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},  # a sandboxed frame, a file:// page
    {"Sec-Fetch-Site": "cross-site"},  # a form's navigation or no-cors fetch whose Origin a policy left off
]
CHANGES = [("POST", "/__admin/modes", '{"mode": "outage", "api": "braze"}'), ("POST", "/__admin/reset", ""),
           ("POST", "/__admin/clock", '{"advance": "3650d"}'), ("DELETE", "/__admin/requests", ""),
           ("DELETE", "/__admin/modes", ""), ("POST", "/__session/s1/__admin/modes", '{"mode": "outage"}')]


@pytest.mark.parametrize("page", PAGE_ELSEWHERE)
@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_a_page_of_another_site_changes_nothing_through_the_admin_api(client, page, method, path, body):
    """A simple request (text/plain: no preflight) or a form reaches the server whatever CORS says; the
    page cannot read the answer, but the outage would be on (MockServer CVE-2021-32827, Mockoon GHSA-rqx4)."""
    client.post("/__admin/modes", json={"mode": "flaky", "api": "edge"})
    client.get("/braze/users/track")
    before = (client.get("/__admin/modes").json()["active"], client.get("/__admin/clock").json()["offset_s"],
              client.get("/__admin/requests").json()["count"])
    headers = {"Host": "127.0.0.1:8080", "Content-Type": "text/plain", **page}
    refused = client.request(method, path, content=body.encode(), headers=headers)
    assert is_misuse(refused, 403) and "access-control-allow-origin" not in refused.headers, refused.text
    assert (client.get("/__admin/modes").json()["active"], client.get("/__admin/clock").json()["offset_s"],
            client.get("/__admin/requests").json()["count"]) == before


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_a_page_dns_rebound_to_the_mock_changes_nothing(client, method, path, body):
    """rebind.example resolves to the attacker, then to 127.0.0.1: its page is same-origin with the mock,
    and its POST says so (what Chromium sends: tests/e2e/test_cors_browser.py)."""
    page = {"Host": "rebind.example:8080", "Origin": "http://rebind.example:8080", "Content-Type": "text/plain"}
    assert is_misuse(client.request(method, path, content=body.encode(), headers=page), 403)
    assert client.get("/__admin/modes").json()["active"] == []


@pytest.mark.parametrize("headers", [
    {},  # curl, httpx, the pytest fixture, a health check: no browser header at all
    {"Host": "mockserver:8080"},  # a CI service container reached by its service name
    {"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"},
    {"Host": "[::1]:8080", "Origin": "http://[::1]:8080"},
    {"Host": "localhost", "Origin": "http://localhost"},
])
def test_clients_and_the_mocks_own_pages_still_change_state(client, headers):
    response = client.post("/__admin/modes", json={"mode": "outage", "api": "braze", "session": "s1"}, headers=headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["active"]) == 1


def test_a_url_typed_in_the_address_bar_still_reads_the_admin_api_and_pages_elsewhere_cannot(client):
    typed = client.get("/__admin/requests", headers={"Host": "mockserver:8080", "Sec-Fetch-Site": "none"})
    assert typed.status_code == 200
    page = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    elsewhere = client.get("/__admin/requests", headers=page)
    assert elsewhere.status_code == 200 and "access-control-allow-origin" not in elsewhere.headers  # unreadable there
    peeked = client.head("/__admin/requests", headers=page)  # HEAD reads, as GET does: nothing changes
    assert peeked.status_code == 200 and "access-control-allow-origin" not in peeked.headers


@pytest.mark.parametrize("headers", [
    {"Host": "127.0.0.1", "Origin": "http://127.0.0.1:80"},  # the scheme's default port written out (RFC 6454 4)
    {"Host": "localhost", "Origin": "https://LOCALHOST:443"},
    {"Host": "app.localhost:8080", "Origin": "http://app.localhost:8080"},  # *.localhost is loopback (RFC 6761 6.3)
    {"Host": "mockserver:8080", "Origin": "null", "Sec-Fetch-Site": "none"},  # the user's own act: no page sent it
])
def test_the_same_origin_however_written_and_the_users_own_acts_change_state(client, headers):
    response = client.post("/__admin/modes", json={"mode": "outage", "api": "braze"}, headers=headers)
    assert response.status_code == 200, response.text
    assert len(client.get("/__admin/modes").json()["active"]) == 1


@pytest.mark.parametrize(("page", "said"), [
    ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
     "a page of https://evil.example may not change the mock's state (Sec-Fetch-Site: cross-site)"),
    ({"Sec-Fetch-Site": "cross-site"}, "a page of another site may not change the mock's state"),
    ({"Host": "rebind.example:8080", "Origin": "http://rebind.example:8080"},
     "a page served as 'rebind.example:8080' may not use the admin API (DNS rebinding): "
     "open it as http://127.0.0.1, http://localhost or the server's IP address"),
])
def test_a_refused_page_is_told_why_and_what_to_open_instead(client, page, said):
    """The 403's detail is what the developer reads in the browser's network tab."""
    refused = client.post("/__admin/reset", headers={"Content-Type": "text/plain", **page})
    assert is_misuse(refused, 403) and refused.json()["detail"].startswith(said), refused.text


@pytest.mark.parametrize("path", ["/__admin/modes", "/__admin/clock"])
def test_a_client_gone_before_its_admin_body_ended_leaves_no_traceback(path):
    """A Content-Length longer than the body sent, then the client leaves: Starlette raised ClientDisconnect
    out of the app (uvicorn logged a traceback); the dispatcher already records such a request quietly."""
    import asyncio

    from mockserver.app import build_app

    app = build_app()
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-length", b"40")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8080)}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400 and app.runtime.clock.describe()["offset_s"] == 0


GONE = "redis://:secret@127.0.0.1:1/0"  # nothing listens on port 1: refused at once, no redis-server needed


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/__admin/requests", None), ("DELETE", "/__admin/requests", None),
    ("GET", "/__admin/requests/unmatched", None), ("POST", "/__admin/reset", None),
    ("POST", "/__admin/reset?session=a", None), ("GET", "/__admin/clock", None),
    ("POST", "/__admin/clock", {"advance": "1s"}), ("GET", "/__admin/modes", None),
    ("POST", "/__admin/modes", {"mode": "outage"}), ("DELETE", "/__admin/modes", None),
    ("GET", "/__admin/coverage", None), ("GET", "/__admin/verdict", None),
    ("GET", "/__session/s/__admin/requests", None),
])
def test_an_admin_route_that_needs_the_shared_state_gone_away_answers_the_one_line_503(make_client, caplog, method,
                                                                                        path, body, monkeypatch):
    """As the API routes and the health do (README, Command line): a 503 problem naming the store, its password
    left out, and one line in the log; not Starlette's bare 500 'Internal Server Error' with a traceback."""
    from mockserver.engine import redis_state

    monkeypatch.setattr(redis_state, "outage_log", redis_state.OutageLog())  # the first of an outage: told
    client = make_client(state=GONE)
    response = client.request(method, path, json=body)
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-mockserver-internal-error"] == "1"
    problem = response.json()
    assert problem["type"] == "urn:mockserver:problem:state-unreachable" and problem["status"] == 503
    assert problem["detail"].startswith("no answer from the shared state redis://127.0.0.1:1/0 (")
    assert "secret" not in response.text and "secret" not in caplog.text
    assert [r.exc_info for r in caplog.records] == [None] and path.split("?")[0] in caplog.records[0].getMessage()


@pytest.mark.parametrize(("method", "path"), [("GET", "/__admin/catalog?api=braze"), ("POST", "/__admin/reload")])
def test_an_admin_route_that_reads_no_state_still_answers_while_the_shared_state_is_away(make_client, method, path):
    """The catalog and the scenario files are the process's own: a user can still read what the mock documents."""
    assert make_client(state=GONE).request(method, path).status_code == 200


BEARER = {"Authorization": "Bearer k"}


def journal_sessions(client, path: str = "/__admin/requests", **headers: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [entry["session"] for entry in client.get(path, headers=headers).json()["requests"]]


@pytest.mark.parametrize(("base", "headers"), [("/__session/a", {}), ("", {"X-Mock-Session": "a"})])
def test_the_admin_api_in_a_session_is_that_sessions_as_its_apis_are(client, base, headers):
    """README: `/__session/NAME/...` is the API in session NAME, as `X-Mock-Session: NAME` would make it; GUIDE §2: a
    session isolates all state and the journal view. The admin API there reset and listed every session."""
    for session in ("a", "b"):
        client.get("/braze/campaigns/list?__error=rate-limited", headers={**BEARER, "X-Mock-Session": session})
        client.get("/braze/nowhere", headers={**BEARER, "X-Mock-Session": session})
    assert journal_sessions(client, base + "/__admin/requests", **headers) == ["a", "a"]
    assert journal_sessions(client, base + "/__admin/requests/unmatched", **headers) == ["a"]
    assert client.get(base + "/__admin/verdict", headers=headers).json()["session"] == "a"
    coverage = client.get(base + "/__admin/coverage", headers=headers).json()
    assert coverage["apis"]["braze"]["requests"] == 2
    assert client.post(base + "/__admin/reset", headers=headers).json() == {"reset": "a"}
    assert journal_sessions(client) == ["b", "b"]
    client.get("/braze/campaigns/list", headers={**BEARER, "X-Mock-Session": "a"})
    assert client.delete(base + "/__admin/requests", headers=headers).status_code == 204
    assert journal_sessions(client) == ["b", "b"]


def test_a_mode_switched_in_a_session_is_that_sessions_and_its_listing_shows_what_it_reads(client):
    assert client.post("/__session/a/__admin/modes", json={"mode": "outage", "api": "braze"}).status_code == 200
    client.post("/__admin/modes", json={"mode": "slow", "api": "dcs", "session": "b"})
    statuses = {s: client.get("/braze/campaigns/list", headers={**BEARER, "X-Mock-Session": s}).status_code
                for s in ("a", "b")}
    assert statuses == {"a": 503, "b": 200}
    assert [m["session"] for m in client.get("/__session/b/__admin/modes").json()["active"]] == ["b"]
    assert client.delete("/__session/b/__admin/modes").status_code == 200  # b's own only
    assert [m["session"] for m in client.get("/__admin/modes").json()["active"]] == ["a"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/__admin/reset?session=b", None), ("GET", "/__admin/requests?session=b", None),
    ("DELETE", "/__admin/requests?session=b", None), ("GET", "/__admin/requests/unmatched?session=b", None),
    ("GET", "/__admin/coverage?session=b", None), ("GET", "/__admin/verdict?session=b", None),
    ("DELETE", "/__admin/modes?session=b", None), ("POST", "/__admin/modes", {"mode": "outage", "session": "b"}),
])
def test_a_session_named_in_the_query_other_than_the_prefixs_is_misuse_and_changes_nothing(client, method, path, body):
    client.post("/__admin/modes", json={"mode": "outage", "api": "braze", "session": "b"})
    client.get("/braze/nowhere", headers={"X-Mock-Session": "b"})
    response = client.request(method, "/__session/a" + path, json=body)
    assert is_misuse(response) and response.json()["valid"] == ["a"], response.text
    assert "session='b'" in response.json()["detail"] and "/__session/a" in response.json()["detail"]
    assert journal_sessions(client) == ["b"] and len(client.get("/__admin/modes").json()["active"]) == 1
    same = client.request(method, "/__session/b" + path, json=body)  # the session it is in: as before
    assert same.status_code in (200, 204), same.text


def test_admin_routes_with_no_session_meaning_answer_in_a_session_as_without(client):
    assert client.get("/__session/a/__admin/health").json()["status"] == "ok"
    assert client.get("/__session/a/__admin/catalog?api=dcs").json() == client.get("/__admin/catalog?api=dcs").json()
    assert client.post("/__session/a/__admin/clock", json={"freeze": 1_900_000_000}).json()["now"] == 1_900_000_000
    assert client.get("/__admin/clock").json()["now"] == 1_900_000_000  # the server's one clock
    assert client.post("/__session/a/__admin/reload").json()["loaded"] is True
    assert is_misuse(client.get("/__admin/requests", headers={"X-Mock-Session": "no spaces"}))


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/__admin/reset?session="), ("POST", "/__admin/reset?session=no%20spaces"),
    ("GET", "/__admin/requests?session="), ("DELETE", "/__admin/requests?session="),
    ("GET", "/__admin/requests/unmatched?session=a%2Fb"), ("GET", "/__admin/coverage?session="),
    ("GET", "/__admin/verdict?session=no%20spaces"), ("GET", "/__admin/modes?session="),
])
def test_a_session_no_request_could_have_is_misuse_and_changes_nothing(client, method, path):
    """`?session=` names no session: `POST /__admin/reset?session=` answered {"reset": "all"} and reset nothing."""
    client.get("/braze/nowhere", headers={"X-Mock-Session": "b"})
    client.post("/__admin/modes", json={"mode": "outage", "api": "braze", "session": "b"})
    response = client.request(method, path)
    assert is_misuse(response) and "is not valid" in response.json()["detail"], response.text
    assert journal_sessions(client) == ["b"] and len(client.get("/__admin/modes").json()["active"]) == 1


@pytest.mark.parametrize("path", ["/__admin/requests", "/__admin/requests/unmatched", "/__admin/verdict"])
@pytest.mark.parametrize("settings", [{"journal": False}, {"journal_size": 0}])  # `mockserver serve --no-journal`
def test_reading_the_journal_when_it_is_off_says_so(make_client, path, settings):
    """`--no-journal`: an empty list read as "no request came" (a CI job counting requests got 0 with no hint)."""
    client = make_client(**settings)
    client.get("/braze/nope")
    response = client.get(path)
    assert is_misuse(response) and "--no-journal" in response.json()["detail"], response.text


@pytest.mark.parametrize("status", ["999", "-5", "1000000", "42"])
def test_a_status_filter_no_answer_can_have_is_misuse(client, status):
    """`status=abc` was misuse and `status=999` a filter nothing passes: an empty list, as a typo would get."""
    response = client.get(f"/__admin/requests?status={status}")
    assert is_misuse(response) and response.json()["valid"] == ["100-599", "0 (no status line)"]
    assert client.get("/__admin/requests?status=0").status_code == 200


def test_a_clock_advanced_to_the_last_second_a_date_prints_stays_there(client):
    """Advanced to a few seconds before 9999-12-31T23:59:59Z and left running, the clock went past it: every
    answer, the health's too, was then a traceback (a Date header cannot print the year 10000)."""
    import time as real_time

    from mockserver.engine.clock import LAST_INSTANT

    now = client.get("/__admin/clock").json()["now"]
    assert client.post("/__admin/clock", json={"advance": LAST_INSTANT - now - 0.5}).status_code == 200
    real_time.sleep(1)
    assert client.get("/__admin/health").status_code == 200
    assert client.get("/__admin/clock").json()["now"] == LAST_INSTANT
    assert client.get("/braze/campaigns/list", headers={"Authorization": "Bearer k"}).headers["date"].endswith(
        " 9999 23:59:59 GMT")


def test_the_admin_misuse_detail_lists_the_valid_values_as_an_api_paths_does(client):
    """GUIDE §2: "the detail lists the valid values" (the admin API wrote them in `valid` only)."""
    response = client.get("/__admin/catalog?api=edg")
    assert is_misuse(response), response.text
    body = response.json()
    assert body["detail"] == f"unknown api 'edg' (valid: {', '.join(body['valid'])})" and "edge" in body["valid"]
