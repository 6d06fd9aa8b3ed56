"""The dispatcher and the admin API over ASGI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.scenario.read import ScenarioError

TOY = """\
api: toy
prefix: /toy
hosts: ["api.*.toy.test"]
options: {greeting: hi}
error_response:
  status: "{{ error.status }}"
  headers: {X-Error-Id: "{{ error.id }}"}
  body:
    message: "{{ error.title }}"
    request_id: "{{ request_id() }}"
    all: "{{ errors | map(attribute='id') | list }}"
errors:
  unauthorized: {status: 401, title: Unauthorized, trigger: no Authorization}
  too-big: {status: 413, title: Too Big}
  bad-json: {status: 400, title: Bad JSON}
  invalid: {status: 400, title: Invalid}
  busy: {status: 503, title: Busy}
  later: {status: 502, title: Later, async: true}
  missing: {status: 404, title: Missing}
not_found: missing
routes:
  - id: echo
    method: POST
    path: /items/{item_id}
    can_fail_with: [busy]
    rules:
      - when: {header_absent: Authorization}
        error: unauthorized
      - when: {body_size_over: 100}
        error: too-big
      - when: {body_unparseable: true}
        error: bad-json
      - when: {body_violates: {type: object, required: [name]}}
        error: invalid
    respond:
      status: 201
      body: {id: "{{ request.path_params.item_id }}", name: "{{ request.json.name }}", uuid: "{{ uuid() }}",
             who: "{{ fake.name() }}", greeting: "{{ options.greeting }}"}
"""


@pytest.fixture
def toy(tmp_path: Path, make_client):
    (tmp_path / "toy.yaml").write_text(TOY)
    return make_client(scenarios=(str(tmp_path),))


AUTH = {"Authorization": "Bearer t"}


def test_rules_in_order_then_the_default_answer(toy):
    assert toy.post("/toy/items/1", json={"name": "x"}).json()["message"] == "Unauthorized"
    assert toy.post("/toy/items/1", content=b"x" * 101, headers=AUTH).status_code == 413
    assert toy.post("/toy/items/1", content=b"{nope", headers=AUTH).json()["message"] == "Bad JSON"
    assert toy.post("/toy/items/1", json={"other": 1}, headers=AUTH).json()["message"] == "Invalid"
    ok = toy.post("/toy/items/7", json={"name": "x"}, headers=AUTH)
    assert ok.status_code == 201
    assert ok.json()["id"] == "7" and ok.json()["name"] == "x" and ok.json()["greeting"] == "hi"


def test_unknown_path_gives_the_apis_not_found(toy):
    response = toy.get("/toy/nothing")
    assert response.status_code == 404 and response.headers["x-error-id"] == "missing"
    assert "x-mockserver-misuse" not in response.headers


def test_error_flag_in_both_forms_and_preference_applied(toy):
    by_query = toy.post("/toy/items/1?__error=busy", json={"name": "x"}, headers=AUTH)
    by_header = toy.post("/toy/items/1", json={"name": "x"}, headers={**AUTH, "Prefer": "error=busy"})
    for response in (by_query, by_header):
        assert response.status_code == 503 and response.json()["message"] == "Busy"
        assert response.headers["preference-applied"] == "error=busy"


def test_several_errors_reach_the_template(toy):
    response = toy.post("/toy/items/1", headers={**AUTH, "Prefer": "error=busy, error=invalid"})
    assert response.json()["all"] == ["busy", "invalid"]


@pytest.mark.parametrize(("flags", "applied"), [
    ({"params": "__error=internal-server-error&__error=rate-limited"}, "error=internal-server-error"),
    ({"headers": {"Prefer": 'error="internal-server-error,rate-limited", seed=3'}},
     "error=internal-server-error, seed=3"),
])
def test_an_api_answering_one_error_names_only_the_first_of_several_asked(client, flags, applied):
    """Braze's answer is one message: the first error asked answers, and the 429 it cannot show is neither named
    in Preference-Applied nor journaled, nor counted as served by coverage."""
    headers = {"Authorization": "Bearer k", **flags.get("headers", {})}
    answer = client.post("/braze/users/track", params=flags.get("params"), json={}, headers=headers)
    assert answer.status_code == 500 and answer.json()["message"] == "Internal Server Error"
    assert answer.headers["preference-applied"] == applied
    [entry] = client.get("/__admin/requests").json()["requests"]
    assert entry["errors"] == ["internal-server-error"] and entry["flags"] == applied.split(", ")
    assert "rate-limited" in client.get("/__admin/coverage?api=braze").json()["apis"]["braze"]["never_served"]


def test_a_rule_or_a_mode_naming_several_errors_answers_the_first_where_the_answer_holds_one(tmp_path, make_client):
    """A user's Braze route and mode listing two errors: the answer, the journal and coverage say the same one."""
    (tmp_path / "more.yaml").write_text(
        "api: braze\nroutes:\n  - id: both\n    method: GET\n    path: /both\n"
        "    rules: [{when: {header_absent: X-Ok}, error: [unauthorized, forbidden]}]\n    respond: {body: {}}\n"
        "modes:\n  double: {description: two errors at once, error: [forbidden, unauthorized]}\n")
    client = make_client(scenarios=(str(tmp_path),))
    by_rule = client.get("/braze/both", headers={"Authorization": "Bearer k"})
    by_mode = client.get("/braze/both?__mode=double", headers={"Authorization": "Bearer k", "X-Ok": "1"})
    assert (by_rule.status_code, by_mode.status_code) == (401, 403)
    journal = client.get("/__admin/requests").json()["requests"]
    assert [entry["errors"] for entry in journal] == [["unauthorized"], ["forbidden"]]


