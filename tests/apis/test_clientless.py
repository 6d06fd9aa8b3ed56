"""Adobe Pass clientless: the catalog by flag, answer formats, routing; helpers the other files share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from starlette.testclient import TestClient

from mockserver.scenario.load import load_catalog

P = "/clientless"
BEARER = {"Authorization": "Bearer test-access-token"}
JSON_ACCEPT = {**BEARER, "Accept": "application/json"}
CATALOG = load_catalog().apis["clientless"]
ENTRIES = sorted(CATALOG.errors)
# The twelve causes of the seed page (documented-errors.json), each with its catalog entry.
SEED_CAUSES = {
    "missing authorization header in the POST": "missing-authorization",
    "request time not in milliseconds": "request-time-not-milliseconds",
    "registration code not found for requestor and environment": "regcode-not-found",
    "cross-domain scripting issues": "cross-domain",
    "spoofing missing from /etc/hosts": "environment-mismatch",
    "malformed URL for POST/GET": "malformed-url",
    "SAMLAssertionParserException": "saml-assertion-undecryptable",
    "too many rapid requests": "too-many-requests",
    "prequal environment without spoofing": "prequal-spoofing",
    "user name and password do not match": "mvpd-credentials-mismatch",
    "login disabled": "mvpd-login-disabled",
    "production or staging login": "mvpd-wrong-environment",
}


def override(tmp_path: Path, **options: Any) -> tuple[str]:
    """A user's scenario file that sets clientless options (key by key over the bundled ones)."""
    path = tmp_path / "clientless-options.yaml"
    path.write_text("api: clientless\noptions: " + json.dumps(options) + "\n")
    return (str(tmp_path),)


@pytest.fixture
def quiet(make_client: Callable[..., TestClient], tmp_path: Path) -> TestClient:
    """A client without throttling, for flows of more than ten requests."""
    return make_client(scenarios=override(tmp_path, throttle_enabled=False))


def error_of(response: Any) -> dict[str, Any]:
    """The documented error body, JSON or XML, as a dict."""
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        assert isinstance(body, dict)
        return body
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "error"
    found: dict[str, Any] = {child.tag: child.text for child in root}
    found["status"] = int(found["status"])
    return found


def test_every_seed_cause_has_a_catalog_entry() -> None:
    assert set(SEED_CAUSES.values()) <= set(CATALOG.errors)
    for error_id in SEED_CAUSES.values():
        assert CATALOG.errors[error_id].doc.startswith("clientless-errors.md#"), error_id


def test_catalog_command_lists_the_api(client: TestClient) -> None:
    entries = client.get("/__admin/catalog", params={"api": "clientless"}).json()
    assert sorted(e["id"] for e in entries) == ENTRIES
    assert all(e["trigger"] for e in entries)


@pytest.mark.parametrize("error_id", ENTRIES)
def test_each_error_by_query_flag(client: TestClient, error_id: str) -> None:
    documented = CATALOG.errors[error_id]
    response = client.get(f"{P}/api/v1/tokens/authn", params={"requestor": "R", "deviceId": "d", "format": "json",
                                                                "__error": error_id}, headers=BEARER)
    assert response.status_code == documented.status
    if error_id == "too-many-requests-429":
        assert response.headers["content-type"] == "text/html"
        assert "<title>429 Too Many Requests</title>" in response.text
    elif error_id.startswith("mvpd-"):
        assert response.headers["content-type"].startswith("text/html")
        assert f'data-error="{error_id}"' in response.text
        assert str(documented.fields["message"]) in response.text
    elif error_id.startswith("dcr-"):
        assert response.json() == {"error": documented.title}
    else:
        body = response.json()
        assert body["status"] == documented.status
        expected = str(documented.fields.get("message") or documented.title)
        assert body["message"] == expected
        assert list(body)[:2] == ["status", "message"]


@pytest.mark.parametrize("error_id", ENTRIES)
def test_each_error_by_prefer_header_in_xml(client: TestClient, error_id: str) -> None:
    documented = CATALOG.errors[error_id]
    response = client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"},
                           headers={**BEARER, "Accept": "application/xml", "Prefer": f"error={error_id}"})
    assert response.status_code == documented.status
    assert response.headers["preference-applied"] == f"error={error_id}"
    if error_id != "too-many-requests-429" and not error_id.startswith(("mvpd-", "dcr-")):
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><error>')
        assert error_of(response)["status"] == documented.status


