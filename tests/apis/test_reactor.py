"""Reactor's catalog: every documented error by flag, as a JSON:API document; asynchronous errors on polls."""

from __future__ import annotations

import pytest

from mockserver.scenario.load import load_catalog
from tests.apis.test_reactor_support import JSONAPI, Reactor, assert_jsonapi, documented_ids, extension_zip

CATALOG = {e["id"]: e for e in load_catalog().entries("reactor")}
# Answered by Adobe's API gateway in its own shape ({error_code, message}), not as JSON:API.
GATEWAY = {"too-many-requests", "api-key-missing", "missing-header"}
CLIENTS_READ = {"invalid-name"}  # not on the errors page: adobe/reactor-uploader bin/uploadZip.js reads it
JSONAPI_ERRORS = sorted(set(CATALOG) - GATEWAY)
ASYNC = sorted(i for i, e in CATALOG.items() if e["asynchronous"])


@pytest.fixture
def reactor(client) -> Reactor:  # type: ignore[no-untyped-def]
    return Reactor(client)


def test_the_catalog_holds_the_documented_errors_and_the_gateways_each_with_status_trigger_and_reason():
    assert set(CATALOG) == set(documented_ids()) | GATEWAY | CLIENTS_READ
    for entry in CATALOG.values():
        assert 400 <= entry["status"] <= 599 and entry["trigger"] and entry["reason"], entry["id"]
    assert CATALOG["not-found"]["status"] == 404 and CATALOG["not-found"]["title"] == "Record Not Found"


@pytest.mark.parametrize("error_id", JSONAPI_ERRORS)
def test_every_error_by_flag_is_a_jsonapi_error_document(reactor, error_id):
    response = reactor.get(f"/companies?__error={error_id}")
    entry = CATALOG[error_id]
    assert response.status_code == entry["status"]
    assert response.headers["content-type"] == JSONAPI
    document = response.json()
    assert_jsonapi(document)
    [error] = document["errors"]
    assert error["status"] == str(entry["status"]) and error["code"] == error_id
    assert error["title"] == entry["title"] and error["detail"] == entry["description"]
    assert len(error["meta"]["request_id"]) == 32 and len(error["id"]) == 36


def test_prefer_header_asks_the_same_error_and_several_errors_come_in_one_document(reactor):
    by_header = reactor.get("/companies", headers={"Prefer": "error=read-only"})
    assert by_header.status_code == 403 and by_header.json()["errors"][0]["code"] == "read-only"
    both = reactor.get("/companies", headers={"Prefer": "error=not-found, error=not-unique"})
    errors = both.json()["errors"]
    assert both.status_code == 404 and [e["code"] for e in errors] == ["not-found", "not-unique"]
    assert errors[0]["id"] != errors[1]["id"] and errors[0]["meta"] == errors[1]["meta"]
    assert errors[1]["source"] == {"pointer": "/data/attributes/name"}


@pytest.mark.parametrize("status", sorted({CATALOG[i]["status"] for i in JSONAPI_ERRORS
                                           if not CATALOG[i]["asynchronous"]}))
def test_code_flag_gives_a_documented_error_of_that_status(reactor, status):
    response = reactor.get(f"/companies?__code={status}")
    assert response.status_code == status
    assert CATALOG[response.json()["errors"][0]["code"]]["status"] == status


@pytest.mark.parametrize("status", [502, 504])
def test_code_flag_of_a_deployment_failure_fails_the_build(reactor, status):
    # on a route that starts nothing, a deployment failure is answered at once, as __error does there
    at_once = reactor.get(f"/companies?__code={status}")
    assert at_once.status_code == status and CATALOG[at_once.json()["errors"][0]["code"]]["asynchronous"]
    _, library, _ = reactor.buildable()
    build = reactor.post(f"/libraries/{library}/builds?__code={status}").json()["data"]
    [error] = reactor.get(f"/builds/{build['id']}").json()["data"]["meta"]["status_details"]["errors"]
    assert error["status"] == str(status) and CATALOG[error["code"]]["asynchronous"]


def test_same_seed_and_session_replay_byte_for_byte(client):
    frozen = client.post("/__admin/clock", json={"freeze": True})
    assert frozen.status_code == 200

    def run(session: str) -> list[bytes]:
        reactor = Reactor(client, session=session)
        prop = reactor.property()
        return [reactor.get(f"/properties/{prop}").content, reactor.get("/companies?__error=not-found").content]

    first = run("replay")
    client.post("/__admin/reset?session=replay")
    assert run("replay") == first
    assert run("other") != first


@pytest.mark.parametrize("error_id", ASYNC)
def test_an_asynchronous_error_asked_on_a_build_shows_when_the_build_is_polled(reactor, error_id):
    _, library, _ = reactor.buildable()
    created = reactor.post(f"/libraries/{library}/builds", headers={"Prefer": f"error={error_id}"})
    assert created.status_code == 201 and created.json()["data"]["attributes"]["status"] == "pending"
    assert "status_details" not in created.json()["data"].get("meta", {})
    polled = reactor.get(f"/builds/{created.json()['data']['id']}").json()
    assert_jsonapi(polled)
    assert polled["data"]["attributes"]["status"] == "failed"
    [error] = polled["data"]["meta"]["status_details"]["errors"]
    immediate = reactor.get(f"/companies?__error={error_id}").json()["errors"][0]
    assert set(error) == set(immediate) and error["code"] == error_id and error["status"] == immediate["status"]
    assert error["title"] == immediate["title"] and error["detail"] == immediate["detail"]