def test_error_flags_decide_and_code_is_not_named(client):
    answer = client.post("/braze/users/track?__error=unauthorized,unauthorized&__code=500", json={},
                         headers={"Authorization": "Bearer k"})
    assert answer.status_code == 401 and answer.headers["preference-applied"] == "error=unauthorized"


def test_an_asynchronous_error_an_immediate_one_answered_before_is_not_named(client):
    """Edge: a 503 reported in the 207 of the work, and a 400 asked with it that refuses the call first."""
    answer = client.post("/edge/ee/v2/interact?configId=ds&__error=EXEG-0201-503&__error=EXEG-0102-400",
                         json={"event": {}})
    assert answer.status_code == 400 and answer.json()["type"].endswith("EXEG-0102-400")
    assert answer.headers["preference-applied"] == "error=EXEG-0102-400"
    assert client.get("/__admin/requests").json()["requests"][0]["errors"] == ["EXEG-0102-400"]


def test_errors_still_add_up_where_the_answer_shows_them_all(client):
    answer = client.get("/dcs/event?d_rtbd=json&d_mid=1&__error=101&__error=102")
    assert answer.headers["x-error"] == "101,102" and answer.headers["preference-applied"] == "error=101, error=102"


def test_code_flag_prefers_the_routes_own_errors(toy):
    response = toy.post("/toy/items/1?__code=503", json={"name": "x"}, headers=AUTH)
    assert response.status_code == 503 and response.headers["x-error-id"] == "busy"
    response = toy.post("/toy/items/1?__code=400", json={"name": "x"}, headers=AUTH)
    assert response.headers["x-error-id"] == "bad-json"  # first of the route's 400s


@pytest.mark.parametrize("query,detail", [
    ("__error=nope", "no documented error 'nope'"),
    ("__code=418", "no error with status 418"),
    ("__whatever=1", "unknown flag '__whatever'"),
    ("__seed=abc", "takes an integer"),
])
def test_misuse_is_problem_json_and_marked(toy, query, detail):
    response = toy.post(f"/toy/items/1?{query}", json={"name": "x"}, headers=AUTH)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-mockserver-misuse"] == "1"
    assert detail in response.json()["detail"]
    assert response.json()["valid"]


@pytest.mark.parametrize("query,valid", [
    ("__error=nope", "busy"), ("__error=", "busy"), ("__code=418", "503"), ("__whatever=1", "__error"),
    ("__fault=boom", "truncate"), ("__chaos_faults=2", "0"), ("__mode=nope", None),
])
def test_misuse_detail_lists_the_valid_values(toy, query, valid):
    """GUIDE 2: "the detail lists the valid values" (not only the `valid` member)."""
    problem = toy.post(f"/toy/items/1?{query}", json={"name": "x"}, headers=AUTH).json()
    assert problem["status"] == 400
    for value in problem.get("valid", []):
        assert value in problem["detail"]
    assert valid is None or valid in problem["valid"]


def test_a_repeated_flag_counts_once_and_preference_applied_says_which(toy):
    """RFC 7240 3: the first of a repeated preference counts; the Prefer header over the query (Prism)."""
    def asked(query: str = "", prefer: list[str] | None = None) -> tuple[str, str]:
        headers = [*AUTH.items(), *(("Prefer", p) for p in prefer or [])]
        response = toy.post(f"/toy/items/1{query}", json={"name": "x"}, headers=headers)
        return response.headers["x-error-id"], response.headers["preference-applied"]

    assert asked(prefer=["code=503, code=400"]) == ("busy", "code=503")
    assert asked(prefer=["code=503", "code=400"]) == ("busy", "code=503")
    assert asked("?__code=503&__code=400") == ("busy", "code=503")
    assert asked("?__code=400", ["code=503"]) == ("busy", "code=503")
    assert asked("?__error=busy", ["error=invalid"]) == ("busy", "error=busy, error=invalid")  # errors add up
    assert toy.post("/toy/items/1?__code=abc", headers={**AUTH, "Prefer": "code=503"}).status_code == 400


def test_preference_applied_names_a_session_flag_only_when_it_was_the_session_used(client):
    """README: Preference-Applied names the flag applied. X-Mock-Session (or /__session/NAME) decides the
    session over `__session` / `Prefer: session=`, so the flag it overrode is not named."""
    def used(url: str, headers: dict[str, str]) -> tuple[str | None, str]:
        answer = client.post(url, json={"event": {}}, headers=headers)
        return answer.headers.get("preference-applied"), client.get("/__admin/requests?limit=1").json()[
            "requests"][0]["session"]

    interact = "/edge/ee/v2/interact?datastreamId=ds-1"
    assert used(interact + "&__session=q", {}) == ("session=q", "q")
    assert used(interact, {"Prefer": "session=p"}) == ("session=p", "p")
    assert used(interact + "&__session=q", {"X-Mock-Session": "h"}) == (None, "h")
    assert used(interact + "&__session=q&__code=503", {"X-Mock-Session": "h", "Prefer": "session=p"}) == (
        "code=503", "h")
    assert used("/__session/s" + interact + "&__session=q", {}) == (None, "s")


