"""Braze over ASGI: every documented error by flag, the envelopes, auth, and the catalog's data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.scenario.load import load_catalog
from tests.apis import test_braze_support as support
from tests.apis.test_braze_support import AUTH, FULL, track

client, configured = support.client, support.configured  # one app per module (fixtures)

CATALOG = load_catalog().apis["braze"].errors
DOCUMENTED = Path(__file__).parents[1] / "reference" / "documented-errors.json"
NON_FATAL = sorted(e.id for e in CATALOG.values() if e.status < 300)


def test_the_catalog_holds_every_row_of_the_documented_table():
    titles = sorted(e.title for e in CATALOG.values())
    for phrase in ["No Recipients", "Invalid Campaign ID", "Message Variant Unspecified", "Invalid Message Variant",
                   "Mismatched Message Type", "Invalid Extra Push Payload", "Max Input Length Exceeded",
                   "The max number of external_ids and aliases per request was exceeded",
                   "The max number of ids per request was exceeded", "No message to send",
                   "Slideup Message Length Exceeded", "Apple Push Length Exceeded", "Android Push Length Exceeded",
                   "Unauthorized", "Forbidden", "Access Denied", "Not Found", "Rate Limited"]:
        assert phrase in titles
    assert titles.count("Bad Request") == 3  # bad syntax, send_at, in_local_time: three rows, three entries
    assert {e.status for e in CATALOG.values()} >= {400, 401, 403, 404, 429, 500, 502, 503, 504}
    assert NON_FATAL == ["blacklisted-external-id", "invalid-event-object", "invalid-purchase-object",
                         "missing-user-identifier"]


@pytest.mark.parametrize("error_id", sorted(CATALOG))
def test_every_documented_error_by_flag(client, error_id):
    documented = CATALOG[error_id]
    response = client.post(f"/braze/users/track?__error={error_id}", json={"attributes": []}, headers=AUTH)
    assert response.status_code == documented.status
    assert response.headers["content-type"] == "application/json"
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert response.headers[name].isdigit()
    body = response.json()
    if error_id in NON_FATAL:
        assert body["message"] == "success" and body["errors"][0]["type"] == documented.title
    else:
        assert body == {"message": documented.title, "errors": [documented.fields["detail"]]}


def test_the_rows_texts_are_the_tables_byte_for_byte():
    """errors.md writes company’s with U+2019 and **Settings** in bold: the minor error keeps both."""
    rows = [r["cause"] for r in json.loads(DOCUMENTED.read_text())["braze"]["rows"]]
    assert CATALOG["local-time-passed"].fields["detail"] in rows
    assert CATALOG["access-denied"].fields["detail"] in rows
    assert "company’s time zone" in CATALOG["local-time-passed"].fields["detail"]


@pytest.mark.parametrize(("code", "sentence"), [
    (502, "A 502 error is a failure before it reaches the destination server."),
    (503, "A 503 error means that the request made it to the destination server, but we can't complete the request "
          "because there isn't enough capacity, or there is a network issue, or similar."),
    (504, "A 504 error indicates a server didn't receive a response from another server upstream."),
])
def test_the_5xx_minor_errors_are_the_docs_sentences(client, code, sentence):
    """errors.md describes 502, 503 and 504 in one sentence each: the minor error is that sentence, unedited."""
    response = client.post(f"/braze/users/track?__code={code}", json={}, headers=AUTH)
    assert response.status_code == code and response.json()["errors"] == [sentence]


@pytest.mark.parametrize("error_id", ["service-unavailable", "max-ids-exceeded"])
def test_the_prefer_header_asks_the_same_error(client, error_id):
    by_header = client.post("/braze/campaigns/trigger/send", json={}, headers={**AUTH, "Prefer": f"error={error_id}"})
    by_query = client.post(f"/braze/campaigns/trigger/send?__error={error_id}", json={}, headers=AUTH)
    assert by_header.status_code == by_query.status_code == CATALOG[error_id].status
    assert by_header.json() == by_query.json()


@pytest.mark.parametrize(("path", "code", "expected"), [
    ("/users/track", 403, "forbidden"),  # the route's own 403s, in the order its rules try them
    ("/users/track", 429, "rate-limited"),
    ("/users/track", 201, "blacklisted-external-id"),
    ("/campaigns/trigger/send", 400, "bad-request"),
    ("/messages/send", 500, "internal-server-error"),
])
def test_code_flag_picks_a_documented_error_of_that_status(client, path, code, expected):
    response = client.post(f"/braze{path}?__code={code}", json={}, headers=AUTH)
    assert response.status_code == code
    body = response.json()
    assert (body["errors"][0]["type"] if code == 201 else body["message"]) == CATALOG[expected].title


def test_a_flag_asking_an_unknown_error_is_misuse_not_braze(client):
    response = client.post("/braze/users/track?__error=nope", json={}, headers=AUTH)
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1"
    assert "rate-limited" in response.json()["valid"]


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Basic a2V5", "Bearer 'key'",
                                           'Bearer "key"', "Bearer key extra", "Token key", "Bearer \u201ckey\u201d"])
def test_no_or_malformed_bearer_key_is_401(client, authorization):
    headers = {} if authorization is None else {"Authorization": authorization.encode()}  # UTF-8, as clients send
    response = track(client, {"attributes": [{"external_id": "a"}]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized", "errors": ["Invalid API key."]}


@pytest.mark.parametrize("authorization", ["Bearer key-1", "bearer key-1", "Bearer\tkey-1", "Bearer {key-1}"])
def test_any_well_formed_key_is_accepted_by_default(client, authorization):
    response = track(client, {"attributes": [{"external_id": "a"}]}, headers={"Authorization": authorization})
    assert response.status_code == 201


def test_the_pre_2020_api_key_in_body_or_query_is_still_read(client):
    assert track(client, {"api_key": "k", "attributes": [{"external_id": "a"}]}, headers={}).status_code == 201
    assert client.post("/braze/users/track?api_key=k", json={"attributes": [{"external_id": "a"}]}).status_code == 201
    assert track(client, {"api_key": 7, "attributes": [{"external_id": "a"}]}, headers={}).status_code == 401


def test_configured_keys_permissions_and_inactive_accounts(configured):
    body = {"attributes": [{"external_id": "a"}]}
    assert track(configured, body, headers={"Authorization": "Bearer stranger"}).status_code == 401
    assert track(configured, body, headers={"Authorization": "Bearer track-only"}).status_code == 201
    denied = configured.post("/braze/messages/send", json={"broadcast": True, "segment_id": "s"},
                             headers={"Authorization": "Bearer track-only"})
    assert denied.status_code == 403 and denied.json()["message"] == "Access Denied"
    forbidden = track(configured, body, headers={"Authorization": "Bearer old-key"})
    assert forbidden.status_code == 403 and forbidden.json()["message"] == "Forbidden"
    assert track(configured, body, headers={"Authorization": "Bearer full-key"}).status_code == 201


@pytest.mark.parametrize(("method", "path"), [("GET", "/braze/nothing"), ("GET", "/braze/users/track"),
                                              ("DELETE", "/braze/messages/send"), ("POST", "/braze/campaigns/list")])
def test_unknown_path_or_method_is_404_invalid_url(client, method, path):
    response = client.request(method, path, headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found", "errors": ["Invalid URL."]}
    assert response.headers["x-ratelimit-limit"].isdigit()


def test_the_real_host_is_served_at_the_root(client):
    response = client.post("/users/track", json={"attributes": [{"external_id": "a"}]},
                           headers={**AUTH, "Host": "rest.fra-01.braze.eu"})
    assert response.status_code == 201 and response.json()["attributes_processed"] == 1


def test_same_seed_same_requests_same_bodies(make_client):
    def run(seed: int) -> tuple:
        client = make_client(seed=seed)
        sent = client.post("/braze/messages/send", json={"external_user_ids": ["a"], "messages": {"email": {}}},
                           headers=AUTH).json()
        users = client.post("/braze/users/export/ids", json={"external_ids": ["a", "b"]}, headers=AUTH).json()["users"]
        return sent, [(u["first_name"], u["email"], u["braze_id"]) for u in users]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_a_key_sent_to_another_instance_is_401(tmp_path_factory):
    """errors.md, 401 row: the error also comes when the request goes to the incorrect instance."""
    folder = tmp_path_factory.mktemp("instances")
    (folder / "instances.yaml").write_text("api: braze\noptions:\n  key_instances: {eu-key: fra-01}\n")
    body = {"attributes": [{"external_id": "a"}]}
    eu = {"Authorization": "Bearer eu-key"}
    for client in support.app_client(scenarios=(str(folder),)):
        wrong = client.post("/users/track", json=body, headers={**eu, "Host": "rest.iad-01.braze.com"})
        assert wrong.status_code == 401
        assert wrong.json() == {"message": "Unauthorized", "errors": ["Invalid API key."]}
        right = client.post("/users/track", json=body, headers={**eu, "Host": "REST.FRA-01.braze.eu:443"})
        assert right.status_code == 201
        assert client.post("/braze/users/track", json=body, headers=eu).status_code == 201  # no instance named
        other = {"Authorization": "Bearer any-key", "Host": "rest.iad-01.braze.com"}
        assert client.post("/users/track", json=body, headers=other).status_code == 201


OTHER_ENDPOINTS = [("GET", "/subscription/status/get"), ("GET", "/canvas/list"), ("GET", "/segments/list"),
                   ("POST", "/subscription/status/set"), ("POST", "/v2/subscription/status/set"),
                   ("POST", "/email/spam/remove"), ("POST", "/users/external_ids/rename"),
                   ("POST", "/transactional/v1/campaigns/c-1/send")]


@pytest.mark.parametrize(("method", "path"), OTHER_ENDPOINTS)
def test_the_other_real_endpoints_answer_the_shared_errors_and_a_bare_success(client, method, path):
    """braze-api's methods for endpoints the pages we were given leave out got 404 Invalid URL, and no flag
    worked on them: a client's subscription or export code could not be tested at all."""
    body = {"external_id": ["u1"]} if method == "POST" else None
    answered = client.request(method, f"/braze{path}", json=body, headers=AUTH)
    assert answered.status_code == (201 if method == "POST" else 200) and answered.json()["message"] == "success"
    shared = path.endswith("subscription/status/set")  # their own 5,000 a minute, else "most APIs"
    assert answered.headers["x-ratelimit-limit"] == ("5000" if shared else "250000")
    assert client.request(method, f"/braze{path}", json=body).status_code == 401
    limited = client.request(method, f"/braze{path}?__error=rate-limited", json=body, headers=AUTH)
    assert limited.status_code == 429 and limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["message"] == client.post("/braze/users/track?__error=rate-limited", json={},
                                                    headers=AUTH).json()["message"]
    unmatched = client.get("/__admin/requests/unmatched").json()["requests"]
    assert f"/braze{path}" not in [e["path"] for e in unmatched]


