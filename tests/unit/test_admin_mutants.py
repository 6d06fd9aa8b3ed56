"""The admin API (`mockserver/admin.py`) where a mutation audit found no test: each test pins one behaviour a client
of `/__admin` (GUIDE §2) relies on."""

from __future__ import annotations


def test_a_freeze_the_clock_cannot_take_is_misuse_listing_each_form_it_takes(client):
    """GUIDE §2: misuse of the mock is a 400 marked `X-Mockserver-Misuse: 1` whose detail lists the valid values;
    `POST /__admin/clock` `{"freeze": ...}` takes true, false or an instant, as epoch seconds or ISO 8601 with its
    offset: each form is listed, an example of each, so that the author of a test sees what to write."""
    answer = client.post("/__admin/clock", json={"freeze": "yesterday"})
    assert answer.status_code == 400 and answer.headers["x-mockserver-misuse"] == "1"
    problem = answer.json()
    assert problem["valid"] == ["true", "false", "1767225600", "2026-01-01T00:00:00Z"]
    assert all(value in problem["detail"] for value in problem["valid"]), problem
    assert client.get("/__admin/clock").json()["frozen"] is False  # and nothing changed


def test_a_negative_limit_is_misuse_listing_counts_it_takes(client):
    """GUIDE §2 (`GET /__admin/requests?limit=`: the last N entries): a negative N is misuse, as a limit that is no
    number is, with the same valid values listed (the detail names them too)."""
    for limit in ("-1", "x"):
        answer = client.get(f"/__admin/requests?limit={limit}")
        assert answer.status_code == 400 and answer.headers["x-mockserver-misuse"] == "1"
        problem = answer.json()
        assert problem["valid"] == ["0", "1", "10"] and f"not {limit}" in problem["detail"].replace("'", ""), problem


def test_freeze_true_stops_the_clock_where_it_reads_and_false_lets_it_run(client):
    """GUIDE §2 (`POST /__admin/clock` `{"freeze": true}`): the virtual clock stops where it reads (`true` is no
    instant: not 1 s past 1970), so answers that print the time (a Date header, Braze's X-RateLimit-Reset) read the
    same instant on every request until it is unfrozen."""
    before = client.get("/__admin/clock").json()["now"]
    frozen = client.post("/__admin/clock", json={"freeze": True}).json()
    assert frozen["frozen"] is True and frozen["now"] >= before  # where it read: not an instant given
    assert client.get("/__admin/clock").json()["now"] == frozen["now"]
    dates = {client.get("/dcs/event?d_rtbd=json").headers["date"] for _ in range(3)}
    assert len(dates) == 1
    assert client.post("/__admin/clock", json={"freeze": False}).json()["frozen"] is False


def test_a_mode_switched_off_by_post_is_off(client):
    """GUIDE §2 (`POST /__admin/modes`, README: `{"mode", "api"?, "session"?, "ttl"?, "on"?}`): `"on": false` switches
    the mode off, as `DELETE` does: the listing no longer shows it and the API answers as before."""
    assert client.post("/__admin/modes", json={"mode": "outage", "api": "dcs"}).status_code == 200
    assert client.get("/dcs/event?d_rtbd=json").json().get("errors") is not None  # the outage answers
    off = client.post("/__admin/modes", json={"mode": "outage", "api": "dcs", "on": False})
    assert off.status_code == 200 and off.json()["active"] == []
    assert client.get("/dcs/event?d_rtbd=json").json().get("errors") is None
