"""Edge authentication (the EXEG-05xx family) over ASGI, and the parsers behind it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.apis.edge import media_type
from mockserver.apis.edge_auth import decode_jwt, expired
from tests.apis.test_edge_support import EVENT, assert_problem, auth_headers, b64, bind_fixtures, edge_client, jwt

edge_app, client = bind_fixtures()

SERVER = {"Host": "server.adobedc.net"}
URL = "/ee/v2/interact?datastreamId=ds-1"
NOW_MS = 4102444800000  # 2100-01-01: a token "created" then is still valid today
USER = {"user_id": "dev@AdobeID", "created_at": str(NOW_MS), "expires_in": "86400000", "scope": "openid,AdobeID"}
SERVICE = {**USER, "user_id": "1A2B@techacct.adobe.com", "scope": "openid,AdobeID,acp.foundation,read_organizations"}


def post(client, headers):
    return client.post(URL, json=EVENT, headers={**SERVER, **headers})


def test_a_valid_user_or_service_token_passes(client):
    assert post(client, auth_headers(jwt(USER))).status_code == 200
    assert post(client, auth_headers(jwt(SERVICE))).status_code == 200
    assert post(client, {**auth_headers(jwt(USER)), "x-user-token": jwt(USER)}).status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Basic dXNlcjpwYXNz", "x-api-key": "k", "x-gw-ims-org-id": "o"},
    {"Authorization": "Bearer not-a-jwt", "x-api-key": "k", "x-gw-ims-org-id": "o"},
    {"Authorization": f"Bearer {b64({'alg': 'RS256'})}.bm90IGpzb24.c2ln", "x-api-key": "k", "x-gw-ims-org-id": "o"},
    {"Authorization": "Bearer " + jwt(USER), "x-gw-ims-org-id": "o"},
    {"Authorization": "Bearer " + jwt(USER), "x-api-key": "k"},
], ids=["none", "basic", "not-jwt", "claims-not-json", "no-api-key", "no-org"])
def test_missing_or_malformed_credentials_are_0500(client, headers):
    assert_problem(post(client, headers), 401, "EXEG-0500-401")


def test_an_unsigned_token_is_0502(client):
    assert_problem(post(client, auth_headers(jwt(USER, signature=""))), 401, "EXEG-0502-401")
    assert_problem(post(client, auth_headers(jwt(USER, alg="none"))), 401, "EXEG-0502-401")


def test_an_expired_token_is_0503_by_the_mock_clock(client):
    token = jwt({**USER, "created_at": "1000", "expires_in": "1000"})
    assert_problem(post(client, auth_headers(token)), 401, "EXEG-0503-401")
    soon = jwt({"user_id": "dev@AdobeID", "exp": 4102444800})  # 2100-01-01, in seconds
    assert post(client, auth_headers(soon)).status_code == 200
    client.post("/__admin/clock", json={"advance": f"{4102444800 - 1700000000}s"})
    body = assert_problem(post(client, auth_headers(soon)), 401, "EXEG-0503-401")
    assert body["title"] == "Authorization token expired"


def test_a_technical_account_without_acp_foundation_is_0505(client):
    token_claims = {**SERVICE, "scope": "openid,AdobeID"}
    body = assert_problem(post(client, auth_headers(jwt(token_claims))), 401, "EXEG-0505-401")
    assert "required scope: 'acp.foundation'" in body["detail"]
    # An OAuth server-to-server token names its technical account in `sub` (no IMS `user_id`).
    oauth = {key: value for key, value in token_claims.items() if key != "user_id"}
    oauth["sub"] = SERVICE["user_id"]
    assert_problem(post(client, auth_headers(jwt(oauth))), 401, "EXEG-0505-401")
    assert post(client, auth_headers(jwt({**oauth, "scope": SERVICE["scope"]}))).status_code == 200


def test_a_malformed_user_token_is_0501(client):
    body = assert_problem(post(client, {**auth_headers(jwt(USER)), "x-user-token": "garbage"}), 401, "EXEG-0501-401")
    assert "'x-user-token' header" in body["detail"]


def test_the_public_host_authenticates_only_authenticated_datastreams(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, datastreams={"private": {"access": "authenticated"}})
    public = {"Host": "edge.adobedc.net"}
    assert client.post(URL, json=EVENT, headers=public).status_code == 200
    url = "/ee/v2/interact?datastreamId=private"
    assert_problem(client.post(url, json=EVENT, headers=public), 401, "EXEG-0500-401")
    assert client.post(url, json=EVENT, headers={**public, **auth_headers(jwt(USER))}).status_code == 200
    assert_problem(client.post("/edge/ee/v2/interact?datastreamId=private", json=EVENT), 401, "EXEG-0500-401")


def test_the_authenticated_hosts_are_an_option(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, authenticated_hosts=[])
    assert client.post(URL, json=EVENT, headers=SERVER).status_code == 200


# ---- parsers ---------------------------------------------------------------------------------
CLAIMS = st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8) | st.booleans(), max_size=5)


@given(st.text(max_size=80))
def test_decode_jwt_takes_any_text(text):
    token = decode_jwt(text)
    assert token is None or (isinstance(token.header, dict) and isinstance(token.claims, dict))


@given(CLAIMS, st.sampled_from(["", "c2ln", "a-b_c"]))
def test_decode_jwt_reads_back_what_was_encoded(claims, signature):
    token = decode_jwt(jwt(claims, signature=signature))
    assert token is not None and token.claims == claims and token.signature == signature


@given(CLAIMS, st.floats(allow_nan=False, allow_infinity=False))
def test_expiry_never_raises(claims, now):
    assert expired(claims, now) in (True, False)


TIME_CLAIMS = st.dictionaries(st.sampled_from(["exp", "created_at", "expires_in", "iat"]),
                              st.integers() | st.text(max_size=8) | st.booleans() | st.none(), max_size=3)


@given(TIME_CLAIMS, st.floats(allow_nan=False, allow_infinity=False))
def test_expiry_never_raises_whichever_time_claims_are_there(claims, now):
    assert expired(claims, now) in (True, False)


@pytest.mark.parametrize("claims, now, result", [
    ({"exp": 100}, 99.5, False),
    ({"exp": 100}, 100, True),  # RFC 7519 §4.1.4: valid only *before* exp
    ({"exp": "100"}, 100.5, True),
    ({"exp": 100, "created_at": "0", "expires_in": "1000000"}, 200, True),  # exp, when there, decides
    ({"created_at": "1000", "expires_in": "1000"}, 1.999, False),  # IMS: milliseconds
    ({"created_at": "1000", "expires_in": "1000"}, 2, True),
    ({"created_at": "1000"}, 10**9, False),  # no lifetime: nothing says it expired
    ({"expires_in": "1000"}, 10**9, False),
    ({"exp": True}, 10**9, False),  # a boolean is no time
    ({}, 10**9, False),
])
def test_expiry_examples(claims, now, result):
    assert expired(claims, now) is result


@given(st.text(max_size=40))
def test_media_type_takes_any_header(value):
    kind = media_type(value)
    assert kind is None or (kind == kind.lower() and kind.count("/") == 1)


@pytest.mark.parametrize("value, kind", [("Text/Plain; charset=UTF-8", "text/plain"), ("json", None), ("", None),
                                         ("application/json;", "application/json"), (" a/b ", "a/b")])
def test_media_type_examples(value, kind):
    assert media_type(value) == kind