def test_an_endpoint_braze_does_not_have_is_still_404_and_unmatched(client):
    assert client.get("/braze/subscription/status/gte", headers=AUTH).status_code == 404
    assert client.post("/braze/canvas/list", json={}, headers=AUTH).status_code == 404  # GET only
    paths = [e["path"] for e in client.get("/__admin/requests/unmatched").json()["requests"]]
    assert paths[-2:] == ["/braze/subscription/status/gte", "/braze/canvas/list"]


def test_the_other_endpoints_read_the_keys_permission_named_after_them(configured):
    track_only = {"Authorization": "Bearer track-only"}
    denied = configured.post("/braze/email/spam/remove", json={"email": "a@b.c"}, headers=track_only)
    assert denied.status_code == 403 and denied.json()["message"] == "Access Denied"
    assert configured.post("/braze/email/spam/remove", json={"email": "a@b.c"}, headers=FULL).status_code == 201


def test_a_mode_counting_per_endpoint_counts_each_of_the_other_endpoints_apart(client):
    """flaky fails "the first 2 requests of each endpoint": the other endpoints share a route, not a count."""
    def status(path: str) -> int:
        return client.get(f"/braze{path}?__mode=flaky", headers={**AUTH, "X-Mock-Session": "flaky-apart"}).status_code

    assert [status("/canvas/list") for _ in range(3)] == [503, 503, 200]
    assert [status("/segments/list") for _ in range(3)] == [503, 503, 200]


