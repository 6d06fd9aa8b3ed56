"""The fixture's handle in-process: session paths, url(), mode() (needs /__admin/modes, issue 9)."""

from __future__ import annotations

import httpx
import pytest

from mockserver.app import session_scope
from tests.testing.conftest import BRAZE_KEY, BRAZE_TRACK


def test_url_names_the_api_and_the_session(mockserver):
    assert mockserver.url("braze") == f"{mockserver.base_url}/__session/{mockserver.session}/braze"
    with pytest.raises(ValueError, match="loaded: braze, clientless, dcs, edge, reactor"):
        mockserver.url("nope")


def test_a_session_path_wins_over_a_session_header_and_is_taken_off_the_path(mockserver):
    httpx.get(mockserver.url("dcs") + "/event?d_rtbd=json", headers={"X-Mock-Session": "elsewhere"})
    [entry] = mockserver.requests()
    assert entry["path"] == "/dcs/event" and entry["query"] == "d_rtbd=json"
    assert [v for n, v in entry["headers"] if n == "x-mock-session"] == [mockserver.session]


def test_session_paths_rewrite_path_raw_path_root_path_and_header():
    scope = {"type": "http", "path": "/__session/s1/braze/x", "raw_path": b"/__session/s1/braze/x",
             "root_path": "", "headers": [(b"x-mock-session", b"other"), (b"host", b"h")]}
    seen = session_scope(scope)
    assert (seen["path"], seen["raw_path"], seen["root_path"]) == ("/braze/x", b"/braze/x", "/__session/s1")
    assert seen["headers"] == [(b"host", b"h"), (b"x-mock-session", b"s1")]


def test_mode_turns_a_named_mode_on_for_this_session_only(mockserver):
    track = mockserver.url("braze") + "/users/track"
    mockserver.mode("outage", api="braze", ttl="30s")
    assert httpx.post(track, json=BRAZE_TRACK, headers=BRAZE_KEY).status_code == 503
    other = httpx.post(f"{mockserver.base_url}/braze/users/track", json=BRAZE_TRACK,
                       headers={**BRAZE_KEY, "X-Mock-Session": mockserver.session + "-other"})
    assert other.status_code == 201
    mockserver.mode("outage", api="braze", on=False)
    assert httpx.post(track, json=BRAZE_TRACK, headers=BRAZE_KEY).status_code == 201


@pytest.mark.parametrize(("kind", "raised"), [("reset", httpx.ReadError), ("empty", httpx.RemoteProtocolError),
                                              ("malformed", httpx.RemoteProtocolError),
                                              ("truncate", httpx.RemoteProtocolError)])
def test_the_fixture_s_server_serves_every_transport_fault(mockserver, kind, raised):
    """The README's faults, as a client meets them, from the in-process server too (it runs uvicorn as serve does)."""
    with pytest.raises(raised):
        httpx.post(mockserver.url("braze") + f"/users/track?__fault={kind}", json=BRAZE_TRACK, headers=BRAZE_KEY)
    [entry] = mockserver.requests()
    assert entry["fault"] == kind


def test_the_fixture_s_server_sends_only_the_answer_s_own_server_header(mockserver):
    """Clientless's openresty 429 carries `Server: openresty`; uvicorn must not add a second one."""
    answer = httpx.get(mockserver.url("clientless") + "/api/v1/config/REQ?__error=too-many-requests-429")
    assert answer.status_code == 429 and answer.headers.get_list("server") == ["openresty"]
    assert "server" not in httpx.get(mockserver.url("clientless") + "/api/v1/config/REQ").headers


def test_requests_pick_by_method_and_path_as_the_api_sees_it(mockserver):
    with httpx.Client(base_url=mockserver.url("braze"), headers={"Authorization": "Bearer k"}) as braze:
        braze.post("/users/track", json={"attributes": [{"external_id": "a", "x": 1}]})
        braze.get("/campaigns/list")
        braze.post("/users/track?__error=rate-limited", json={"attributes": []})
    tracked = mockserver.requests(method="post", path="/braze/users/track")
    assert [e["status"] for e in tracked] == [201, 429]
    assert [e["status"] for e in mockserver.requests(path="/braze/users/track", limit=1)] == [429]
    assert [e["path"] for e in mockserver.requests(method="GET")] == ["/braze/campaigns/list"]
