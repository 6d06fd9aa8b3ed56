"""Cross-origin answers (`cors:` in a scenario file) over the ASGI interface: preflights answered
before the API's checks, the Access-Control-* headers on every answer to a browser, none otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.scenario.load import load_catalog
from mockserver.scenario.read import ScenarioError
from tests.apis.test_reactor_support import HEADERS as REACTOR

ORIGIN = "https://app.example.com"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authorization,x-api-key"}


@pytest.fixture
def client(make_client):
    return make_client()


def test_a_preflight_is_answered_before_the_gateway_asks_for_a_token(client):
    answer = client.options("/reactor/properties/PR1?__error=too-many-requests", headers=PREFLIGHT)
    assert answer.status_code == 204 and answer.content == b""
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["access-control-allow-headers"] == "authorization,x-api-key"  # what was asked
    assert set(answer.headers["access-control-allow-methods"].split(",")) >= {"GET"}
    assert answer.headers["vary"] == "Origin" and "access-control-allow-credentials" not in answer.headers
    assert "content-length" not in answer.headers  # a 204
    [entry] = client.get("/__admin/requests").json()["requests"]
    assert entry["route"] is not None and entry["errors"] == []  # journaled under its route: not unmatched


def test_answers_to_a_browser_carry_the_headers_errors_included(client):
    refused = client.get("/reactor/properties/PR1", headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN
    found = client.get("/reactor/properties/PR1", headers={**REACTOR, "Origin": ORIGIN})
    assert found.status_code == 404 and found.headers["access-control-allow-origin"] == ORIGIN
    dcs = client.get("/dcs/event?d_rtbd=json&d_site=%esid!", headers={"Origin": ORIGIN})
    assert dcs.headers["x-error"] == "311"
    assert dcs.headers["access-control-allow-origin"] == ORIGIN
    assert dcs.headers["access-control-allow-credentials"] == "true"  # the demdex cookie travels


def test_without_an_origin_the_answer_is_unchanged(client):
    answer = client.get("/reactor/properties/PR1", headers=REACTOR)
    assert not [name for name in answer.headers if name.startswith("access-control-")]
    assert "vary" not in answer.headers


@pytest.mark.parametrize("path", ["/edge/ee/v2/interact?datastreamId=ds&__eror=x", "/dcs/event?__code=abc",
                                  "/reactor/properties/PR1?__error=no-such-error"])
def test_the_mocks_own_answers_are_readable_by_the_page_that_asked(client, path):
    """Misuse under an API browsers call: the page reads the detail, not a CORS failure in its console."""
    answer = client.post(path, headers={"Origin": ORIGIN, **REACTOR}, json={})
    assert answer.status_code == 400 and answer.headers["x-mockserver-misuse"] == "1"
    assert answer.headers["access-control-allow-origin"] == ORIGIN and answer.headers["vary"] == "Origin"
    assert "X-Mockserver-Misuse" in answer.headers["access-control-expose-headers"]  # the marker, readable too
    plain = client.post(path, headers=REACTOR, json={})
    assert plain.status_code == 400 and "access-control-allow-origin" not in plain.headers
    assert "access-control-allow-origin" not in client.get("/braze/users/export/ids?__eror=x",
                                                           headers={"Origin": ORIGIN}).headers


@pytest.mark.parametrize("path", ["/reactor/properties/PR1?__error=no-such-error", "/edge/ee/v2/interact?__eror=x",
                                  "/dcs/event?__code=abc", "/clientless/api/v1/config/R?__mode=nope"])
def test_a_preflight_clears_a_request_whose_flags_are_misused(client, path):
    """The browser sends its preflight to the same URL, flags included: refused as misuse, it stopped there and the
    page never read the misuse detail of the request itself."""
    answer = client.options(path, headers=PREFLIGHT)
    assert answer.status_code in (200, 204), answer.text
    assert answer.headers["access-control-allow-origin"] == ORIGIN and answer.headers["access-control-allow-methods"]
    assert "x-mockserver-misuse" not in answer.headers
    refused = client.get(path, headers={"Origin": ORIGIN, **REACTOR})
    assert refused.status_code == 400 and refused.headers["x-mockserver-misuse"] == "1"
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert client.options(path).status_code == 400  # not a preflight: the misuse it is


def test_braze_answers_browsers_as_its_servers_do_without_cors(client):
    answer = client.get("/braze/campaigns/list", headers={"Authorization": "Bearer k", "Origin": ORIGIN})
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    assert client.options("/braze/campaigns/list", headers=PREFLIGHT).status_code == 404  # "Invalid URL."


def test_a_preflight_on_a_path_of_no_route_is_answered_as_the_api_answers_it(client):
    answer = client.options("/edge/ee/v9/nothing", headers=PREFLIGHT)
    assert answer.status_code == 404 and answer.headers["access-control-allow-origin"] == ORIGIN


def test_a_template_keeps_its_own_cors_headers(client):
    """clientless's 429 page sets the sample's CORS headers itself: each is sent once."""
    answer = client.get("/clientless/api/v1/config/R.json?__error=too-many-requests-429", headers={"Origin": ORIGIN})
    assert answer.status_code == 429
    names = [name for name, _ in answer.headers.multi_items()]
    assert names.count("access-control-allow-credentials") == 1
    assert names.count("access-control-allow-headers") == 1
    assert answer.headers["access-control-allow-origin"] == ORIGIN


def test_a_cors_block_is_checked_at_load(tmp_path: Path):
    (tmp_path / "toy.yaml").write_text("api: toy\nprefix: /toy\ncors:\n  credentials: yes-please\n  origin: '*'\n")
    with pytest.raises(ScenarioError) as caught:
        load_catalog([tmp_path])
    found = [str(p) for p in caught.value.problems]
    assert any(":4: cors.credentials" in p for p in found), found
    assert any(":5: cors.origin: unknown key" in p for p in found), found


def test_max_age_and_preflight_status_of_a_users_cors_block(make_client, tmp_path: Path):
    """schema.json: `max_age` is the preflight's Access-Control-Max-Age, `preflight_status` its status."""
    (tmp_path / "reactor.yaml").write_text("api: reactor\ncors: {max_age: 600, preflight_status: 200}\n")
    answer = make_client(scenarios=(str(tmp_path),)).options("/reactor/properties/PR1", headers=PREFLIGHT)
    assert answer.status_code == 200 and answer.headers["access-control-max-age"] == "600"
    assert answer.headers["access-control-allow-origin"] == ORIGIN