@pytest.mark.parametrize("path", ["/email/status", "/transactional/v1/campaigns/c1/send"])
def test_the_other_post_endpoints_refuse_an_empty_body_as_the_others_do(client, path):
    answered = client.post(f"/braze{path}", headers=AUTH)
    assert answered.status_code == 400 and answered.json()["message"] == "Bad Request"


def test_both_subscription_status_set_endpoints_share_their_5000_a_minute(client):
    def remaining(path: str) -> tuple[str, str]:
        answered = client.post(f"/braze{path}", json={"subscription_group_id": "g"},
                               headers={**AUTH, "X-Mock-Session": "subscriptions"})
        return answered.headers["x-ratelimit-limit"], answered.headers["x-ratelimit-remaining"]

    assert remaining("/subscription/status/set") == ("5000", "4999")
    assert remaining("/v2/subscription/status/set") == ("5000", "4998")


@pytest.mark.parametrize(("path", "permission"), [("/v2/subscription/status/set", "subscription.status.set"),
                                                  ("/email/spam/remove", "email.spam.remove")])
def test_an_endpoint_reads_the_permission_its_page_names(make_client, tmp_path, path, permission):
    (tmp_path / "keys.yaml").write_text(f"api: braze\noptions:\n  api_keys: {{scoped: [{permission}], other: [x.y]}}\n")
    client = make_client(scenarios=(str(tmp_path),))
    assert client.post(f"/braze{path}", json={}, headers={"Authorization": "Bearer scoped"}).status_code == 201
    assert client.post(f"/braze{path}", json={}, headers={"Authorization": "Bearer other"}).status_code == 403