# clientless-errors.md: each cause as the page words it (punctuation and en dash included).
SEED_SENTENCES = {
    "missing-authorization": "Missing authorization header in the POST",
    "request-time-not-milliseconds": "Issue with authorization header - check if request time is in milliseconds.",
    "regcode-not-found": "The server did not find the registration code, which was created for a specific requestor "
                         "and environment.",
    "cross-domain": "You could be running into cross domain scripting issues",
    "environment-mismatch": "Proper spoofing should be added to /etc/hosts file",
    "malformed-url": "Malformed url for POST/GET",
    "saml-assertion-undecryptable": "SAMLAssertionParserException \u2013 The encrypted SAML assertion could not be "
                                    "decrypted at Adobe's end",
    "too-many-requests": "Too many rapid requests - a feature of the API management to prevent DoS attacks.",
    "prequal-spoofing": "If using prequal environment then add spoofing, otherwise make sure spoofing has been "
                        "removed from /etc/hosts file",
}


@pytest.mark.parametrize(("error_id", "sentence"), sorted(SEED_SENTENCES.items()))
def test_the_seed_cause_is_in_the_body_verbatim(client: TestClient, error_id: str, sentence: str) -> None:
    """A client's log (or a test copying the page) finds the documented cause word for word, in both formats."""
    for fmt in ("json", "xml"):
        response = client.get(f"{P}/api/v1/config/R.{fmt}", params={"__error": error_id}, headers=BEARER)
        assert error_of(response)["details"].startswith(sentence), fmt


def test_code_flag_prefers_the_routes_own_error(client: TestClient) -> None:
    response = client.get(f"{P}/api/v1/tokens/authz.json", params={"requestor": "R", "deviceId": "d", "resource": "x",
                                                                   "__code": "410"}, headers=BEARER)
    assert response.status_code == 410
    assert response.json() == {"status": 410, "message": "Gone", "details": None}


@pytest.mark.parametrize("path", ["/api/v1/tokens/authz", "/api/v1/authorize", "/api/v1/mediatoken",
                                  "/api/v1/checkauthn", "/api/v1/tokens/authn"])
def test_code_flag_picks_the_errors_the_routes_checks_give(client: TestClient, path: str) -> None:
    """`__code=400` on a GET route is the route's own missing parameter, not the regcode-not-found of
    authenticate; `__code=401` a wrong authorization header, as a GET without one is not refused."""
    query = {"requestor": "R", "deviceId": "d", "resource": "x"}
    bad_request = client.get(f"{P}{path}.json", params={**query, "__code": "400"}, headers=BEARER)
    assert bad_request.status_code == 400
    assert bad_request.json()["message"].startswith("Required '")
    assert client.get(f"{P}{path}.json", params=query, headers=BEARER).status_code != 401  # the header is fine
    unauthorized = client.get(f"{P}{path}.json", params={**query, "__code": "401"})
    assert unauthorized.status_code == 401 and "POST" not in unauthorized.json()["details"]


def test_documented_error_bodies_verbatim(client: TestClient) -> None:
    def ask(error_id: str, fmt: str) -> bytes:
        query = {"requestor": "R", "deviceId": "d", "resource": "x", "__error": error_id}
        return client.get(f"{P}/api/v1/tokens/authz.{fmt}", params=query, headers=BEARER).content

    assert ask("authz-not-authenticated", "json") == b'{"status":412,"message":"User not authenticated","details":null}'
    assert ask("authz-not-authenticated", "xml") == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b"<error><status>412</status><message>User not authenticated</message></error>")
    assert ask("checkauthn-forbidden", "json") == b'{"status":403,"message":"Forbidden"}'
    assert ask("authn-token-not-found", "json") == b'{"status":404,"message":"Not Found"}'
    assert ask("authn-token-not-found", "xml").endswith(
        b"<error><status>404</status><message>Not found</message></error>")
    assert ask("authz-token-not-found", "json") == b'{"status":404,"message":"Not Found","details":null}'
    assert ask("authz-token-not-found", "xml") == (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b"<error><status>404</status><message>Not found</message></error>")
    assert ask("authn-token-expired", "xml").endswith(
        b"<error><status>403</status><message>Authentication token expired</message></error>")