def test_preference_applied_leaves_out_a_mode_the_gateway_refused_the_request_before(client):
    """Reactor's gateway (Adobe I/O) refuses a request without credentials before Reactor, where the mode
    runs: the mode was not honoured, so Preference-Applied (RFC 7240) and the journal do not name it."""
    refused = client.get("/reactor/properties/PR1?__mode=outage&__seed=3")
    assert refused.status_code == 401 and refused.headers["preference-applied"] == "seed=3"
    served = client.get("/reactor/properties/PR1?__mode=outage",
                        headers={"Authorization": "Bearer t", "x-api-key": "k", "x-gw-ims-org-id": "O@AdobeOrg"})
    assert served.status_code == 500 and served.headers["preference-applied"] == "mode=outage"
    journaled = client.get("/__admin/requests?limit=2").json()["requests"]
    assert sorted(e["flags"] for e in journaled) == [["mode=outage"], ["seed=3"]]


@pytest.mark.parametrize(("method", "url", "status"), [
    ("GET", "/braze/nowhere?__error=rate-limited&__seed=3", 404),  # no route: Braze's own 404
    ("DELETE", "/reactor/companies?__code=500&__mode=outage&__seed=3", 404),  # a path of another method
    ("GET", "/edge/ee/v2/interact?datastreamId=ds-1&__chaos=1&__seed=3", 404),
])
def test_preference_applied_leaves_out_what_only_a_route_applies_where_none_matched(client, method, url, status):
    """GUIDE §2: `__error` answers "on any of its routes"; a path that is none of them gets the API's natural
    answer, and Preference-Applied (RFC 7240) names only what was applied: the seed, not the error."""
    answer = client.request(method, url, headers={**AUTH, "x-api-key": "k", "x-gw-ims-org-id": "O@AdobeOrg"})
    assert answer.status_code == status and answer.headers["preference-applied"] == "seed=3"


def test_preference_applied_leaves_out_the_mode_and_chaos_an_error_flag_answered_before(client):
    """An `__error` answers before chaos draws or a mode counts: neither ran, neither is named."""
    credentials = {**AUTH, "x-api-key": "k", "x-gw-ims-org-id": "O@AdobeOrg"}
    answer = client.get("/reactor/companies?__error=not-authorized&__mode=outage&__chaos=1", headers=credentials)
    assert answer.status_code == 403 and answer.headers["preference-applied"] == "error=not-authorized"
    drawn = client.get("/reactor/companies?__chaos=1&__mode=outage", headers=credentials)
    assert drawn.status_code >= 400 and drawn.headers["preference-applied"] == "chaos=1"


def test_preference_applied_leaves_out_an_asynchronous_error_a_mode_or_chaos_answered_before(client):
    """The asked error would have shown on the build; the outage (or a chaos draw) answered at once instead."""
    credentials = {**AUTH, "x-api-key": "k", "x-gw-ims-org-id": "O@AdobeOrg"}
    builds = f"/reactor/libraries/LB{'0' * 32}/builds?__error=connection-refused"
    outage = client.post(builds + "&__mode=outage", headers=credentials)
    assert outage.status_code == 500 and outage.headers["preference-applied"] == "mode=outage"
    drawn = client.post(builds + "&__chaos=1&__seed=0", headers=credentials)
    assert drawn.status_code >= 400 and drawn.headers["preference-applied"] == "chaos=1, seed=0"