APPLE = {"alert": "hello"}


@pytest.mark.parametrize(("path", "with_nulls"), [
    ("/braze/messages/send", {"external_user_ids": ["u"], "send_id": None, "user_aliases": None,
                              "messages": {"apple_push": APPLE, "android_push": None}}),
    ("/braze/messages/send", {"external_user_ids": ["u"], "messages": None}),  # no message to send
    ("/braze/messages/send", {"broadcast": True, "segment_id": "s", "external_user_ids": None,
                              "messages": {"apple_push": APPLE}}),  # a broadcast with no recipient list
    ("/braze/campaigns/trigger/send", {"campaign_id": "c", "send_id": None, "recipients": [{"external_user_id": "u"}]}),
    ("/braze/campaigns/trigger/send", {"campaign_id": None, "recipients": [{"external_user_id": "u"}]}),  # required
    ("/braze/users/track", {"attributes": [{"external_id": "u", "plan": None}], "events": None, "purchases": None}),
    ("/braze/users/export/ids", {"external_ids": ["u"], "user_aliases": None, "fields_to_export": None}),
    ("/braze/users/export/ids", {"external_ids": None, "user_aliases": None}),  # names no one
])
def test_a_member_sent_as_null_is_not_given(client, path, with_nulls):
    """Null-writing clients (Jackson, Newtonsoft, Go's pointers) send every optional member: the answer is the
    one without the null members (messages' own included), whatever it is; an attribute set to null stays."""
    without = {k: v for k, v in with_nulls.items() if v is not None}
    if isinstance(without.get("messages"), dict):
        without["messages"] = {k: v for k, v in without["messages"].items() if v is not None}
    nulls, absent = (client.post(path, json=body, headers=AUTH) for body in (with_nulls, without))
    assert nulls.status_code == absent.status_code, (nulls.text, absent.text)
    assert nulls.json().keys() == absent.json().keys()
    assert nulls.json().get("errors") == absent.json().get("errors")