@pytest.mark.parametrize(("how", "expected"), [
    ({"headers": {"Accept": "application/json"}}, "json"),
    ({"headers": {"Accept": "application/xml"}}, "xml"),
    ({"headers": {"Accept": "text/html, application/xml;q=0.9, */*;q=0.8"}}, "xml"),
    ({"headers": {"Accept": "application/json, text/plain, */*"}}, "json"),
    ({"headers": {"Accept": "application/xml;q=0.5, application/json"}}, "json"),  # RFC 9110 §12.5.1: q ranks
    ({"headers": {"Accept": "application/json;q=0, application/xml"}}, "xml"),
    ({"headers": {"Accept": "application/xml; q=0.9, application/json; q=0.9"}}, "xml"),  # a tie: the first
    ({"headers": {"Accept": "application/xml;q=1, application/json"}}, "xml"),  # no q is q=1: a tie again
    ({"headers": {"Accept": "application/json;q=0"}}, "json"),  # q=0: "not acceptable", yet the default
    ({"headers": {"Accept": "application/json, application/xml;q=high"}}, "json"),  # an unreadable q is 1: a tie
    ({"headers": {"Accept": "text/html, application/json"}}, "json"),  # other media are passed over
    ({"headers": {"Accept": "application/json;charset=UTF-8"}}, "json"),  # parameters other than q
    ({"headers": {"Accept": "application/vnd.api+json"}}, "json"),  # a +json type is JSON (as Spring's Jackson)
    ({"headers": {"Accept": "application/soap+xml, application/json;q=0.5"}}, "xml"),  # and +xml is XML (JAXB)
    ({"headers": {"Accept": "application/xml, application/json;q=2"}}, "xml"),  # q is at most 1: a tie
    ({"params": {"format": "json"}}, "json"),
    ({"params": {"format": "xml"}, "headers": {"Accept": "application/json"}}, "xml"),
    ({"suffix": ".json", "headers": {"Accept": "application/xml"}}, "json"),
    ({"suffix": ".xml"}, "xml"),
    ({}, "json"),  # as a plain httpx or requests call sends it
    ({"headers": {"Accept": "*/*"}}, "json"),
])
def test_answer_format(client: TestClient, how: dict[str, Any], expected: str) -> None:
    query = {"requestor": "R", "deviceId": "d", **how.get("params", {})}
    response = client.get(f"{P}/api/v1/tokens/authn{how.get('suffix', '')}", params=query,
                          headers={**BEARER, **how.get("headers", {})})
    assert response.status_code == 404
    assert response.headers["content-type"] == f"application/{expected};charset=UTF-8"
    # retrieve-authentication-token.md: JSON sample "Not Found", XML sample <message>Not found</message>
    assert error_of(response) == {"status": 404, "message": "Not Found" if expected == "json" else "Not found"}


def test_default_format_is_an_option(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(scenarios=override(tmp_path, default_format="xml"))
    response = client.get(f"{P}/api/v1/tokens/authn", params={"requestor": "R", "deviceId": "d"}, headers=BEARER)
    assert response.headers["content-type"] == "application/xml;charset=UTF-8"
    assert error_of(response) == {"status": 404, "message": "Not found"}
    asked = client.get(f"{P}/api/v1/tokens/authn", params={"requestor": "R", "deviceId": "d"},
                       headers={**BEARER, "Accept": "application/json"})
    assert asked.json() == {"status": 404, "message": "Not Found"}  # the default only when none is asked


@pytest.mark.parametrize(("option", "message"), [
    ({"default_format": "yaml"}, "'yaml' is not a format of the API (one of: json, xml)"),
    ({"throttle_status": 500}, "500 is not a throttled answer's status (one of: 403, 429)"),
])
def test_an_option_outside_its_values_is_refused_at_reload(make_client: Callable[..., TestClient], tmp_path: Path,
                                                           option: dict[str, Any], message: str) -> None:
    """Both passed validate, then answered as the default (JSON, 403): the user asked what the mock does not do."""
    client = make_client(scenarios=(str(tmp_path),))
    override(tmp_path, **option)
    answer = client.post("/__admin/reload")
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [f"{tmp_path / 'clientless-options.yaml'}:2: options.{next(iter(option))}: "
                                         f"{message}"]
    assert client.get(f"{P}/api/v1/config/R.json").status_code == 200  # the old scenarios still served


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/nothing"), ("POST", "/reggie/v2/R/regcode"), ("GET", "/"), ("PUT", "/api/v1/unknown/x"),
    ("GET", "/reggie/v1/R"),
])
def test_unknown_paths_are_400_not_404(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, P + path, headers=JSON_ACCEPT)
    assert response.status_code == 400
    assert response.json() == {"status": 400, "message": "Bad Request", "details": "Malformed url for POST/GET"}


