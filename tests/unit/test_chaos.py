"""Chaos over ASGI: the rate, replay of a decision, P=0 as a strict no-op, misuse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.engine.chaos import Decision, decide, parse_replay
from mockserver.engine.flags import Misuse
from mockserver.scenario.load import load_catalog

AUTH = {"Authorization": "Bearer t", "x-api-key": "k"}
CATALOG = load_catalog()
REACTOR = CATALOG.apis["reactor"]
ROUTE = next(r for r in REACTOR.routes if r.id == "list-companies")


def test_the_rate_over_2000_requests_is_the_probability(client):
    hits = 0
    for _ in range(2000):
        response = client.get("/reactor/companies?__chaos=0.3&__session=rate", headers=AUTH)
        if not response.headers["x-mock-decision"].endswith(";error=none"):
            hits += 1
            assert response.status_code >= 400
        else:
            assert response.status_code == 200
    assert 0.26 <= hits / 2000 <= 0.34, hits


def test_the_decision_alone_gives_the_rate_for_every_seed():
    for seed in range(5):
        drawn = sum(decide(0.3, seed, "s", REACTOR, ROUTE, n, ()).error is not None for n in range(1, 2001))
        assert 0.26 <= drawn / 2000 <= 0.34, (seed, drawn)


def sequence(client, seed: int, session: str) -> list[tuple[int, str]]:
    client.post(f"/__admin/reset?session={session}")
    out = []
    for _ in range(60):
        response = client.get(f"/reactor/companies?__chaos=0.5&__seed={seed}&__session={session}", headers=AUTH)
        out.append((response.status_code, response.text))
    return out


def test_same_seed_same_sequence_other_seed_other_sequence(client):
    first = sequence(client, 11, "seq")
    assert first == sequence(client, 11, "seq")
    assert first != sequence(client, 12, "seq")


def test_zero_is_a_strict_no_op(client):
    def run(extra: str) -> list[tuple[int, str, list[tuple[str, str]]]]:
        client.post("/__admin/reset?session=zero")
        answers = []
        for _ in range(60):
            response = client.get(f"/reactor/companies?__seed=4&__session=zero{extra}", headers=AUTH)
            headers = sorted((k, v) for k, v in response.headers.items() if k != "date")  # GUIDE §2: Date aside
            answers.append((response.status_code, response.text, headers))
        return answers

    assert run("&__chaos=0") == run("") == run("&__chaos=0&__chaos_faults=1")  # no Preference-Applied either


def test_a_decision_pasted_back_replays_the_same_answer(client):
    for _ in range(40):
        chaotic = client.get("/reactor/companies?__chaos=1&__session=orig&__seed=9", headers=AUTH)
        token = chaotic.headers["x-mock-decision"]
        assert token.startswith("seed=9;session=orig;n=")
        replayed = client.get("/reactor/companies", params={"__replay": token, "__session": "elsewhere"},
                              headers=AUTH)
        assert (replayed.status_code, replayed.text) == (chaotic.status_code, chaotic.text)
        assert replayed.headers["x-mock-decision"] == token
        by_header = client.get("/reactor/companies", headers={**AUTH, "Prefer": f'replay="{token}"'})
        assert (by_header.status_code, by_header.text) == (chaotic.status_code, chaotic.text)


def test_chaos_picks_only_the_routes_immediate_documented_errors(client):
    allowed = {e for e in ROUTE.errors if REACTOR.errors[e].status >= 400 and not REACTOR.errors[e].asynchronous}
    seen = set()
    for _ in range(200):
        response = client.get("/reactor/companies?__chaos=1&__session=pool", headers=AUTH)
        seen.add(response.headers["x-mock-decision"].rsplit("error=", 1)[1])
    assert seen and seen <= allowed


def test_chaos_faults_without_a_connection_are_only_slow(client):
    kinds = set()
    for _ in range(300):
        response = client.get("/reactor/companies?__chaos=1&__chaos_faults=1&__session=faults&__delay=1", headers=AUTH)
        decision = response.headers["x-mock-decision"]
        kinds.add(decision.rsplit(";", 1)[1].split("=")[0] + ":" + decision.rsplit("=", 1)[1])
    assert "fault:slow" in kinds and not any(k.startswith("fault:") and k != "fault:slow" for k in kinds)


@pytest.mark.parametrize("query", ["__chaos=2", "__chaos=x", "__replay=nonsense",
                                   "__replay=seed%3D1%3Bsession%3Ds%3Bn%3D1%3Berror%3Dno-such-error",
                                   "__replay=seed%3D1%3Bsession%3Ds%3Bn%3D1%3Bfault%3Dmelt"])
def test_bad_chaos_and_replay_values_are_misuse(client, query):
    response = client.get(f"/reactor/companies?{query}", headers=AUTH)
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1"
    assert response.json()["valid"]


@given(st.integers(-10**6, 10**6), st.from_regex(r"[A-Za-z0-9._:@-]{1,20}", fullmatch=True),
       st.integers(1, 10**9), st.sampled_from([*sorted(REACTOR.errors), None]))
def test_every_token_parses_back_to_its_decision(seed, session, number, error):
    decision = Decision(seed, session, number, error=error)
    assert parse_replay(decision.token(), REACTOR) == decision


@given(st.text(max_size=80))
def test_any_text_is_a_decision_or_misuse(text):
    try:
        parse_replay(text, REACTOR)
    except Misuse as misuse:
        assert misuse.valid


def test_faults_that_need_the_connection_are_misuse_in_process(client):
    for kind in ("reset", "empty", "malformed", "truncate"):
        response = client.get(f"/reactor/companies?__fault={kind}", headers=AUTH)
        assert response.status_code == 400 and response.json()["valid"] == ["slow"]
    slow = client.get("/reactor/companies?__fault=slow&__delay=20", headers=AUTH)
    assert slow.status_code == 200 and slow.json()["data"]


def test_a_request_the_chaos_let_through_names_its_decision_and_replays_byte_for_byte(client):
    """Issue 9: *each* answer names the decision, so a mixed sequence replays answer by answer (in its session: the
    route's own answer lists the session's resources)."""
    answers = [client.get("/reactor/companies?__chaos=0.5&__session=mixed&__seed=3", headers=AUTH) for _ in range(20)]
    passed = [r for r in answers if r.headers["x-mock-decision"].endswith(";error=none")]
    assert passed and len(passed) < len(answers)
    for response in passed:
        token = response.headers["x-mock-decision"]
        replayed = client.get("/reactor/companies", params={"__replay": token, "__session": "mixed"}, headers=AUTH)
        assert replayed.status_code == 200 and replayed.headers["x-mock-decision"] == token
        assert replayed.content == response.content


def test_a_replayed_fault_decision_gives_the_routes_own_answer(client):
    token = "seed=0;session=x;n=3;fault=slow"
    plain = client.get("/reactor/companies?__session=r1", headers=AUTH)
    replayed = client.get("/reactor/companies", params={"__replay": token, "__session": "r2", "__delay": "5"},
                          headers=AUTH)
    assert replayed.status_code == 200 and replayed.headers["x-mock-decision"] == token
    assert replayed.json()["data"][0]["type"] == plain.json()["data"][0]["type"] == "companies"


def test_the_pool_holds_the_errors_an_api_answers_in_its_error_form_whatever_their_status():
    """DCS's codes come in a 200 with X-Error (GUIDE: chaos gives "one of this route's documented errors");
    Braze's minor errors, a 201 success of their own, are not drawn."""
    from mockserver.engine.chaos import error_pool

    dcs = CATALOG.apis["dcs"]
    event = next(r for r in dcs.routes if r.path == "/event")
    pool = error_pool(dcs, event)
    assert {"0", "101", "311", "uri-too-long"} <= set(pool)
    braze = CATALOG.apis["braze"]
    track = next(r for r in braze.routes if r.id == "users-track")
    assert "rate-limited" in error_pool(braze, track)
    assert not {"missing-user-identifier", "blacklisted-external-id"} & set(error_pool(braze, track))


def test_a_request_let_through_to_a_mode_or_a_fault_names_no_decision_it_cannot_replay(client):
    """`error=none` replays the route's own answer: not stamped on a flaky mode's 503, and with a fault asked the
    decision names the fault, which replays the same cut answer."""
    flaky = client.get("/reactor/companies?__chaos=0.01&__mode=flaky&__session=fl2", headers=AUTH)
    assert flaky.status_code >= 500 and "x-mock-decision" not in flaky.headers
    slow = client.get("/reactor/companies?__chaos=0.01&__fault=slow&__delay=5&__session=sl", headers=AUTH)
    token = slow.headers["x-mock-decision"]
    assert token.endswith(";fault=slow")
    replayed = client.get("/reactor/companies", params={"__replay": token, "__session": "sl", "__delay": "5"},
                          headers=AUTH)
    assert replayed.status_code == slow.status_code == 200
