"""Modes over ASGI: declared in a file, on per request, per session or globally, with a time-to-live."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.scenario.load import load_catalog
from mockserver.scenario.read import ScenarioError

TOY = """\
api: toy
prefix: /toy
error_response:
  status: "{{ error.status }}"
  body: {message: "{{ error.title }}"}
errors:
  busy: {status: 503, title: Busy}
  slow-down: {status: 429, title: Slow Down}
  broken: {status: 500, title: Broken}
routes:
  - {id: one, method: GET, path: /one, respond: {status: 200, body: {ok: 1}}}
  - {id: two, method: GET, path: /two, respond: {status: 200, body: {ok: 2}}}
modes:
  flaky:
    description: first three of each route fail
    error: broken
    first: 3
  outage:
    description: everything fails, for 5 minutes once switched on
    error: busy
    duration: 5m
    retry_after: 120
    headers: {Retry-After: "{{ mode.retry_after }}"}
  quota:
    description: 4 per 10 s, per route
    error: slow-down
    quota: {limit: 4, window: 10s, per: route}
    headers: {X-Left: "{{ mode.remaining }}", Retry-After: "{{ mode.retry_after }}"}
  only-two:
    description: route two only
    error: busy
    routes: [two]
  slow:
    description: a wait
    delay: "5"
  breaking:
    description: a fault on every answer
    fault: slow