@pytest.mark.parametrize("url", [
    "/reggie/v1/R/regcode?deviceId=%ZZ", "/reggie/v1/R/regcode?deviceId=abc%", "/reggie/v1/R/regcode?deviceId=%FF%FE",
    "/reggie/v1/sample%ZZ/regcode?deviceId=d", "/reggie/v1/sample%FF/regcode?deviceId=d",
])
def test_a_url_that_does_not_decode_is_malformed(client: TestClient, url: str) -> None:
    """clientless-errors.md, "400 Bad Request": "Malformed url for POST/GET" (it used to be accepted as is)."""
    response = client.post(P + url, headers=JSON_ACCEPT)
    assert response.status_code == 400
    assert response.json() == {"status": 400, "message": "Bad Request", "details": "Malformed url for POST/GET"}
    good = client.post(f"{P}/reggie/v1/R/regcode?deviceId=a%2Fb%C3%A9+c", headers=JSON_ACCEPT)
    assert good.status_code == 201 and good.json()["requestor"] == "R"


def test_known_path_with_another_method_is_405(client: TestClient) -> None:
    response = client.get(f"{P}/reggie/v1/R/regcode", headers=JSON_ACCEPT)
    assert response.status_code == 405
    assert response.json() == {"status": 405, "message": "Method Not Allowed"}
    assert response.headers["Allow"] == "POST", "RFC 9110: a 405 lists the methods the path takes"
    response = client.post(f"{P}/api/v1/preauthorize", headers=JSON_ACCEPT)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/api/v1/checkauthn/ABC1234", "/reggie/v1/R/regcode", "/api/v1/authenticate"])
def test_cors_preflight_is_answered_not_refused(client: TestClient, path: str) -> None:
    """The service allows OPTIONS (throttling-mechanism.md's sample headers): a browser's preflight gets 200."""
    response = client.options(P + path, headers={"Origin": "https://login.example.com",
                                                 "Access-Control-Request-Method": "GET"})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["access-control-allow-origin"] == "https://login.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-methods"] == "POST,GET,OPTIONS,DELETE"
    assert "authorization" in response.headers["access-control-allow-headers"].split(",")
    unknown = client.options(f"{P}/api/v1/nothing", headers=JSON_ACCEPT)
    assert unknown.status_code == 400  # not an endpoint: still the malformed URL


def test_the_real_hosts_serve_at_root(client: TestClient) -> None:
    for host in ("api.auth.adobe.com", "api.auth-staging.adobe.com"):
        response = client.get("/api/v1/tokens/authn.json", params={"requestor": "R", "deviceId": "d"},
                              headers={**BEARER, "Host": host})
        assert response.status_code == 404
        assert response.json()["message"] == "Not Found"


def test_prequal_host_without_spoofing_is_403(client: TestClient) -> None:
    response = client.get("/api/v1/config/R.json", headers={**BEARER, "Host": "sp-prequal.auth.adobe.com"})
    assert response.status_code == 403
    assert response.json()["details"].startswith("If using prequal environment then add spoofing")


