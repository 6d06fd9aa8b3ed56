"""Throttling per device IP: the documented table, 403 (seed) or 429 (newer page), per server or request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.apis.test_clientless import JSON_ACCEPT, P, override

OPENRESTY_429 = (
    b"<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n"
    b"<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n"
)
# throttling-mechanism.md, "Scenario example for throttling": seconds since the first call -> status.
DOCUMENTED_TABLE = [(0.0, 200), (0.3, 200), (0.6, 200), (0.9, 200), (1.2, 200), (1.3, 200), (1.4, 200), (1.5, 200),
                    (1.6, 200), (1.7, 200), (1.8, 200), (2.1, 200), (2.2, 200), (2.4, 429), (2.6, 429), (2.8, 429),
                    (3.1, 200)]


def frozen(client: TestClient) -> None:
    assert client.post("/__admin/clock", json={"freeze": True}).status_code == 200


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/__admin/clock", json={"advance": f"{round(seconds * 1000)}ms"}).status_code == 200


def config(client: TestClient, ip: str = "203.45.101.20", **headers: str) -> int:
    response = client.get(f"{P}/api/v1/config/R.json", headers={**JSON_ACCEPT, "X-Forwarded-For": ip, **headers})
    return response.status_code


@pytest.mark.parametrize(("status", "prefer"), [(403, None), (429, "throttle=429")])
def test_the_documented_scenario_table(client: TestClient, status: int, prefer: str | None) -> None:
    frozen(client)
    now = 0.0
    for at, documented in DOCUMENTED_TABLE:
        advance(client, at - now)
        now = at
        expected = 200 if documented == 200 else status
        assert config(client, **({"Prefer": prefer} if prefer else {})) == expected, f"at {at} s"


def test_seed_behaviour_is_403_in_the_api_format(client: TestClient) -> None:
    frozen(client)
    statuses = [config(client) for _ in range(12)]
    assert statuses == [200] * 11 + [403]
    response = client.get(f"{P}/api/v1/tokens/authn.xml", headers={"X-Forwarded-For": "203.45.101.20"})
    assert response.status_code == 403
    assert b"<message>Forbidden</message><details>Too many rapid requests" in response.content


def test_newer_behaviour_per_request_is_the_openresty_page(client: TestClient) -> None:
    frozen(client)
    for _ in range(11):
        assert config(client) == 200
    response = client.get(f"{P}/api/v1/config/R.json", headers={"X-Forwarded-For": "203.45.101.20",
                                                                "Prefer": "throttle=429"})
    assert response.status_code == 429
    assert response.content == OPENRESTY_429
    assert response.headers["content-type"] == "text/html"
    assert response.headers["content-length"] == "166"
    assert response.headers["server"] == "openresty"
    # the CORS and P3P headers of throttling-mechanism.md's sample, byte for byte
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-methods"] == "POST,GET,OPTIONS,DELETE"
    assert response.headers["access-control-allow-headers"] == (
        "ap_11,ap_42,ap_z,ap_19,ap_21,ap_23,authorization,content-type,pass_sfp,AP-Session-Identifier,"
        "AP-Device-Identifier,AP-SDK-Identifier,X-Device-Info")
    assert response.headers["access-control-expose-headers"] == (
        "pass_sfp,Authzf-Error-Code,Authzf-Sub-Error-Code,Authzf-Error-Details")
    assert response.headers["p3p"] == 'CP="NOI DSP COR CURa ADMa DEVa OUR BUS IND UNI COM NAV STA"'
    assert "retry-after" not in response.headers


def test_newer_behaviour_per_server(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(scenarios=override(tmp_path, throttle_status=429))
    frozen(client)
    assert [config(client) for _ in range(12)][-1] == 429
    assert config(client, Prefer="throttle=403") == 403  # the request's own choice wins


def test_a_throttle_preference_the_mock_does_not_know_is_misuse(client: TestClient) -> None:
    """GUIDE: a bad flag value is misuse (400, X-Mockserver-Misuse), never silently the default."""
    response = client.get(f"{P}/api/v1/config/R.json", headers={**JSON_ACCEPT, "Prefer": "throttle=500"})
    assert response.status_code == 400
    assert response.headers["x-mockserver-misuse"] == "1"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["valid"] == ["403", "429"]


def test_the_query_form_asks_the_429_as_prefer_does_and_is_named_applied_on_the_throttled_answer_only(
        client: TestClient) -> None:
    """GUIDE §2: the query form and Prefer are equivalent (a client that cannot set headers asks `__throttle=429`).
    Preference-Applied names it on the answer it shaped (RFC 7240), not on the ones under the limit."""
    frozen(client)
    url = f"{P}/api/v1/config/R.json?__throttle=429"
    headers = {**JSON_ACCEPT, "X-Forwarded-For": "203.45.101.20"}
    passed = [client.get(url, headers=headers) for _ in range(11)]
    assert {r.status_code for r in passed} == {200}
    assert all("preference-applied" not in r.headers for r in passed)
    throttled = client.get(url, headers=headers)
    assert throttled.status_code == 429 and throttled.content == OPENRESTY_429
    assert throttled.headers["preference-applied"] == "throttle=429"
    refused = client.get(f"{P}/api/v1/config/R.json?__throttle=500", headers=headers)
    assert refused.status_code == 400 and refused.headers["x-mockserver-misuse"] == "1"


def test_another_api_refuses_the_throttle_flag_as_misuse(client: TestClient) -> None:
    response = client.get("/reactor/companies?__throttle=429")
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1"
    assert "clientless" in response.json()["detail"]


def test_each_device_ip_has_its_own_bucket(client: TestClient) -> None:
    frozen(client)
    assert [config(client, ip="198.51.100.1") for _ in range(12)][-1] == 403
    assert config(client, ip="198.51.100.2") == 200
    assert config(client, ip="198.51.100.2, 10.0.0.1") == 200  # the first address is the device's
    advance(client, 1.0)
    assert config(client, ip="198.51.100.1") == 200  # one token back after a second


def test_peer_address_without_forwarded_for(client: TestClient) -> None:
    frozen(client)
    statuses = [client.get(f"{P}/api/v1/config/R.json").status_code for _ in range(12)]
    assert statuses[-1] == 403 and statuses[:11] == [200] * 11


def test_the_mvpd_page_and_unlisted_paths_are_not_throttled(client: TestClient) -> None:
    frozen(client)
    for _ in range(15):
        assert client.get(f"{P}/mvpd/sampleMvpdId/login").status_code == 200


def test_throttling_can_be_switched_off(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(scenarios=override(tmp_path, throttle_enabled=False))
    frozen(client)
    assert {config(client) for _ in range(30)} == {200}


def test_rate_and_burst_are_options(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(scenarios=override(tmp_path, throttle_rate=2, throttle_burst=1))
    frozen(client)
    assert [config(client) for _ in range(3)] == [200, 200, 403]
    advance(client, 0.5)
    assert config(client) == 200


@pytest.mark.parametrize(("flag", "status"), [({"params": {"__error": "regcode-not-found"}}, 400),
                                              ({"headers": {"Prefer": "error=authz-token-expired"}}, 410),
                                              ({"params": {"__code": "412"}}, 412)])
def test_an_error_asked_by_flag_is_answered_when_the_bucket_is_spent(client: TestClient,
                                                                     flag: dict[str, dict[str, str]],
                                                                     status: int) -> None:
    """GUIDE: `__error=ID` answers that error on any route; a spent bucket must not answer 403 instead."""
    frozen(client)
    assert [config(client) for _ in range(12)][-1] == 403
    headers = {**JSON_ACCEPT, "X-Forwarded-For": "203.45.101.20", **flag.get("headers", {})}
    response = client.get(f"{P}/api/v1/tokens/authz.json", params={"requestor": "R", "deviceId": "d", "resource": "x",
                                                                   **flag.get("params", {})}, headers=headers)
    assert response.status_code == status
    assert config(client) == 403  # the unflagged client is still throttled


def test_the_catalog_by_flag_in_one_burst(client: TestClient) -> None:
    """A test walking every documented error by flag, as fast as it can, meets each one (no throttle answer)."""
    from tests.apis.test_clientless import CATALOG, ENTRIES

    frozen(client)
    for error_id in ENTRIES:
        response = client.get(f"{P}/api/v1/checkauthn", params={"requestor": "R", "deviceId": "d", "__error": error_id},
                              headers=JSON_ACCEPT)
        assert response.status_code == CATALOG.errors[error_id].status, error_id


def test_the_login_web_apps_authenticate_is_not_on_the_list(client: TestClient) -> None:
    """throttling-mechanism.md lists '/api/v1/authenticate/' (the device's poll, freepreview), not the login web
    app's GET /api/v1/authenticate?... (a browser navigation to the MVPD)."""
    frozen(client)
    query = {"requestor_id": "R", "mso_id": "sampleMvpdId", "reg_code": "NOSUCH1", "domain_name": "loginwebapp.com",
             "noflash": "true", "no_iframe": "true", "redirect_url": "http://loginwebapp.com"}
    statuses = [client.get(f"{P}/api/v1/authenticate.json", params=query).status_code for _ in range(15)]
    assert statuses == [400] * 15  # the code is unknown every time, never throttled
    polls = [client.get(f"{P}/api/v1/authenticate/NOSUCH1.json", params={"requestor": "R"}).status_code
             for _ in range(12)]
    assert polls == [404] * 11 + [403]


@pytest.mark.parametrize(("mode", "refused"), [("rate-limited", 403), ("rate-limited-429", 429)])
def test_the_rate_limited_mode_throttles_for_the_documented_second(client: TestClient, mode: str,
                                                                    refused: int) -> None:
    """throttling-mechanism.md: "the throttle lasts 1 s", so a client that waits one second after the throttle
    answer gets through (backoff's constant 1 s, say). A mode whose throttle lasted the rest of a minute made
    such a client fail its every retry while the verdict found nothing to blame it for. The seed's answer is
    403; the newer page's 429 has its own mode."""
    frozen(client)
    prefer = f"mode={mode}"
    statuses = [config(client, Prefer=prefer) for _ in range(5)]  # well within the device's natural burst
    assert statuses == [200] + [refused] * 4
    advance(client, 0.5)
    assert config(client, Prefer=prefer) == refused  # within the throttle's second
    advance(client, 0.5)
    assert config(client, Prefer=prefer) == 200  # one second after the throttle answer
    assert config(client, Prefer=prefer) == refused  # ... and one request a second after that


@pytest.mark.parametrize(("idle", "served"), [(0.999, 0), (1.0, 1), (9.999, 9), (10.0, 10), (11.0, 11), (60.0, 11)])
def test_the_burst_refills_while_the_device_is_quiet(client: TestClient, idle: float, served: int) -> None:
    """clientless.yaml, throttle_burst: one call back per quiet second (nginx's limit_req), never more than 11.

    Not a one-time allowance: after 11 s the device has its whole first burst again.
    """
    frozen(client)
    assert [config(client) for _ in range(12)] == [200] * 11 + [403]
    advance(client, idle)
    assert [config(client) for _ in range(12)] == [200] * served + [403] * (12 - served)
