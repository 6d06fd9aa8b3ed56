"""The Authorization header (legacy signed header, Bearer) and the small parsers, with property tests."""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver.apis.clientless import authorization_errors, legacy_signature, parse_legacy
from mockserver.apis.clientless_format import choose, from_accept, split_suffix
from mockserver.app import build_app
from mockserver.settings import Settings
from tests.apis.test_clientless import P, override
from tests.conftest import asgi_client

SECRET = "requestor-secret"
field = st.text(alphabet=string.ascii_letters + string.digits + "-_./+=", min_size=1, max_size=40)


def legacy(method: str = "POST", requestor: str = "sampleRequestorId", request_time: str | None = None,
           uri: str = "/regcode", secret: str = SECRET, public_key: str = "pk", signature: str | None = None) -> str:
    """The header real clients build: HMAC-SHA1 over everything before ', public_key='."""
    request_time = request_time or str(int(time.time() * 1000))
    signed = (f"{method} requestor_id={requestor}, nonce=6a1e1c3a-4b6e-4d8c-9b44-0a2f5b7e6f10, "
              f"signature_method=HMAC-SHA1, request_time={request_time}, request_uri={uri}")
    return f"{signed}, public_key={public_key}, signature={signature or legacy_signature(secret, signed)}"


@given(method=st.sampled_from(["GET", "POST", "DELETE"]), requestor=field, nonce=field, request_time=field,
       uri=st.text(min_size=0, max_size=80).filter(lambda u: ", public_key=" not in u), public_key=field,
       signature=field)
def test_legacy_header_round_trip(method: str, requestor: str, nonce: str, request_time: str, uri: str,
                                  public_key: str, signature: str) -> None:
    signed = (f"{method} requestor_id={requestor}, nonce={nonce}, signature_method=HMAC-SHA1, "
              f"request_time={request_time}, request_uri={uri}")
    parsed = parse_legacy(f"{signed}, public_key={public_key}, signature={signature}")
    assert parsed is not None
    assert (parsed.method, parsed.requestor_id, parsed.nonce) == (method, requestor, nonce)
    assert (parsed.request_time, parsed.request_uri, parsed.public_key) == (request_time, uri, public_key)
    assert parsed.signature == signature and parsed.signed == signed


@given(st.text(max_size=300), st.sampled_from(["GET", "POST", "DELETE"]))
def test_any_header_gives_a_decision_never_an_exception(header: str, method: str) -> None:
    errors = authorization_errors(header, method, {"requestor_secrets": {"sampleRequestorId": SECRET}})
    allowed = {"authorization-invalid", "request-time-not-milliseconds"}
    if not header.strip():
        allowed = {"missing-authorization"} if method == "POST" else set()
    assert len(errors) <= 1 and {e.id for e in errors} <= allowed


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_request_time_in_seconds_is_refused(request_time: int) -> None:
    errors = authorization_errors(legacy(request_time=str(request_time)), "POST", {})
    assert [e.id for e in errors] == ["request-time-not-milliseconds"]


@given(st.integers(min_value=10**12, max_value=10**13 - 1))
def test_request_time_in_milliseconds_is_accepted(request_time: int) -> None:
    assert authorization_errors(legacy(request_time=str(request_time)), "POST", {}) == []


@given(st.integers(min_value=10**13, max_value=10**22))
def test_request_time_in_micro_or_nanoseconds_is_refused(request_time: int) -> None:
    """Not milliseconds either (the seed: 'check if request time is in milliseconds'): 14 digits or more."""
    errors = authorization_errors(legacy(request_time=str(request_time)), "POST", {})
    assert [e.id for e in errors] == ["request-time-not-milliseconds"]


# The current time in each unit is read in the test: parameters must be the same in every xdist worker.
NOW_IN = {"s": lambda: int(time.time()), "ms": lambda: int(time.time() * 1000),
          "us": lambda: int(time.time() * 1_000_000), "ns": time.time_ns}


@pytest.mark.parametrize(("request_time", "accepted"), [
    (10**12 - 1, False), (10**12, True), (10**13 - 1, True), (10**13, False),
    ("s", False), ("ms", True), ("us", False), ("ns", False),
])
def test_request_time_unit_at_the_digit_boundaries(request_time: int | str, accepted: bool) -> None:
    value = NOW_IN[request_time]() if isinstance(request_time, str) else request_time
    errors = authorization_errors(legacy(request_time=str(value)), "POST", {})
    assert [e.id for e in errors] == ([] if accepted else ["request-time-not-milliseconds"])


@given(st.text(max_size=60))
def test_suffix_and_accept_parsers_are_total(text: str) -> None:
    path, fmt = split_suffix("/api/v1/" + text)
    assert fmt in (None, "json", "xml")
    assert ("/api/v1/" + text).startswith(path)
    assert from_accept(text) in (None, "json", "xml")
    assert choose(None, text, text, "xml") in ("json", "xml")


