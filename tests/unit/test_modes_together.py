"""Modes on together, a mode's delay and its fault (model.py Mode: "`delay`, `fault` and `headers` apply to every
answer the mode is on for (with `error`, the fault only to the failed ones)"), and a mode one API declares switched
on for every API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_modes import TOY, serve_toy

MODES = TOY.replace('delay: "5"', 'delay: "300"').replace("routes:\n", """routes:
  - {id: named, method: GET, path: /named, respond: {status: 200, body: {mode: "{{ mode.name if mode else 'none' }}"}}}
""") + """\
  quick:
    description: a short wait
    delay: "1"
  named:
    description: a header naming the mode
    delay: "1"
    headers: {X-Mode: "{{ mode.name }}"}
  quota-breaking:
    description: one request per 10 s, the ones past it broken
    error: slow-down
    quota: {limit: 1, window: 10s}
    fault: slow
"""


@pytest.fixture
def toy(tmp_path: Path, make_client):
    return serve_toy(tmp_path, make_client, MODES)


def last(client, session: str) -> dict:
    return client.get("/__admin/requests", params={"session": session, "limit": 1}).json()["requests"][0]


def test_modes_switched_on_together_all_apply_the_first_delay_wins(toy):
    """The delay of `slow` (switched on before `quick`'s) and the failure of `flaky` on the same answer."""
    for mode in ("slow", "quick", "flaky"):
        assert toy.post("/__admin/modes", json={"mode": mode, "session": "both"}).status_code == 200
    assert toy.get("/toy/one", params={"__session": "both"}).status_code == 500
    assert last(toy, "both")["latency_ms"] >= 300


def test_templates_see_the_mode_by_name(toy):
    """architecture.md: the `mode` context (name, ...) while a mode is on; the first switched on, of several."""
    assert toy.get("/toy/named").json() == {"mode": "none"}
    assert toy.get("/toy/named", params={"__mode": "named"}).headers["x-mode"] == "named"
    assert toy.get("/toy/named", params={"__mode": "quick"}).json() == {"mode": "quick"}
    for mode in ("quick", "breaking"):
        toy.post("/__admin/modes", json={"mode": mode, "session": "two"})
    assert toy.get("/toy/named", params={"__session": "two"}).json() == {"mode": "quick"}


def test_a_mode_switched_on_again_applies_after_the_others_as_the_listing_shows(toy):
    """Switched on again, `quick` kept its first place in the order modes apply, while GET /__admin/modes listed it
    after `named`: the template saw `quick` where the listing said `named` came first."""
    for mode in ("quick", "named", "quick"):
        toy.post("/__admin/modes", json={"mode": mode, "session": "again"})
    listed = toy.get("/__admin/modes", params={"session": "again"}).json()["active"]
    assert [m["mode"] for m in listed] == ["named", "quick"]
    assert toy.get("/toy/named", params={"__session": "again"}).json() == {"mode": "named"}


def test_a_mode_asked_by_flag_and_switched_on_counts_once(toy):
    """flaky fails the first three of a route: on by flag and by switch alike, the fourth request passes."""
    toy.post("/__admin/modes", json={"mode": "flaky", "session": "once"})
    answers = [toy.get("/toy/one", params={"__session": "once", "__mode": "flaky"}).status_code for _ in range(4)]
    assert answers == [500, 500, 500, 200]


def test_a_modes_fault_goes_to_its_failed_answers_only(toy):
    answers = [toy.get("/toy/one", params={"__session": "faults", "__mode": "quota-breaking"}) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    journal = toy.get("/__admin/requests", params={"session": "faults"}).json()["requests"]
    assert [(e["status"], e["fault"]) for e in journal] == [(200, None), (429, "slow")]


def test_a_mode_left_on_that_a_reload_took_out_of_the_file_does_nothing(tmp_path, make_client):
    """Switched on, then its API's file reloaded without it: the activation stays in the store, naming a mode the API
    no longer declares; requests answer as without it (they must not fail on the lookup)."""
    (tmp_path / "toy.yaml").write_text(MODES)
    client = make_client(scenarios=(str(tmp_path),))
    assert client.post("/__admin/modes", json={"mode": "quick"}).status_code == 200
    (tmp_path / "toy.yaml").write_text(MODES.replace("  quick:\n    description: a short wait\n    delay: \"1\"\n", ""))
    assert client.post("/__admin/reload").json()["loaded"] is True
    assert client.get("/toy/named").json() == {"mode": "none"}
