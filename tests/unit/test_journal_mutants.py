"""The journal (`mockserver/journal.py`) where a mutation audit found no test, or a bug: each test pins one behaviour
a client reads through the admin API (GUIDE §2: `/__admin/requests`, `/__admin/verdict`)."""

from __future__ import annotations

from mockserver.engine.faults import TRANSPORT_EXTENSION
from tests.unit.test_dispatch_mutants import Wire, asgi_call


def test_a_session_whose_oldest_requests_were_pushed_out_is_incomplete_while_it_is_used(make_client):
    """README (what is kept: "a verdict over a session whose oldest requests were pushed out answers `"complete":
    false` until the session's reset"): a session in use is not forgotten (README: the least recently used beyond
    --max-sessions are), so the losses of two other sessions since do not make its verdict complete again."""
    client = make_client(journal_size=4, max_sessions=2)
    for session in ["A", "A", "A", "B", "C", "A", "A", "A", "A"]:  # A's first five pushed out, then B's and C's
        assert client.get("/dcs/event?d_rtbd=json", headers={"X-Mock-Session": session}).status_code == 200
    assert [e["session"] for e in client.get("/__admin/requests").json()["requests"]] == ["A"] * 4
    assert client.get("/__admin/verdict?session=A").json()["complete"] is False


def test_a_client_gone_before_its_body_ended_is_not_a_request_no_route_matched(client):
    """GUIDE §2: `/__admin/requests/unmatched` lists "requests that no route matched" (README: under an API, its
    documented 404, or under none); the pytest plugin fails a test that sent one. A client that left before its body
    ended was never matched against the routes (README: "journaled as a client gone before its body ended, `status`
    0 and no route"): it is in the journal, not in that list."""
    gone = ({"type": "http.request", "body": b'{"n":', "more_body": True}, {"type": "http.disconnect"})
    asgi_call(client.app.app, "POST", "/braze/users/track",
              headers=((b"authorization", b"Bearer k"), (b"content-length", b"9")), received=gone)
    [entry] = client.get("/__admin/requests").json()["requests"]
    assert entry["status"] == 0 and entry["route"] is None
    assert client.get("/__admin/requests/unmatched").json()["requests"] == []


def test_a_wrong_path_with_a_fault_or_a_client_gone_during_its_delay_is_still_unmatched(client):
    """The other requests journaled with `status` 0 and no route (README: a fault that ends the connection first, a
    client gone during a `__delay`) were matched against the routes, and none served them: a wrong base URL sent with
    such a flag stays in `/__admin/requests/unmatched`, where the pytest plugin finds it."""
    app = client.app.app
    asgi_call(app, "GET", "/braze/no/such/route", b"__fault=reset", extensions={TRANSPORT_EXTENSION: Wire()})
    left = ({"type": "http.request", "body": b"", "more_body": False}, {"type": "http.disconnect"})
    asgi_call(app, "GET", "/braze/no/such/route", b"__delay=3000", received=left)
    entries = client.get("/__admin/requests").json()["requests"]
    assert [(e["status"], e["route"], e["fault"]) for e in entries] == [(0, None, "reset"), (0, None, None)], entries
    unmatched = client.get("/__admin/requests/unmatched").json()["requests"]
    assert [e["seq"] for e in unmatched] == [e["seq"] for e in entries]


def test_the_losses_kept_are_those_of_the_sessions_remembered() -> None:
    """README (a server that stays up): the last --max-sessions sessions are remembered, one beyond comes back afresh
    as after its reset. So the sessions whose verdict is incomplete are among those remembered: bounded by
    --max-sessions without a scan on each request, and one forgotten reads as reset."""
    from mockserver.journal import Entry, Journal

    journal = Journal(size=4, sessions=3)
    for n in range(40):
        answered = Entry(0.0, "GET", "/x", b"", [], "braze")
        answered.session, answered.status = ("kept" if n % 2 else f"passing-{n}"), 200
        journal.record(answered)
        assert set(journal.lost) <= set(journal.first) and len(journal.lost) <= 3
    assert not journal.complete("kept")  # in use all along, its oldest entries pushed out
    assert journal.complete("passing-2")  # forgotten since: afresh, as after its reset