@given(st.text(alphabet=string.ascii_letters + string.digits + "-_/", min_size=1, max_size=40),
       st.sampled_from(["json", "xml"]))
def test_a_suffix_is_taken_off_every_named_path(name: str, fmt: str) -> None:
    """`/regcode.json` asks JSON of `/regcode`: any path with a name before the suffix, one letter or more."""
    assert split_suffix(f"/{name}.{fmt}") == (f"/{name}", fmt)
    assert split_suffix(f"/{name}") == (f"/{name}", None)


def test_legacy_header_over_http(client: TestClient) -> None:
    ok = client.post(f"{P}/reggie/v1/R/regcode.json", data={"deviceId": "d"}, headers={"Authorization": legacy()})
    assert ok.status_code == 201 and ok.json()["info"]["authorizationType"] is None
    seconds = legacy(request_time=str(int(time.time())))
    refused = client.post(f"{P}/reggie/v1/R/regcode.json", data={"deviceId": "d"}, headers={"Authorization": seconds})
    assert refused.status_code == 401
    assert refused.json()["details"] == "Issue with authorization header - check if request time is in milliseconds."
    # a GET carrying a bad header is refused too; one without a header is not
    assert client.get(f"{P}/api/v1/config/R.json", headers={"Authorization": seconds}).status_code == 401
    assert client.get(f"{P}/api/v1/config/R.json").status_code == 200


def test_bad_shapes_are_401(client: TestClient) -> None:
    for header in ("Bearer ", "Basic dXNlcjpwYXNz", "POST requestor_id=x"):
        response = client.post(f"{P}/reggie/v1/R/regcode.json", data={"deviceId": "d"},
                               headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["details"] == "Issue with authorization header"


def test_signature_checked_when_a_secret_is_configured(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(scenarios=override(tmp_path, requestor_secrets={"sampleRequestorId": SECRET}))
    good = client.post(f"{P}/reggie/v1/sampleRequestorId/regcode.json", data={"deviceId": "d"},
                       headers={"Authorization": legacy()})
    assert good.status_code == 201
    forged = client.post(f"{P}/reggie/v1/sampleRequestorId/regcode.json", data={"deviceId": "d"},
                         headers={"Authorization": legacy(secret="guessed")})
    assert forged.status_code == 401
    other = client.post(f"{P}/reggie/v1/R/regcode.json", data={"deviceId": "d"},
                        headers={"Authorization": legacy(requestor="unknownRequestor", secret="any")})
    assert other.status_code == 201  # no secret configured for that requestor: not verified


@pytest.fixture(scope="module")
def garbage_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("clientless-garbage")
    with asgi_client(build_app(Settings(scenarios=override(folder, throttle_enabled=False)))) as client:
        yield client


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(["/reggie/v1/R/regcode", "/api/v1/authenticate", "/api/v1/authorize",
                             "/sp/saml/SAMLAssertionConsumer", "/mvpd/m/login", "/api/v1/preauthorize",
                             "/reggie/v1/R/regcode/ABC", "/api/v1/logout"]),
       method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
       query=st.dictionaries(st.sampled_from(["deviceId", "requestor", "resource", "ttl", "format", "reg_code",
                                              "requestor_id", "mso_id", "domain_name", "redirect_url"]),
                             st.text(max_size=30), max_size=6),
       body=st.binary(max_size=200), accept=st.text(max_size=30))
def test_garbage_never_gives_a_500(garbage_client: TestClient, path: str, method: str, query: dict[str, str],
                                   body: bytes, accept: str) -> None:
    response = garbage_client.request(method, P + path, params=query, content=body,
                                      headers={"Accept": accept.encode("ascii", "ignore").decode() or "*/*",
                                               "Authorization": "Bearer t"})
    assert response.status_code < 500, response.text
    assert "x-mockserver-internal-error" not in response.headers


@pytest.mark.parametrize("header", [None, "seconds", "Basic dXNlcjpwYXNz"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_401_says_the_seeds_not_authorized(client: TestClient, header: str | None, fmt: str) -> None:
    """clientless-errors.md names the error 'Not Authorized' (as it names '400 Bad Request', '403 Forbidden')."""
    value = legacy(request_time=str(int(time.time()))) if header == "seconds" else header
    response = client.post(f"{P}/reggie/v1/R/regcode.{fmt}", data={"deviceId": "d"},
                           headers={"Authorization": value} if value else {})
    assert response.status_code == 401
    if fmt == "json":
        assert response.json()["message"] == "Not Authorized"
    else:
        assert b"<status>401</status><message>Not Authorized</message><details>" in response.content