def test_preference_applied_of_a_preflight_and_of_a_replay_names_what_they_applied(client):
    preflight = client.options("/edge/ee/v2/interact?__error=EXEG-0000-503&__mode=outage&__seed=1",
                               headers={"Origin": "http://a.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["preference-applied"] == "seed=1"
    # the token holds ; and =: Preference-Applied quotes it (RFC 7240 word)
    token = "seed=0;session=default;n=1;error=internal-error"
    replayed = client.get(f"/reactor/companies?__replay={token}&__error=not-authorized&__mode=outage",
                          headers={**AUTH, "x-api-key": "k", "x-gw-ims-org-id": "O@AdobeOrg"})
    assert replayed.status_code == 500 and replayed.headers["preference-applied"] == f'replay="{token}"'


def test_the_journal_keeps_the_flags_sent_to_a_path_no_route_serves(client):
    """Not applied, so not in Preference-Applied; but the journal (and the pytest plugin's list of unmatched
    requests) shows what the test asked of that path."""
    answer = client.get("/braze/nowhere?__error=rate-limited")
    assert answer.status_code == 404 and "preference-applied" not in answer.headers
    [entry] = client.get("/__admin/requests/unmatched").json()["requests"]
    assert entry["flags"] == ["error=rate-limited"]


def test_preference_applied_leaves_out_an_error_flag_a_hooks_refusal_answered_before(client):
    """clientless refuses a prequal host, or a URL that does not decode, before any route: not what was asked."""
    prequal = {"Host": "api.auth-prequal.adobe.com", "Accept": "application/json"}
    refused = client.get("/clientless/api/v1/config/R?__code=412&__seed=2", headers=prequal)
    assert refused.json()["status"] == 403 and refused.headers["preference-applied"] == "seed=2"  # prequal-spoofing
    malformed = client.get("/clientless/api/v1/config/R%ZZ?__error=not-authenticated&__seed=2")  # the hook's own 400
    assert malformed.status_code == 400 and malformed.headers["preference-applied"] == "seed=2"


def test_same_seed_and_session_give_the_same_bytes_whatever_other_sessions_do(tmp_path, make_client):
    (tmp_path / "toy.yaml").write_text(TOY)
    first, second = make_client(scenarios=(str(tmp_path),)), make_client(scenarios=(str(tmp_path),))

    def run(client, noise: bool) -> list[bytes]:
        bodies = []
        for n in range(4):
            if noise:
                client.post("/toy/items/9", json={"name": "n"}, headers={**AUTH, "X-Mock-Session": "other"})
            bodies.append(client.post(f"/toy/items/{n}", json={"name": "x"},
                                      headers={**AUTH, "X-Mock-Session": "mine"}).content)
        return bodies

    assert run(first, noise=False) == run(second, noise=True)
    other_seed = first.post("/toy/items/0?__seed=5", json={"name": "x"}, headers={**AUTH, "X-Mock-Session": "s5"})
    assert other_seed.json()["uuid"] != second.post("/toy/items/0", json={"name": "x"},
                                                    headers={**AUTH, "X-Mock-Session": "s6"}).json()["uuid"]


def test_host_header_serves_the_api_at_root(toy):
    response = toy.get("/nothing", headers={"Host": "api.eu.toy.test"})
    assert response.status_code == 404 and response.headers["x-error-id"] == "missing"


def test_the_most_specific_host_pattern_wins_whatever_the_file_order(tmp_path, make_client):
    """A user's API with `*.adobe.io` leaves reactor.adobe.io (an exact name) to Reactor; its own
    `special.demdex.net` wins over DCS's `*.demdex.net`, though DCS's file came first (it was DCS's before)."""
    (tmp_path / "toy.yaml").write_text(TOY.replace('hosts: ["api.*.toy.test"]',
                                                   'hosts: ["api.*.toy.test", "*.adobe.io", "special.demdex.net"]'))
    client = make_client(scenarios=(str(tmp_path),))

    def api_of(host: str) -> str:
        client.get("/nothing", headers={"Host": host, "X-Mock-Session": host})
        return str(client.get(f"/__admin/requests?session={host}").json()["requests"][-1]["api"])

    assert api_of("reactor.adobe.io") == "reactor" and api_of("other.adobe.io") == "toy"
    assert api_of("special.demdex.net") == "toy" and api_of("dpm.demdex.net") == "dcs"


def test_api_option_serves_one_api_at_root(tmp_path, make_client):
    (tmp_path / "toy.yaml").write_text(TOY)
    client = make_client(scenarios=(str(tmp_path),), api="toy")
    assert client.post("/items/1", json={"name": "x"}, headers=AUTH).status_code == 201
    health = client.get("/__admin/health").json()
    assert health["apis"] == ["toy"]  # what is served, not all that loaded
    assert health["prefixes"] == {"toy": ""}, "served at /: a remote client (--mockserver-url) builds its URLs so"
    assert {e["api"] for e in client.get("/__admin/catalog").json()} == {"toy"}  # the catalog agrees


def test_no_api_at_the_path_is_misuse_listing_prefixes(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 or response.status_code == 400
    assert response.headers["x-mockserver-misuse"] == "1"
    assert "/reactor/..." in response.json()["valid"]


def test_admin_health_catalog_journal_reset(toy):
    health = toy.get("/__admin/health").json()
    assert health["status"] == "ok" and health["prefixes"]["toy"] == "/toy" and set(health["prefixes"]) == set(
        health["apis"])
    catalog = toy.get("/__admin/catalog?api=toy").json()
    assert {e["id"] for e in catalog} == {"unauthorized", "too-big", "bad-json", "invalid", "busy", "later", "missing"}
    assert toy.get("/__admin/catalog?api=nope").headers["x-mockserver-misuse"] == "1"
    toy.post("/toy/items/1", json={"name": "x"}, headers={**AUTH, "Cookie": "a=b", "X-Mock-Session": "j"})
    toy.post("/toy/items/1?__error=busy", headers={**AUTH, "X-Mock-Session": "j"})
    journal = toy.get("/__admin/requests?session=j").json()["requests"]
    assert [e["status"] for e in journal] == [201, 503]
    assert journal[1]["errors"] == ["busy"] and journal[1]["route"] == "echo"
    assert ["authorization", "Bearer [redacted]"] in journal[0]["headers"]
    assert ["cookie", "[redacted]"] in journal[0]["headers"]
    coverage = toy.get("/__admin/coverage?session=j").json()["apis"]["toy"]
    assert coverage["served_ids"] == ["busy"] and coverage["total"] == 7
    assert toy.post("/__admin/reset?session=j").json() == {"reset": "j"}
    assert toy.get("/__admin/requests?session=j").json()["count"] == 0


def test_liveness_answers_while_readiness_does_not():
    """Before the lifespan marks the app ready (or while its Redis is away) a readiness probe gets 503, and a
    liveness probe 200: a container that is starting or waiting on its store is not restarted for it."""
    from mockserver.app import build_app
    from mockserver.settings import Settings
    from tests.conftest import asgi_client

    client = asgi_client(build_app(Settings()))  # no `with`: no lifespan, so never ready
    assert client.get("/__admin/health").status_code == 503
    live = client.get("/__admin/health/live")
    assert live.status_code == 200 and live.json()["status"] == "alive" and live.json()["ready"] is False
    assert live.headers["content-type"] == "application/json" and "date" in live.headers


def test_journal_is_bounded(tmp_path, make_client):
    (tmp_path / "toy.yaml").write_text(TOY)
    client = make_client(scenarios=(str(tmp_path),), journal_size=3)
    for n in range(5):
        client.get(f"/toy/x{n}")
    paths = [e["path"] for e in client.get("/__admin/requests").json()["requests"]]
    assert paths == ["/toy/x2", "/toy/x3", "/toy/x4"]


def test_reload_with_a_broken_file_keeps_what_it_had(tmp_path, make_client, caplog):
    path = tmp_path / "toy.yaml"
    path.write_text(TOY)
    client = make_client(scenarios=(str(tmp_path),))
    path.write_text(TOY.replace("status: 503", "status: nope"))
    response = client.post("/__admin/reload")
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Scenario files refused" and response.json()["loaded"] is False
    assert any("toy.yaml:" in p and "errors.busy.status" in p for p in response.json()["problems"])
    assert client.post("/toy/items/1?__error=busy", headers=AUTH).status_code == 503
    path.write_text(TOY.replace("status: 503", "status: 504"))
    assert client.post("/__admin/reload").json()["loaded"] is True
    assert client.post("/toy/items/1?__error=busy", headers=AUTH).status_code == 504
    said = [r.getMessage() for r in caplog.records if r.name == "mockserver"]  # a CI log shows each reload
    assert said == ["POST /__admin/reload: 1 problem(s) in the scenario files; the files read before are still served",
                    "POST /__admin/reload: read the scenario files again (braze, clientless, dcs, edge, reactor, toy)"]


@pytest.mark.parametrize(("level", "said"), [
    ("warning", "SIGHUP: read the scenario files again (braze, clientless, dcs, edge, reactor, toy)\n"),
    ("error", ""),
])
def test_sighup_says_it_read_the_files_again_unless_the_log_level_keeps_errors_only(tmp_path, capsys, level, said):
    """--log-level error leaves the server's own lines out (README: the start-up line; this one too); problems show."""
    from mockserver.app import build_app
    from mockserver.settings import Settings

    (tmp_path / "toy.yaml").write_text(TOY)
    app = build_app(Settings(scenarios=(str(tmp_path),), log_level=level))
    app.read_files_again()
    assert capsys.readouterr().err == said
    (tmp_path / "toy.yaml").write_text("api: [broken")
    app.read_files_again()
    assert capsys.readouterr().err.endswith("1 problem(s) in the scenario files (SIGHUP); the files read before are "
                                            "still served.\n")


_STARTED = """
import asyncio, gc
from mockserver.app import app_from_environment

app = app_from_environment()
print(gc.isenabled())

async def main():
    sent = []

    async def receive():
        return {"type": "lifespan.startup"} if not sent else await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    while not sent:
        await asyncio.sleep(0)
    print(sent[0]["type"], gc.isenabled(), gc.get_freeze_count() > 10_000)
    task.cancel()

asyncio.run(main())
"""


def test_a_server_process_loads_without_gc_and_serves_with_it_on_the_loaded_objects_frozen():
    """Start-up runs without GC passes (fewer instructions to the first healthy answer); once the app serves, GC
    must be back on, or every request's cyclic garbage would be kept for the process's life."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _STARTED], capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == ["False", "lifespan.startup.complete", "True", "True"], run.stderr


def test_clock_moves_and_freezes(client):
    frozen = client.post("/__admin/clock", json={"freeze": True}).json()
    moved = client.post("/__admin/clock", json={"advance": "90s"}).json()
    assert moved["frozen"] and moved["now"] == pytest.approx(frozen["now"] + 90)
    assert client.post("/__admin/clock", json={"advance": "soon"}).headers["x-mockserver-misuse"] == "1"


def test_bodies_replay_after_the_clock_was_frozen_then_unfrozen(make_client, monkeypatch):
    """Unfreezing runs the clock on from the frozen instant, an offset that holds the wall time of the unfreezing;
    the times a body prints (a Reactor resource's created_at) stay on the session's time line: two servers
    unfrozen seconds apart answer the same bytes."""
    import time

    from mockserver.engine import clock

    headers = {"Authorization": "Bearer t", "x-api-key": "k", "Content-Type": "application/vnd.api+json"}
    body = {"data": {"type": "properties", "attributes": {"name": "p", "platform": "web", "domains": ["a.com"]}}}

    def run(late_by: float) -> list[bytes]:
        client = make_client()
        company = client.get("/reactor/companies", headers=headers).json()["data"][0]["id"]
        client.post("/__admin/clock", json={"freeze": "2026-01-01T00:00:00Z"})
        monkeypatch.setattr(clock.time, "time", lambda real=time.time: real() + late_by)
        client.post("/__admin/clock", json={"freeze": False})
        made = client.post(f"/reactor/companies/{company}/properties", json=body, headers=headers)
        monkeypatch.undo()
        return [made.content]

    assert run(0.0) == run(5.0)


def test_head_has_no_body(toy):
    response = toy.head("/toy/anything")
    assert response.status_code == 404 and response.content == b""


def test_a_template_part_that_reads_the_error_at_request_time_sees_it(tmp_path, make_client):
    """Parts mixing the error with request data stay dynamic and still see `error` and `errors`."""
    (tmp_path / "toy.yaml").write_text(TOY.replace(
        '    message: "{{ error.title }}"\n',
        '    message: "{{ error.title }}"\n    mixed: "{{ error.title ~ request.method }}"\n'
        '    n: "{{ errors | length }}"\n'))
    client = make_client(scenarios=(str(tmp_path),))
    response = client.post("/toy/items/1?__error=busy", headers=AUTH)
    assert response.json()["mixed"] == "BusyPOST" and response.json()["n"] == 1


ITEMS = """\
api: items
prefix: /items
error_item: "{{ omit if error.hidden else {'id': error.id, 'n': uuid()} }}"
error_response:
  status: "{{ error.status }}"
  body: {errors: "{{ items }}"}
errors:
  shown: {status: 400, title: Shown}
  hidden: {status: 400, title: Hidden, fields: {hidden: true}}
routes:
  - {id: any, method: GET, path: /x, respond: {status: 200, body: {ok: true}}}
"""


@pytest.mark.parametrize(("asked", "ids"), [("shown", ["shown"]), ("hidden", []), ("shown,hidden", ["shown"])])
def test_an_error_item_may_omit_itself(tmp_path: Path, make_client, asked: str, ids: list[str]) -> None:
    """One error (items spliced as JSON text) or several (items as values): an omitted item is left out."""
    (tmp_path / "items.yaml").write_text(ITEMS)
    answer = make_client(scenarios=(str(tmp_path),)).get(f"/items/x?__error={asked}")
    assert answer.status_code == 400
    assert [item["id"] for item in answer.json()["errors"]] == ids


OWN = """\
api: own
prefix: /own
error_response: {status: "{{ error.status }}", body: {api: "{{ error.title }}"}}
errors:
  teapot: {status: 418, title: Teapot, response: {body: {own: "{{ error.title }}"}}}
  coded: {status: 418, title: Coded, response: {status: 201, body: {own: "{{ error.title }}"}}}
routes:
  - {id: any, method: GET, path: /x, respond: {status: 200, body: {ok: true}}}
"""


def test_an_errors_own_response_keeps_the_errors_status(tmp_path: Path, make_client) -> None:
    """README ("Your own scenarios": an error's `response`); the schema: `status` is "the HTTP status the error is
    answered with". An own response without a status answered 200 while the catalog said 418."""
    (tmp_path / "own.yaml").write_text(OWN)
    client = make_client(scenarios=(str(tmp_path),))
    teapot = client.get("/own/x?__error=teapot")
    assert (teapot.status_code, teapot.json()) == (418, {"own": "Teapot"})
    assert client.get("/own/x?__error=coded").status_code == 201  # its own status wins (Braze's minor errors)


@pytest.mark.parametrize(("header", "name"), [("Example.COM:8080", "example.com"), ("example.com", "example.com"),
                                               ("[::1]:8080", "[::1]"), ("[::1]", "[::1]"), ("", ""),
                                               ("dcs.demdex.net.", "dcs.demdex.net"),
                                               ("dcs.demdex.net.:443", "dcs.demdex.net")])
def test_host_names_from_host_headers(header: str, name: str) -> None:
    from mockserver.dispatch import host_name

    assert host_name(header) == name


def test_the_server_holds_max_sessions_and_forgets_the_least_recently_used(make_client):
    client = make_client(max_sessions=2)
    client.post("/__admin/clock", json={"freeze": True})  # one rate-limit window throughout

    def remaining(session: str) -> int:
        answer = client.post("/braze/users/track", json={"attributes": [{"external_id": "u", "a": 1}]},
                             headers={"Authorization": "Bearer k", "X-Mock-Session": session})
        return int(answer.headers["X-RateLimit-Remaining"])

    first = remaining("a")
    assert remaining("a") == first - 1 and remaining("b") == first  # a quota per session
    assert remaining("a") == first - 2  # a used last: b is the least recently used
    assert remaining("c") == first and remaining("a") == first - 3  # c took b's place
    assert remaining("b") == first  # b was forgotten: it starts afresh
    assert len([s for s in client.app.runtime.state.data if s != "*"]) == 2


def test_coverage_keeps_the_last_max_sessions_sessions_seen_not_the_first(make_client):
    """README ("A server that stays up"): what each session was served is kept "for the last
    --max-sessions sessions seen", as its state is: a session seen again is among the last seen."""
    client = make_client(max_sessions=2)

    def serve(session: str, error: str) -> None:
        answer = client.post(f"/edge/ee/v2/interact?datastreamId=ds-1&__error={error}", json={"event": {}},
                             headers={"X-Mock-Session": session})
        assert answer.status_code >= 400

    def served(session: str) -> list[str]:
        return client.get(f"/__admin/coverage?session={session}&api=edge").json()["apis"]["edge"]["served_ids"]

    serve("a", "EXEG-0001-500")
    serve("b", "EXEG-0400-403")
    serve("a", "EXEG-0000-503")  # a seen last: b is the least recently seen
    serve("c", "rate-limited")  # c takes b's place
    assert served("a") == ["EXEG-0000-503", "EXEG-0001-500"] and served("c") == ["rate-limited"]
    assert served("b") == []  # forgotten in its own coverage ...
    whole = client.get("/__admin/coverage?api=edge").json()["apis"]["edge"]["served_ids"]
    assert "EXEG-0400-403" in whole  # ... still in the whole server's


def test_a_template_that_fails_on_a_request_says_which_route_and_why(tmp_path, make_client):
    """`{{ 1 // request.json.n }}` compiles and fails on n = 0: the client gets the mock's own 500 (never
    the imitated API's) naming the route and the exception, so the file's author knows what to fix."""
    extra = ("  - id: ratio\n    method: POST\n    path: /ratio\n"
             "    respond: {body: {r: \"{{ 1 // request.json.n }}\"}}\n")
    (tmp_path / "toy.yaml").write_text(TOY + extra)
    client = make_client(scenarios=(str(tmp_path),))
    assert client.post("/toy/ratio", json={"n": 2}).json() == {"r": 0}
    answer = client.post("/toy/ratio", json={"n": 0})
    assert answer.status_code == 500 and answer.headers["X-Mockserver-Internal-Error"] == "1"
    assert ("ZeroDivisionError: integer division or modulo by zero, answering route ratio "
            f"({tmp_path / 'toy.yaml'}:") in answer.json()["detail"]  # the route's file and line, as validate says
    # its own problem type: the request was no misuse (README, "Misuse"), the mock or its file failed
    assert answer.json()["type"] == "urn:mockserver:problem:internal-error", answer.json()
    assert answer.json()["title"] == "Internal error of the mock server" and "X-Mockserver-Misuse" not in answer.headers
    misuse = client.get("/toy/ratio?__nope=1")
    assert misuse.json()["type"] == "urn:mockserver:problem:misuse"
    assert misuse.json()["title"] == "Misuse of the mock server"


def test_a_template_failing_on_every_request_logs_its_traceback_once(tmp_path, make_client, caplog):
    """35 lines of engine traceback per request filled a CI log: the first failure has it, the same one again a
    line naming it."""
    extra = ("  - id: ratio\n    method: POST\n    path: /ratio\n"
             "    respond: {body: {r: \"{{ 1 // request.json.n }}\"}}\n")
    (tmp_path / "toy.yaml").write_text(TOY + extra)
    client = make_client(scenarios=(str(tmp_path),))
    with caplog.at_level("ERROR", logger="mockserver"):
        for _ in range(3):
            assert client.post("/toy/ratio", json={"n": 0}).status_code == 500
    records = [r for r in caplog.records if r.name == "mockserver"]
    assert [r.exc_info is not None for r in records] == [True, False, False]
    assert "ZeroDivisionError: integer division or modulo by zero (its traceback is above)" in records[1].getMessage()


def test_a_check_given_the_wrong_args_is_refused_at_load(tmp_path, make_client):
    """braze.count_over reads args.fields and args.limit: given neither, the file is refused at load (it was
    the mock's own 500 on the first request that reached the rule)."""
    extra = ("  - id: counted\n    method: POST\n    path: /counted\n    rules:\n"
             "      - when: {check: {name: braze.count_over, args: {max: 2}}}\n        error: invalid\n"
             "    respond: {body: {}}\n")
    (tmp_path / "toy.yaml").write_text(TOY + extra)
    with pytest.raises(ScenarioError) as refused:
        make_client(scenarios=(str(tmp_path),))
    assert "braze.count_over takes no argument 'max'" in str(refused.value), refused.value
    assert "braze.count_over needs the argument 'fields'" in str(refused.value), refused.value


@pytest.mark.parametrize(("raw", "expected"), [
    (b"/__session/ab/braze/x%2Fy", b"/braze/x%2Fy"), (b"/%5F%5Fsession/ab/braze/x", b"/braze/x"),
    (b"/__session/a%2Db/braze/x", b"/braze/x"), (b"/__session/ab", b"/")])
def test_a_session_path_keeps_the_rest_of_the_raw_path_as_sent(raw, expected):
    """raw_path is cut after the session name however the client escaped the prefix or the name."""
    from urllib.parse import unquote

    from mockserver.app import session_scope

    path = unquote(raw.decode())
    scoped = session_scope({"type": "http", "path": path, "raw_path": raw, "headers": [], "root_path": ""})
    assert scoped["raw_path"] == expected and scoped["path"] == unquote(expected.decode())


@pytest.mark.parametrize(("schema", "field", "message"), [
    ('{type: object, properties: {name: {pattern: "[a"}}}', "properties.name.pattern",
     "invalid regular expression '[a': unterminated character set at position 0"),
    ('{type: object, patternProperties: {"a{4294967296}": {}}}', "patternProperties",
     "invalid regular expression 'a{4294967296}': the repetition number is too large"),
], ids=["pattern", "patternProperties"])
def test_a_regex_of_an_inline_schema_that_does_not_compile_is_refused_at_reload(tmp_path, make_client, schema, field,
                                                                                message):
    """It passed, and every POST with a JSON body was then the mock's 500 (`error: unterminated character set ...
    answering route echo`): jsonschema compiles a `pattern` when it searches with it."""
    path = tmp_path / "toy.yaml"
    path.write_text(TOY)
    client = make_client(scenarios=(str(tmp_path),))
    path.write_text(TOY.replace("{type: object, required: [name]}", schema))
    response = client.post("/__admin/reload")
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [f"{path}:33: routes[0].rules[3].when.body_violates.{field}: {message}"]
    assert client.post("/toy/items/1", headers=AUTH, json={"name": "x"}).status_code == 201  # the old file served


BUNDLED = Path(__file__).resolve().parents[2] / "mockserver" / "scenarios"
DCS_PIXEL = ("/dcs/demoptout.jpg", {"host": "partner.demdex.net"})  # a DCS answer: 200


@pytest.mark.parametrize(("api", "given", "problem"), [
    ("dcs", 'headers: {X-A: "{{ 1 + }}"}',
     "headers.X-A: template does not compile: unexpected 'end of print statement'"),
    ("dcs", 'headers: {X-A: "{{ nope }}"}', "headers.X-A: no name 'nope' in this template's context (known: "),
    ("dcs", 'hosts: ["reactor.adobe.io"]', "hosts[0]: reactor.adobe.io is already served by reactor"),
    ("dcs", "prefix: /reactor", "prefix: /reactor is already used by reactor"),
    ("braze", "prefix: /dcs", "prefix: /dcs is already used by dcs"),
    ("braze", 'hosts: ["x*.demdex.ne?"]',
     f"hosts[0]: x*.demdex.ne? and dcs's *.demdex.net ({BUNDLED / 'dcs.yaml'}:20) can match one Host, and neither is "
     "more specific (an exact name, then more literal characters, wins): make one of them more specific"),
], ids=["header", "header-name", "host", "prefix", "prefix-of-an-api-after", "host-tie-with-an-api-after"])
def test_a_users_top_level_value_over_a_bundled_api_is_told_in_the_users_file(tmp_path, make_client, api, given,
                                                                               problem):
    """Merged headers were checked at the first (bundled) file's `headers:` line, and a prefix or host taken from an
    API read later was blamed on that API's bundled line: the user was sent to a file of the package."""
    client = make_client(scenarios=(str(tmp_path),))
    path = tmp_path / f"my-{api}.yaml"
    path.write_text(f"api: {api}\n# mine\n{given}\n")
    response = client.post("/__admin/reload")
    assert response.status_code == 422, response.text
    [found] = response.json()["problems"]
    assert found.startswith(f"{path}:3: {problem}"), found
    assert client.get(DCS_PIXEL[0], headers=DCS_PIXEL[1]).status_code == 200  # the old files served


def test_a_users_header_beside_the_bundled_ones_is_added(tmp_path, make_client):
    (tmp_path / "my-braze.yaml").write_text('api: braze\nheaders: {X-Mine: "{{ request.method }}"}\n')
    client = make_client(scenarios=(str(tmp_path),))
    answer = client.post("/braze/users/track", json={})
    assert answer.headers["x-mine"] == "POST"
    assert "x-ratelimit-limit" in answer.headers  # braze.yaml's own headers stay


TWO_ROUTES = """\
api: dcs
routes:
  - id: {id}
    method: GET
    path: /mine
    respond: {{body: mine}}
  - id: {id}
    method: GET
    path: /second
    respond: {{body: second}}
"""


@pytest.mark.parametrize("route_id", ["opt-out", "my-route"], ids=["a-bundled-id", "a-new-id"])
def test_a_route_id_one_file_gives_twice_is_refused_bundled_or_not(tmp_path, make_client, route_id):
    """Two `opt-out`s passed (the second replaced the first, which had replaced the bundled one): `/dcs/mine` was then
    DCS's 400 and `/demoptout.jpg` gone. Two of a new id were refused already."""
    client = make_client(scenarios=(str(tmp_path),))
    path = tmp_path / "my-dcs.yaml"
    path.write_text(TWO_ROUTES.format(id=route_id))
    response = client.post("/__admin/reload")
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [f"{path}:7: routes[1].id: route id '{route_id}' is used twice"]
    assert client.get(DCS_PIXEL[0], headers=DCS_PIXEL[1]).status_code == 200  # the old files served


def test_a_bundled_route_replaced_once_by_each_of_two_files_is_the_last_files(tmp_path, make_client):
    """How a user overrides a bundled route: one file's route of its id; a later file's replaces it again."""
    for name, body in (("a.yaml", "first"), ("b.yaml", "second")):
        (tmp_path / name).write_text(f"api: dcs\nroutes:\n  - id: opt-out\n    method: GET\n    path: /demoptout.jpg\n"
                                     f"    respond: {{body: {body}}}\n")
    client = make_client(scenarios=(str(tmp_path),))
    assert client.get("/dcs/demoptout.jpg").text == "second"


def test_a_template_failing_on_every_render_is_told_at_load(tmp_path, make_client):
    """A template reading nothing of the request renders the same on every request: one over the step budget
    passed validate, then every request was the mock's 500 (a reviewer's finding). It is rendered once at load."""
    client = make_client(scenarios=(str(tmp_path),))
    (tmp_path / "toy.yaml").write_text(TOY + "  - id: loops\n    method: GET\n    path: /loops\n    respond: "
                                       "{body: \"{% for i in range(2000) %}{% for j in range(1000) %}{% endfor %}"
                                       "{% endfor %}x\"}\n")
    answer = client.post("/__admin/reload")
    assert answer.status_code == 422
    [problem] = answer.json()["problems"]
    assert problem.startswith(f"{tmp_path / 'toy.yaml'}:") and "routes[1].respond.body: template fails on every " \
        "render: SecurityError: the template takes over 1,000,000 steps to render" in problem, problem


def test_a_template_looping_in_a_loop_is_the_mocks_500_not_a_hang(tmp_path, make_client):
    """It passed validate and a GET hung the server (10**10 steps): each render now has a budget of steps. (One
    reading nothing of the request is told at load: test_a_template_failing_on_every_render_is_told_at_load.)"""
    extra = ("  - id: loops\n    method: GET\n    path: /loops\n    respond: {body: \"{% for i in range(99999) %}"
             "{% for j in range(99999 if request.path else 0) %}{% endfor %}{% endfor %}x\"}\n"
             "  - id: loop\n    method: GET\n    path: /loop\n    respond: {body: \"{% for i in range(3) %}"
             "{{ i }}{% endfor %}\"}\n")
    (tmp_path / "toy.yaml").write_text(TOY + extra)
    client = make_client(scenarios=(str(tmp_path),))
    answer = client.get("/toy/loops")
    assert answer.status_code == 500 and answer.headers["X-Mockserver-Internal-Error"] == "1"
    assert "SecurityError: the template takes over 1,000,000 steps to render" in answer.json()["detail"]
    assert "answering route loops" in answer.json()["detail"]
    assert client.get("/toy/loop").text == "012"


def test_a_misuse_sent_through_prefer_is_journaled_with_the_flags_sent(client):
    """README (the journal's `flags`: "those sent, for a misuse"): a bad flag in `Prefer` was journaled `flags: []`,
    or only the query's, so the pytest plugin's misuse listing left out the flag at fault. Other preferences
    (`return=minimal`) are no flags."""
    client.post("/__admin/reset")
    refused = client.get("/dcs/event?d_rtbd=json&__seed=1", headers={"Prefer": "return=minimal, mode=nope"})
    assert refused.status_code == 400 and refused.headers["x-mockserver-misuse"] == "1"
    [entry] = client.get("/__admin/requests").json()["requests"]
    assert entry["misuse"] is True and entry["flags"] == ["seed=1", "mode=nope"]