"""


def serve_toy(tmp_path: Path, make_client, text: str):
    """A client of the mock serving the toy API `text` declares, its clock frozen."""
    (tmp_path / "toy.yaml").write_text(text)
    client = make_client(scenarios=(str(tmp_path),))
    client.post("/__admin/clock", json={"freeze": True})
    return client


@pytest.fixture
def toy(tmp_path: Path, make_client):
    return serve_toy(tmp_path, make_client, TOY)


def statuses(client, path: str, count: int, **params: str) -> list[int]:
    return [client.get(path, params=params).status_code for _ in range(count)]


def test_flaky_by_flag_fails_the_first_n_of_each_route(toy):
    assert statuses(toy, "/toy/one", 5, __mode="flaky") == [500, 500, 500, 200, 200]
    assert statuses(toy, "/toy/two", 4, __mode="flaky") == [500, 500, 500, 200]
    assert statuses(toy, "/toy/one", 2, __mode="flaky", __session="other") == [500, 500]


def test_a_mode_switched_on_globally_reaches_every_session_until_switched_off(toy):
    assert toy.post("/__admin/modes", json={"mode": "flaky"}).status_code == 200
    assert statuses(toy, "/toy/one", 4) == [500, 500, 500, 200]
    assert statuses(toy, "/toy/one", 4, __session="b") == [500, 500, 500, 200]
    listing = toy.get("/__admin/modes").json()  # one activation per API that declares it
    declaring = sorted(api for api, modes in listing["declared"].items() if "flaky" in modes)
    assert "toy" in declaring
    assert sorted((a["mode"], a["api"], a["session"], a["until"]) for a in listing["active"]) == [
        ("flaky", api, None, None) for api in declaring]
    assert toy.delete("/__admin/modes?mode=flaky").json()["active"] == []
    assert statuses(toy, "/toy/one", 1, __session="c") == [200]


def test_switching_on_again_starts_the_sequence_afresh(toy):
    toy.post("/__admin/modes", json={"mode": "flaky"})
    assert statuses(toy, "/toy/one", 4) == [500, 500, 500, 200]
    toy.post("/__admin/modes", json={"mode": "flaky"})
    assert statuses(toy, "/toy/one", 4) == [500, 500, 500, 200]


def test_a_mode_for_one_session_leaves_the_others_alone(toy):
    toy.post("/__admin/modes", json={"mode": "outage", "session": "s1"})
    assert statuses(toy, "/toy/one", 2, __session="s1") == [503, 503]
    assert statuses(toy, "/toy/one", 2, __session="s2") == [200, 200]
    toy.post("/__admin/reset?session=s1")
    assert statuses(toy, "/toy/one", 1, __session="s1") == [200]


def test_outage_lasts_its_duration_and_tells_the_seconds_left(toy):
    toy.post("/__admin/modes", json={"mode": "outage", "api": "toy"})
    first = toy.get("/toy/one")
    assert first.status_code == 503 and first.headers["retry-after"] == "300"
    toy.post("/__admin/clock", json={"advance": "200s"})
    assert toy.get("/toy/one").headers["retry-after"] == "100"
    assert toy.get("/__admin/modes").json()["active"][0]["remaining_s"] == 100
    toy.post("/__admin/clock", json={"advance": "100s"})
    assert toy.get("/toy/one").status_code == 200
    assert toy.get("/__admin/modes").json()["active"] == []


def test_a_ttl_given_when_switching_on_wins_over_the_duration(toy):
    toy.post("/__admin/modes", json={"mode": "outage", "ttl": "30s"})
    assert toy.get("/toy/one").headers["retry-after"] == "30"
    toy.post("/__admin/clock", json={"advance": 30})
    assert toy.get("/toy/one").status_code == 200


def test_outage_by_flag_has_no_end_and_says_its_retry_after(toy):
    response = toy.get("/toy/one?__mode=outage")
    assert response.status_code == 503 and response.headers["retry-after"] == "120"


def test_quota_per_route_reaches_the_error_and_reopens_with_the_window(toy):
    answers = [toy.get("/toy/one?__mode=quota") for _ in range(6)]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429, 429]
    assert [r.headers["x-left"] for r in answers] == ["3", "2", "1", "0", "0", "0"]
    assert answers[-1].headers["retry-after"] == "10"
    assert toy.get("/toy/two?__mode=quota").status_code == 200  # its own counter
    toy.post("/__admin/clock", json={"advance": "4s"})
    assert toy.get("/toy/one?__mode=quota").headers["retry-after"] == "6"
    toy.post("/__admin/clock", json={"advance": "6s"})
    assert statuses(toy, "/toy/one", 5, __mode="quota") == [200, 200, 200, 200, 429]


def test_routes_limit_a_mode_and_delay_and_fault_modes_answer(toy):
    assert toy.get("/toy/one?__mode=only-two").status_code == 200
    assert toy.get("/toy/two?__mode=only-two").status_code == 503
    assert toy.get("/toy/one?__mode=slow").json() == {"ok": 1}
    assert toy.get("/toy/one?__mode=breaking").json() == {"ok": 1}  # a slow fault still delivers
    journal = toy.get("/__admin/requests?limit=1").json()["requests"][0]
    assert journal["fault"] == "slow"


def test_unknown_mode_names_are_misuse_with_the_valid_names(toy):
    by_flag = toy.get("/toy/one?__mode=meltdown")
    assert by_flag.status_code == 400 and by_flag.headers["x-mockserver-misuse"] == "1"
    assert "flaky" in by_flag.json()["valid"]
    by_admin = toy.post("/__admin/modes", json={"mode": "meltdown"})
    assert by_admin.status_code == 400 and "outage" in by_admin.json()["valid"]
    for body in ({"mode": "flaky", "api": "nope"}, {"mode": "flaky", "ttl": "soon"}, {"mode": "flaky", "x": 1},
                 {"mode": "flaky", "session": "bad name"}, ["flaky"]):
        response = toy.post("/__admin/modes", json=body)
        assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1", body


def test_get_lists_the_declared_modes_of_every_api(toy):
    declared = toy.get("/__admin/modes").json()["declared"]
    assert declared["toy"]["quota"] == {"description": "4 per 10 s, per route", "error": "slow-down",
                                        "quota": {"limit": 4, "window_s": 10.0, "per": "route"}}
    assert set(declared["braze"]) >= {"flaky", "outage", "rate-limited", "slow"}
    assert set(declared["reactor"]) >= {"flaky", "outage", "rate-limited", "slow"}


def test_an_explicit_error_flag_wins_over_a_mode(toy):
    assert toy.get("/toy/one?__mode=outage&__error=broken").status_code == 500


BAD_MODES = {
    "first and quota": ("{description: d, error: busy, first: 1, quota: {limit: 1, window: 1}}", "not both"),
    "first without error": ("{description: d, first: 2}", "dependency"),
    "nothing to do": ("{description: d}", "at least one of: error, delay, fault"),
    "unknown error": ("{description: d, error: nope}", "no error 'nope'"),
    "unknown route": ("{description: d, error: busy, routes: [three]}", "no route 'three'"),
    "unknown key": ("{description: d, error: busy, settings: {}}", "unknown key"),
    "bad duration": ("{description: d, error: busy, duration: soon}", "does not match"),
    "bad delay": ("{description: d, delay: fast}", "does not match"),
    "negative delay": ("{description: d, delay: -5}", "-5 is less than the minimum of 0"),  # not "expected string"
}


def test_a_mode_delay_may_be_a_number_as_the_flag_takes_one(tmp_path, make_client):
    """`delay: 800` was refused ("expected string") where `__delay=800` is taken."""
    (tmp_path / "toy.yaml").write_text(TOY.replace('    delay: "5"', "    delay: 5"))
    assert load_catalog([tmp_path / "toy.yaml"]).apis["toy"].modes["slow"].delay == "5"
    client = make_client(scenarios=(str(tmp_path),))
    assert client.get("/toy/one?__mode=slow").json() == {"ok": 1}
    (tmp_path / "toy.yaml").write_text(TOY.replace('    delay: "5"', "    delay: 5.0"))  # an integer to JSON Schema
    assert load_catalog([tmp_path / "toy.yaml"]).apis["toy"].modes["slow"].delay == "5"


@pytest.mark.parametrize("name", sorted(BAD_MODES))
def test_bad_mode_declarations_are_reported_with_their_line(tmp_path, name):
    spec, expected = BAD_MODES[name]
    head = TOY.split("modes:")[0]
    path = tmp_path / "toy.yaml"
    path.write_text(head + "modes:\n  broken-mode: " + spec + "\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([path])
    text = str(caught.value)
    assert f"{path}:" in text and "modes.broken-mode" in text and expected in text, text


def test_the_bundled_rate_limited_modes_answer_with_each_apis_own_429(client):
    client.post("/__admin/clock", json={"freeze": True})
    reactor = [client.get("/reactor/companies?__mode=rate-limited", headers={"Authorization": "Bearer t",
                                                                              "x-api-key": "k"}) for _ in range(11)]
    assert [r.status_code for r in reactor] == [200] * 10 + [429]
    assert reactor[-1].json() == {"error_code": "429050", "message": "Too many requests"}
    assert reactor[-1].headers["retry-after"] == "60"
    braze = [client.get("/braze/campaigns/list?__mode=rate-limited", headers={"Authorization": "Bearer k"})
             for _ in range(11)]
    assert [r.status_code for r in braze] == [200] * 10 + [429]
    assert [r.headers["x-ratelimit-remaining"] for r in braze] == [str(n) for n in range(9, -1, -1)] + ["0"]
    assert {r.headers["x-ratelimit-limit"] for r in braze} == {"10"}
    assert braze[-1].json()["message"] == "Rate Limited"


def test_the_bundled_flaky_and_outage_modes_use_each_apis_unavailability(client):
    auth = {"Authorization": "Bearer k"}
    assert [client.get("/braze/campaigns/list?__mode=flaky", headers=auth).status_code for _ in range(3)] == [
        503, 503, 200]
    assert client.get("/braze/campaigns/list?__mode=outage", headers=auth).json()["message"] == "Service Unavailable"
    reactor = client.get("/reactor/companies?__mode=outage", headers={"Authorization": "Bearer t", "x-api-key": "k"})
    assert reactor.status_code == 500 and reactor.json()["errors"][0]["code"] == "internal-error"


def test_an_unknown_mode_is_misuse_even_where_no_route_matches(toy):
    response = toy.get("/toy/nowhere?__mode=meltdown")
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1"


def test_a_mode_may_answer_several_errors_together(tmp_path, make_client):
    (tmp_path / "toy.yaml").write_text(TOY.replace("modes:\n", "modes:\n  degraded: {description: d, error: [busy, "
                                                                 "broken]}\n"))
    toy = make_client(scenarios=(str(tmp_path),))
    assert toy.get("/toy/one?__mode=degraded").status_code == 503
    assert toy.get("/__admin/requests?limit=1").json()["requests"][0]["errors"] == ["busy", "broken"]
    assert toy.get("/__admin/modes").json()["declared"]["toy"]["degraded"]["error"] == ["busy", "broken"]


@pytest.mark.parametrize(("first", "then", "answer"), [
    ({"mode": "quota"}, {"mode": "outage", "session": "s1"}, 429),
    ({"mode": "outage", "session": "s1"}, {"mode": "quota"}, 503),
])
def test_modes_for_every_session_and_for_one_apply_in_the_order_switched_on(toy, first, then, answer):
    for other in range(50):  # other sessions' modes: indexed away, never applied here
        assert toy.post("/__admin/modes", json={"mode": "only-two" if other % 2 else "flaky",
                                                "session": f"o{other}"}).status_code == 200
    toy.post("/__admin/modes", json=first)
    toy.post("/__admin/modes", json=then)
    for _ in range(4):
        toy.get("/toy/one", params={"__session": "s1"})  # the quota's 4 spent: both modes now fail
    assert statuses(toy, "/toy/one", 1, __session="s1") == [answer]
    assert statuses(toy, "/toy/two", 1, __session="o1") == [503]  # o1's own only-two
    assert statuses(toy, "/toy/two", 1, __session="o0") == [500]  # o0's own flaky


def test_the_activations_are_indexed_once_per_set_not_per_request():
    from mockserver.engine.modes import for_session

    class Counted(dict):
        reads = 0

        def values(self):  # type: ignore[override]
            Counted.reads += 1
            return super().values()

    activations = Counted({f"s{i}|*|flaky": {"mode": "flaky", "session": f"s{i}", "id": i} for i in range(100)})
    activations["*|*|outage"] = {"mode": "outage", "session": None, "id": 100}
    assert [a["id"] for a in for_session(activations, "s7")] == [7, 100]
    assert [a["id"] for a in for_session(activations, "s99")] == [99, 100]
    assert [a["id"] for a in for_session(activations, "nobody")] == [100]
    assert Counted.reads == 1
    replaced = Counted(activations)  # a switch stores a new set: indexed afresh
    assert [a["id"] for a in for_session(replaced, "s3")] == [3, 100] and Counted.reads == 2