@pytest.mark.parametrize("error_id", ["extension-package-zip-error", "library-file-not-found", "socket-error"])
def test_an_asynchronous_error_asked_on_an_upload_shows_on_the_package(reactor, error_id):
    files = {"package": ("package.zip", extension_zip(), "application/zip")}
    created = reactor.client.post("/reactor/extension_packages", files=files,
                                  headers={**{k: v for k, v in reactor.headers.items() if k != "Content-Type"},
                                           "Prefer": f"error={error_id}"})
    assert created.status_code == 201 and created.json()["data"]["attributes"]["status"] == "pending"
    polled = reactor.get(f"/extension_packages/{created.json()['data']['id']}").json()
    assert polled["data"]["attributes"]["status"] == "failed"
    assert [e["code"] for e in polled["data"]["meta"]["status_details"]["errors"]] == [error_id]


def test_an_asynchronous_error_asked_where_nothing_asynchronous_starts_is_immediate(reactor):
    response = reactor.get("/companies?__error=minification-error")
    assert response.status_code == CATALOG["minification-error"]["status"]
    assert response.json()["errors"][0]["code"] == "minification-error"


def test_a_flagged_build_on_a_library_without_environment_still_needs_the_environment(reactor):
    library = reactor.library(reactor.property())
    response = reactor.post(f"/libraries/{library}/builds?__error=minification-error")
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "environment-required"


def test_without_a_flag_the_build_succeeds_on_the_first_poll(reactor):
    _, library, environment = reactor.buildable()
    build = reactor.post(f"/libraries/{library}/builds").json()["data"]
    assert build["relationships"]["environment"]["data"] == {"id": environment, "type": "environments"}
    polled = reactor.get(f"/builds/{build['id']}").json()["data"]
    assert polled["attributes"]["status"] == "succeeded" and "status_details" not in polled["meta"]
    assert reactor.get(f"/libraries/{library}").json()["data"]["meta"]["build_status"] == "succeeded"


def test_a_delayed_error_counts_as_served_when_a_poll_shows_it(reactor):
    _, library, _ = reactor.buildable()
    build = reactor.post(f"/libraries/{library}/builds", headers={"Prefer": "error=socket-error"}).json()["data"]
    session = reactor.headers["X-Mock-Session"]
    coverage = f"/__admin/coverage?session={session}"
    assert "socket-error" not in reactor.client.get(coverage).json()["apis"]["reactor"]["served_ids"]
    reactor.get(f"/builds/{build['id']}")
    assert "socket-error" in reactor.client.get(coverage).json()["apis"]["reactor"]["served_ids"]


@pytest.mark.parametrize("error_id,code", [("api-key-missing", "403000"), ("missing-header", "400003")])
def test_the_gateways_answers_by_flag_keep_the_gateways_shape(reactor, error_id, code):
    response = reactor.get(f"/companies?__error={error_id}")
    assert response.status_code == CATALOG[error_id]["status"]
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error_code": code, "message": CATALOG[error_id]["title"]}


@pytest.mark.parametrize("path", ["/compnies/CO1", "/propertys/PR1/relationships/hosts", "/librarys/LB1/builds"])
def test_a_typo_in_the_resource_type_is_the_same_404_and_listed_as_unmatched(reactor, client, path):
    """The generic `/{type}/{id}` routes took any type and their handler answered 404: a matched route, so the
    pytest plugin's unmatched check never saw a client's typo. `path_values` lists the types."""
    typo = reactor.get(path)
    known = reactor.get("/companies/CO0000000000000000000000000000000")
    assert typo.status_code == known.status_code == 404 and typo.headers["content-type"] == JSONAPI
    assert typo.json()["errors"][0]["code"] == known.json()["errors"][0]["code"] == "not-found"
    unmatched = [e["path"] for e in client.get("/__admin/requests/unmatched").json()["requests"]]
    assert unmatched == [f"/reactor{path}"]


def test_the_types_the_generic_routes_take_are_those_the_store_keeps():
    from mockserver.apis.reactor_store import PREFIX

    api = load_catalog().apis["reactor"]
    generic = [r for r in api.routes if r.path.startswith("/{type}/")]
    assert len(generic) == 3 and all(r.match_path(f"/{kind}/X1") or r.match_path(f"/{kind}/X1/k") or
                                     r.match_path(f"/{kind}/X1/relationships/k") for r in generic for kind in PREFIX)
    assert not any(r.match_path("/compnies/X1") or r.match_path("/compnies/X1/k") for r in generic)


@pytest.mark.parametrize(("claims", "expected"), [
    ({"exp": 1}, 401),                                             # RFC 7519 exp, long past
    ({"created_at": "1690000000000", "expires_in": "86400000"}, 401),  # IMS: 24 h from a day in 2023
    ({"created_at": "1690000000000", "expires_in": "8640000000000"}, 200),  # 100,000 days
    ({"exp": 4102444800}, 200),                                    # 2100
    ({"sub": "no times"}, 200),                                    # nothing says when: taken
])
def test_an_ims_token_past_its_expiry_is_session_timeout(client, claims, expected):
    """Edge refused an expired token (EXEG-0503-401) and Reactor took it: a client's refresh could only be tested
    with a flag there. Tokens that are not JWTs stay accepted: tests may send any Bearer."""
    from tests.apis.test_edge_support import jwt

    answered = Reactor(client, Authorization=f"Bearer {jwt(claims)}").get("/companies")
    assert answered.status_code == expected, answered.text
    if expected == 401:
        assert answered.json()["errors"][0]["code"] == "session-timeout"
    assert Reactor(client, Authorization="Bearer not-a-jwt").get("/companies").status_code == 200