def test_config_lists_the_configured_mvpds(client: TestClient) -> None:
    response = client.get(f"{P}/api/v1/config/sampleRequestorId", headers=JSON_ACCEPT)
    assert response.status_code == 200
    # The Amazon SSO cookbook also POSTs it (the `ast` token as a post parameter, multipart/form-data)
    posted = client.post(f"{P}/api/v1/config/sampleRequestorId?ast=eyJ0eXAiOiJKV1QifQ.e30.sig", headers=JSON_ACCEPT,
                         files={"ast": (None, "eyJ0eXAiOiJKV1QifQ.e30.sig")})
    assert posted.status_code == 200 and posted.json() == response.json()
    requestor = response.json()["requestor"]
    assert requestor["id"] == "sampleRequestorId"
    assert [m["id"] for m in requestor["mvpds"]["mvpd"]] == ["sampleMvpdId", "otherMvpdId"]
    xml = client.get(f"{P}/api/v1/config/sampleRequestorId.xml", headers=BEARER)
    root = ElementTree.fromstring(xml.content)
    assert [e.text for e in root.findall("./requestor/mvpds/mvpd/id")] == ["sampleMvpdId", "otherMvpdId"]


@pytest.mark.parametrize("raw", ["a%01b", "a%1Fb", "a%EF%BF%BEb", "a%26b%3C"])
def test_an_xml_answer_stays_well_formed_whatever_the_request_held(client: TestClient, raw: str) -> None:
    """A value echoed into XML with a character XML 1.0 cannot hold comes back as U+FFFD; & and < escaped."""
    xml = client.get(f"{P}/api/v1/config/{raw}.xml", headers=BEARER)
    assert xml.headers["content-type"].startswith("application/xml")
    ElementTree.fromstring(xml.content)  # raises on a body that is not well-formed


def test_unknown_error_id_is_misuse_not_an_api_error(client: TestClient) -> None:
    response = client.get(f"{P}/api/v1/tokens/authn", params={"__error": "nope"})
    assert response.status_code == 400
    assert response.headers["x-mockserver-misuse"] == "1"
    assert "missing-parameter" in response.json()["valid"]


def test_a_denial_asked_by_flag_names_the_channel_the_request_asked_for(client: TestClient) -> None:
    """initiate-authorization.md's sample names the refused channel ("ASFAFD"); by flag it read "<>" whatever the
    request's resource. The missing parameter by flag stays the regcode page's sample, "Required '<>' is not present",
    since no parameter is missing."""
    query = {"requestor": "R", "deviceId": "d", "__error": "authorization-denied"}
    plain = error_of(client.get(f"{P}/api/v1/authorize.json", params={**query, "resource": "HBO"}, headers=BEARER))
    assert plain["details"] == 'Your subscription package does not include the "HBO" channel.'
    mrss = '<rss version="2.0"><channel><title>ASFAFD</title></channel></rss>'
    assert '"ASFAFD"' in error_of(client.get(f"{P}/api/v1/authorize.json", params={**query, "resource": mrss},
                                             headers=BEARER))["details"]
    none = error_of(client.get(f"{P}/api/v1/config/R.json", params={"__error": "authorization-denied"}))
    assert none["details"] == 'Your subscription package does not include the "<>" channel.'
    asked = client.post(f"{P}/reggie/v1/R/regcode.json", params={"__error": "missing-parameter"}, headers=BEARER,
                        data={"deviceId": "d"})
    assert error_of(asked)["message"] == "Required '<>' is not present"


def test_missing_parameter_names_it(client: TestClient) -> None:
    response = client.get(f"{P}/api/v1/authorize.json", params={"requestor": "R", "deviceId": "d"}, headers=BEARER)
    assert response.status_code == 400
    assert response.json() == {"status": 400, "message": "Required 'resource' is not present"}
    xml = client.get(f"{P}/api/v1/authorize.xml", params={"deviceId": "d"}, headers=BEARER)
    assert re.search(rb"<message>Required 'requestor' is not present</message>", xml.content)


def test_dynamic_client_registration_gives_a_bearer_token(client: TestClient) -> None:
    statement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln"
    registered = client.post(f"{P}/o/client/register", json={"software_statement": statement,
                                                             "redirect_uri": "adobepass://com.programmer"})
    assert registered.status_code == 201
    credentials = registered.json()
    assert list(credentials) == ["client_id", "client_secret", "redirect_uris", "grant_types", "scopes",
                                 "client_id_issued_at"]
    form = {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"],
            "grant_type": "client_credentials"}
    token = client.post(f"{P}/o/client/token", data=form)
    assert token.status_code == 201
    assert token.json()["token_type"] == "bearer" and token.json()["expires_in"] == 21600
    wrong = client.post(f"{P}/o/client/token", data={**form, "client_secret": "nope"})
    assert wrong.json() == {"error": "invalid_client"}
    assert client.post(f"{P}/o/client/token", data={**form, "grant_type": "password"}).json() == {
        "error": "unsupported_grant_type"}
    assert client.post(f"{P}/o/client/token", data={"client_id": "x"}).json() == {"error": "invalid_request"}
    assert client.post(f"{P}/o/client/register", json={}).status_code == 400
    bad = client.post(f"{P}/o/client/register", json={"software_statement": "not-a-jwt"})
    assert bad.json() == {"error": "invalid_software_statement"}
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}", "Accept": "application/json"}
    assert client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=bearer).status_code == 201


def test_an_expired_dcr_token_is_not_authorized(client: TestClient) -> None:
    """dynamic-client-registration-faqs.md: a new access token "before the current one expires to prevent
    unauthorized requests". Once expires_in has run out on the clock, the token the mock issued is refused;
    a token it never issued is still taken."""
    statement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln"
    credentials = client.post(f"{P}/o/client/register", json={"software_statement": statement}).json()
    form = {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"],
            "grant_type": "client_credentials"}
    issued = client.post(f"{P}/o/client/token", data=form)
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}", "Accept": "application/json"}
    assert client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=bearer).status_code == 201
    assert client.post("/__admin/clock", json={"advance": "21599s"}).status_code == 200
    assert client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=bearer).status_code == 201
    assert client.post("/__admin/clock", json={"advance": "1s"}).status_code == 200
    expired = client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=bearer)
    assert expired.status_code == 401
    assert expired.json() == {"status": 401, "message": "Not Authorized", "details": "Issue with authorization header"}
    unknown = {**bearer, "Authorization": "Bearer never-issued"}
    assert client.post(f"{P}/reggie/v1/R/regcode", data={"deviceId": "d"}, headers=unknown).status_code == 201


def test_the_other_documented_dcr_errors(client: TestClient) -> None:
    """The error tables of the DCR pages: invalid_redirect_uri, unapproved_software_statement,
    unauthorized_client, and invalid_request for a repeated parameter or two ways of authenticating."""
    statement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln"  # {"software_id":"x"}
    redirect = client.post(f"{P}/o/client/register", json={"software_statement": statement,
                                                           "redirect_uri": "com.programmer"})
    assert redirect.status_code == 400 and redirect.json() == {"error": "invalid_redirect_uri"}
    assert redirect.headers["content-type"] == "application/json;charset=UTF-8"
    for broken in ("adobepass://com.programmer]", "http://[::1"):  # urlsplit raises on these: not a URI either
        unbalanced = client.post(f"{P}/o/client/register", json={"software_statement": statement,
                                                                  "redirect_uri": broken})
        assert unbalanced.status_code == 400 and unbalanced.json() == {"error": "invalid_redirect_uri"}
    unapproved = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6InVuYXBwcm92ZWQtc29mdHdhcmUifQ.c2ln"
    refused = client.post(f"{P}/o/client/register", json={"software_statement": unapproved})
    assert refused.status_code == 400 and refused.json() == {"error": "unapproved_software_statement"}
    credentials = client.post(f"{P}/o/client/register", json={"software_statement": statement}).json()
    form = {"client_id": credentials["client_id"], "client_secret": credentials["client_secret"],
            "grant_type": "client_credentials"}
    not_granted = client.post(f"{P}/o/client/token", data={**form, "grant_type": "authorization_code"})
    assert not_granted.status_code == 400 and not_granted.json() == {"error": "unauthorized_client"}
    repeated = client.post(f"{P}/o/client/token", content=urlencode(form) + "&grant_type=client_credentials",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert repeated.status_code == 400 and repeated.json() == {"error": "invalid_request"}
    both = client.post(f"{P}/o/client/token", data=form, headers={"Authorization": "Basic eDp5"})
    assert both.status_code == 400 and both.json() == {"error": "invalid_request"}
    assert client.post(f"{P}/o/client/token", data=form).status_code == 201
