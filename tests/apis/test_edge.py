"""Edge over ASGI: routes, natural triggers, the 207 / warnings answers, per-event failures."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote

import pytest

from tests.apis.test_edge_support import (
    COLLECT,
    EVENT,
    IDENTIFIED,
    INTERACT,
    assert_problem,
    bind_fixtures,
    edge_client,
)

edge_app, client = bind_fixtures()

HEX16 = re.compile(r"^[0-9a-f]{16}$")
ORG = "53A16ACB5CC1D3760A495C99_AdobeOrg"


# ---- success answers ---------------------------------------------------------------------------
def test_interact_answers_request_id_and_handles(client):
    response = client.post(INTERACT, json={**EVENT, "query": {"identity": {"fetch": ["ECID"]}}})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    kinds = [h["type"] for h in body["handle"]]
    assert kinds == ["locationHint:result", "state:store", "identity:result"]
    assert body["handle"][0]["payload"] == [{"scope": "EdgeNetwork", "hint": "or2", "ttlSeconds": 1800}]
    assert re.fullmatch(r"\d{38}", body["handle"][2]["payload"][0]["id"])
    assert response.headers["x-adobe-edge"] == "OR2;35"  # as real answers: "x-adobe-edge: IRL1;6"
    assert "errors" not in body and "warnings" not in body


def test_a_minted_ecid_comes_with_the_identity_cookie_the_web_sdk_waits_for(client):
    """The interact reference's example: state:store holds kndctr_<org>_identity (395 days) then the
    cluster; without it the Web SDK warns "Identity cookie not found" after every answer."""
    body = client.post(INTERACT, json={**EVENT, "query": {"identity": {"fetch": ["ECID"]}}}).json()
    ecid = body["handle"][2]["payload"][0]["id"]
    identity, cluster = body["handle"][1]["payload"]
    assert identity["key"] == "kndctr_53A16ACB5CC1D3760A495C99_AdobeOrg_identity"
    assert identity["maxAge"] == 34128000 and identity["value"].startswith("CiY")
    assert base64.b64decode(identity["value"]) == b"\n&" + ecid.encode()
    assert cluster == {"key": "kndctr_53A16ACB5CC1D3760A495C99_AdobeOrg_cluster", "value": "or2", "maxAge": 1800}


def test_a_visitor_without_an_identity_cookie_gets_one_fetch_or_not_and_keeps_it_after(client):
    """Adobe's iOS and Android upstream tests against the real service: a first sendEvent (no identity
    fetch) gets state:store with the cluster and the identity entries; once the SDK sends the identity back
    in meta.state.entries, only the cluster. A browser sends it back as a cookie."""
    first = client.post(INTERACT, json=EVENT).json()
    keys = [p["key"] for p in first["handle"][1]["payload"]]
    assert keys == [f"kndctr_{ORG}_identity", f"kndctr_{ORG}_cluster"]
    assert "identity:result" not in [h["type"] for h in first["handle"]]
    entry = first["handle"][1]["payload"][0]
    back = {**EVENT, "meta": {"state": {"entries": [{"key": entry["key"], "value": entry["value"]}]}},
            "query": {"identity": {"fetch": ["ECID"]}}}
    later = client.post(INTERACT, json=back).json()
    assert [p["key"] for p in later["handle"][1]["payload"]] == [f"kndctr_{ORG}_cluster"]
    assert base64.b64decode(entry["value"]) == b"\n&" + later["handle"][2]["payload"][0]["id"].encode()
    cookie = client.post(INTERACT, json=EVENT, headers={"Cookie": f"{entry['key']}={quote(entry['value'])}"}).json()
    assert len(cookie["handle"][1]["payload"]) == 1
    among = f"s_vi=1; {entry['key']}={quote(entry['value'])}; other=2"  # a browser sends the site's other cookies
    assert len(client.post(INTERACT, json=EVENT, headers={"Cookie": among}).json()["handle"][1]["payload"]) == 1
    others = f"s_identity=1; kndctr_{ORG}_consent=general%3Din"  # another site's cookie, the consent entry
    assert len(client.post(INTERACT, json=EVENT, headers={"Cookie": others}).json()["handle"][1]["payload"]) == 2


def test_location_hint_in_the_path_is_kept_and_an_unknown_one_is_404_without_body(client):
    ok = client.post("/edge/ee/va6/v2/interact?datastreamId=ds-1", json=EVENT)
    assert ok.status_code == 200 and ok.json()["handle"][0]["payload"][0]["hint"] == "va6"
    missing = client.post("/edge/ee/nowhere1/v2/interact?datastreamId=ds-1", json=EVENT)
    assert missing.status_code == 404 and missing.content == b""


def test_chaos_on_interact_draws_the_routes_problems_never_the_unknown_hint_404(client):
    """The 404 belongs to a hint the path names, not to a random failure: every chaos answer is a problem."""
    for seed in range(60):
        response = client.post(f"{INTERACT}&__chaos=1&__seed={seed}", json=EVENT)
        assert response.status_code != 404, seed
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", (seed, response.status_code)


def test_unknown_paths_and_other_methods_are_404_without_body(client):
    assert client.get(INTERACT).status_code == 404
    response = client.post("/edge/ee/v3/interact?datastreamId=ds-1", json=EVENT)
    assert response.status_code == 404 and response.content == b""


@pytest.mark.parametrize("path, status", [
    ("/edge/ee/v1/interact?configId=ds-1", 200),
    ("/edge/ee/irl1/v1/interact?configId=ds-1", 200),
    ("/edge/ee/v2/collect?datastreamId=ds-1", 202),
    ("/edge/ee/v1/collect?configId=ds-1", 204),
    ("/edge/ee/v2/collect?datastreamId=ds-1&silent=true", 204),
    ("/edge/ee/v2/collect?datastreamId=ds-1&silent=false", 202),
])
def test_batch_endpoints(client, path, status):
    response = client.post(path, json={"events": [IDENTIFIED, IDENTIFIED]})
    assert response.status_code == status, response.text
    if status == 204:
        assert response.content == b"" and "content-length" not in response.headers  # RFC 9110 8.6
    elif status == 202:
        assert response.json() == {"requestId": response.headers["x-request-id"]}
    else:
        assert isinstance(response.json()["handle"], list)


@pytest.mark.parametrize("how", ["query", "header"])
def test_a_given_request_id_comes_back_with_16_hex_of_entropy(client, how):
    url = INTERACT + "&requestId=abc-123" if how == "query" else INTERACT
    headers = {"x-request-id": "abc-123"} if how == "header" else {}
    request_id = client.post(url, json=EVENT, headers=headers).json()["requestId"]
    given, _, entropy = request_id.rpartition("-")
    assert given == "abc-123" and HEX16.match(entropy)


def test_text_plain_json_is_accepted_like_application_json(client):
    # Adobe's Web SDK sends its JSON as text/plain to avoid a CORS preflight.
    for kind in ("text/plain;charset=UTF-8", "text/javascript", "application/json; charset=utf-8"):
        response = client.post(INTERACT, content=json.dumps(EVENT), headers={"Content-Type": kind})
        assert response.status_code == 200, (kind, response.text)


def test_a_browser_preflight_carries_no_half_x_adobe_edge(client):
    """A preflight is answered before the request is read (no location hint, no request id): the header
    the Web SDK reads as "<hint>;<region>" is left out, not sent as ";35"."""
    preflight = client.options(INTERACT, headers={"Origin": "https://shop.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and "x-adobe-edge" not in preflight.headers
    assert client.post(INTERACT, json=EVENT).headers["x-adobe-edge"] == "OR2;35"


@pytest.mark.parametrize("flags, status", [("", 200), ("&__error=EXEG-0000-503", 503), ("&__error=rate-limited", 429)])
def test_a_browser_may_read_the_two_headers_the_web_sdk_reads(client, flags, status):
    """alloy reads Retry-After (its retry wait) and x-adobe-edge (the region id) with fetch's
    response.headers.get, which a cross-origin page sees only for exposed headers."""
    answer = client.post(INTERACT + flags, json=EVENT, headers={"Origin": "https://shop.example"})
    assert answer.status_code == status
    exposed = {h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"retry-after", "x-adobe-edge"}


def test_same_seed_and_session_replays_byte_for_byte(make_client):
    answers = []
    for _ in range(2):
        client = make_client(seed=7)
        answers.append([client.post(INTERACT, json=EVENT).content,
                        client.post(INTERACT + "&__error=EXEG-0201-503", json=EVENT).content])
    assert answers[0] == answers[1]


# ---- streamed answers (the mobile SDKs' meta.konductorConfig.streaming) ---------------------------
STREAMING = {"konductorConfig": {"streaming": {"enabled": True, "recordSeparator": "\u0000", "lineFeed": "\n"}}}
MOBILE = {"meta": STREAMING, "events": [{"xdm": {"eventType": "test", "_id": "e1"}}]}


def records(response) -> list[dict]:
    """What Adobe's Android SDK reads (EdgeNetworkService.handleStreamingResponse): the body split on the
    line feed, the record separator's length cut off each record, the rest parsed as one JSON object."""
    text = response.content.decode()
    return [json.loads(chunk[1:]) for chunk in text.split("\n") if chunk]


@pytest.mark.parametrize("query, status", [("", 200), ("&__error=EXEG-0201-503", 207), ("&__error=EXEG-0204-200", 200)])
def test_a_streamed_answer_is_one_record_framed_as_the_mobile_sdks_ask(client, query, status):
    response = client.post(f"/edge/ee/v1/interact?configId=ds-1&requestId=r1{query}", json=MOBILE)
    assert response.status_code == status
    assert response.content.startswith(b"\x00{") and response.content.endswith(b"}\n")
    (body,) = records(response)
    assert body["requestId"] == response.headers["x-request-id"] and isinstance(body["handle"], list)
    assert ("errors" in body) is (status == 207)


def test_streaming_follows_the_request_and_never_frames_a_problem_or_a_204(client):
    asked = {**MOBILE, "meta": {"konductorConfig": {"streaming": {"enabled": True, "recordSeparator": "A",
                                                                  "lineFeed": "B"}}}}
    custom = client.post("/edge/ee/v1/interact?configId=ds-1", json=asked).content
    assert custom.startswith(b"A{") and custom.endswith(b"}B")
    off = {**MOBILE, "meta": {"konductorConfig": {"streaming": {"enabled": False, "recordSeparator": "A",
                                                                "lineFeed": "B"}}}}
    assert client.post("/edge/ee/v1/interact?configId=ds-1", json=off).content.startswith(b"{")
    consent = {"meta": STREAMING,
               "consent": [{"standard": "Adobe", "version": "2.0", "value": {"collect": {"val": "y"}}}]}
    assert records(client.post("/edge/ee/v1/privacy/set-consent?configId=ds-1", json=consent))[0]["handle"]
    assert_problem(client.post("/edge/ee/v1/interact?configId=ds-1&__error=EXEG-0000-503", json=MOBILE), 503)
    assert client.post("/edge/ee/v1/collect?configId=ds-1", json=MOBILE).content == b""


@pytest.mark.parametrize("streaming", [{"enabled": True, "recordSeparator": "", "lineFeed": "\n"},
                                       {"enabled": True, "recordSeparator": "\u0000"},
                                       {"enabled": True, "recordSeparator": "\u0000", "lineFeed": ""}])
def test_streaming_without_both_a_separator_and_a_line_feed_is_a_plain_answer(client, streaming):
    """The mobile SDKs always send both; a record needs both to be framed, so without one the answer is the
    plain JSON document the Web SDK reads."""
    response = client.post("/edge/ee/v1/interact?configId=ds-1",
                           json={**MOBILE, "meta": {"konductorConfig": {"streaming": streaming}}})
    assert response.status_code == 200
    assert response.json()["requestId"] == response.headers["x-request-id"]


# ---- natural fatal errors ---------------------------------------------------------------------
@pytest.mark.parametrize("path, param", [
    ("/edge/ee/v2/interact", "datastreamId"),
    ("/edge/ee/v2/interact?datastreamId=", "datastreamId"),
    ("/edge/ee/v2/interact?datastreamId=%20", "datastreamId"),  # blank: no datastream is named " "
    ("/edge/ee/v1/interact", "configId"),
])
def test_no_datastream_parameter(client, path, param):
    body = assert_problem(client.post(path, json=EVENT), 400, "EXEG-0002-400")
    assert body["title"] == "Missing datastream parameter"
    assert f"'{param}' is missing" in body["detail"]
    assert "configId" not in body["report"]


def test_config_id_also_names_the_datastream_on_v2(client):
    assert client.post("/edge/ee/v2/interact?configId=ds-1", json=EVENT).status_code == 200


def test_datastream_known_disabled_and_misconfigured(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, known_datastreams=["ds-1"],
                         datastreams={"off": {"enabled": False}, "bad": {"error": "EXEG-0010-422"}})
    assert client.post(INTERACT, json=EVENT).status_code == 200
    unknown = assert_problem(client.post("/edge/ee/v2/interact?datastreamId=nope", json=EVENT), 400, "EXEG-0003-400")
    assert unknown["title"] == "Invalid datastream ID"
    assert "'nope' referenced in your request does not exist" in unknown["detail"]
    assert unknown["report"]["configId"] == "nope"
    disabled = assert_problem(client.post("/edge/ee/v2/interact?datastreamId=off", json=EVENT), 422, "EXEG-0004-422")
    assert "'off' is disabled" in disabled["detail"]
    assert_problem(client.post("/edge/ee/v2/interact?datastreamId=bad", json=EVENT), 422, "EXEG-0010-422")


@pytest.mark.parametrize("ident", ["BOGUS", "DummyDatastreamID", "invalid-datastream", "does-not-exist",
                                   "12345-example"])
def test_bogus_looking_datastream_ids_do_not_exist(client, ident):
    # What Adobe's own SDK tests send to reach EXEG-0003-400 on the real service ("12345-example": the
    # upstream integration tests of aepsdk-edge-ios and -android, which expect that 400).
    problem = assert_problem(client.post(f"/edge/ee/v2/interact?datastreamId={ident}", json=EVENT), 400,
                             "EXEG-0003-400")
    assert problem["detail"] == (f"The datastream ID '{ident}' referenced in your request does not exist. "
                                 "Update the request with a valid datastream ID and try again.")
    for real in ("0f8821e5-ed1a-4301-b445-5f336fb50ee8", "example-datastream", "12345-examples"):
        assert client.post(f"/edge/ee/v2/interact?datastreamId={real}", json=EVENT).status_code == 200, real


def test_the_bogus_pattern_yields_to_configured_datastreams_and_can_be_turned_off(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, datastreams={"dummy-ok": {}})
    assert client.post("/edge/ee/v2/interact?datastreamId=dummy-ok", json=EVENT).status_code == 200
    assert client.post("/edge/ee/v2/interact?datastreamId=BOGUS", json=EVENT).status_code == 400
    off = edge_client(make_client, tmp_path, unknown_datastream_pattern="")
    assert off.post("/edge/ee/v2/interact?datastreamId=BOGUS", json=EVENT).status_code == 200
    # a pattern that does not compile is refused at load (tests/apis/test_edge_options.py), not per request


def test_placeholders_a_user_sets_fill_the_details(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, placeholders={"sandboxName": "dev-sandbox"})
    for code in ("EXEG-0012-422", "EXEG-0112-413", "EXEG-0106-400"):
        problem = assert_problem(client.post(f"{INTERACT}&__error={code}", json=EVENT), int(code[-3:]), code)
        assert "{" not in problem["detail"]
    problem = client.post(f"{INTERACT}&__error=EXEG-0012-422", json=EVENT).json()
    assert "The referenced sandbox 'dev-sandbox' does not exist or is not owned by IMS Org" in problem["detail"]


@pytest.mark.parametrize("body", [b"", b"  \n"])
def test_empty_body_is_408(client, body):
    assert_problem(client.post(INTERACT, content=body, headers={"Content-Type": "application/json"}), 408,
                   "EXEG-0109-408")


@pytest.mark.parametrize("content_type, status, code", [
    ("application/xml", 415, "EXEG-0111-415"),
    ("application/x-www-form-urlencoded", 415, "EXEG-0111-415"),
    (None, 415, "EXEG-0111-415"),
    ("json", 400, "EXEG-0106-400"),
    ("application/json/extra", 400, "EXEG-0106-400"),
])
def test_unsupported_or_invalid_content_type(client, content_type, status, code):
    headers = {"Content-Type": content_type} if content_type else {}
    assert_problem(client.post(INTERACT, content=json.dumps(EVENT).encode(), headers=headers), status, code)


def test_body_over_64_kb_is_413_and_64_kb_exactly_passes(client):
    def body_of(size: int) -> bytes:
        shell = json.dumps({"event": {"data": {"pad": ""}}}).encode()
        return shell.replace(b'""', b'"' + b"x" * (size - len(shell)) + b'"')

    headers = {"Content-Type": "application/json"}
    assert client.post(INTERACT, content=body_of(65536), headers=headers).status_code == 200
    too_big = assert_problem(client.post(INTERACT, content=body_of(65537), headers=headers), 413, "EXEG-0112-413")
    assert "maximum accepted size for request payloads is 64 KB" in too_big["detail"]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"event"', b'{"event": {"xdm": {"n": NaN}}}',
                                  b'{"event": {"xdm": {"n": -Infinity}}}'])
def test_unparseable_or_non_object_json_is_0101(client, body):
    assert_problem(client.post(INTERACT, content=body, headers={"Content-Type": "text/plain"}), 400, "EXEG-0101-400")


@pytest.mark.parametrize("url, body, status, code, field", [
    (INTERACT, {"events": [{}]}, 400, "EXEG-0103-400", "event"),
    (INTERACT, {"event": []}, 400, "EXEG-0102-400", "event"),
    (INTERACT, {"event": {"xdm": "x"}}, 400, "EXEG-0102-400", "event.xdm"),
    (COLLECT, {"event": {}}, 400, "EXEG-0103-400", "events"),
    (COLLECT, {"events": []}, 400, "EXEG-0103-400", "events"),
    (COLLECT, {"events": {}}, 400, "EXEG-0102-400", "events"),
    (COLLECT, {"events": [{}, {"xdm": {}, "data": 3}]}, 400, "EXEG-0102-400", "events[1].data"),
    (COLLECT, {"events": [{}, 5]}, 400, "EXEG-0102-400", "events[1]"),
    (COLLECT, {"events": [{"query": []}]}, 400, "EXEG-0102-400", "events[0].query"),
    (INTERACT, {**EVENT, "meta": "x"}, 400, "EXEG-0102-400", "meta"),
    (INTERACT, {**EVENT, "query": 1}, 400, "EXEG-0102-400", "query"),  # the request's own, as an event's
    (COLLECT, {"events": [{}], "query": []}, 400, "EXEG-0102-400", "query"),
    ("/edge/ee/v1/interact?configId=ds-1", {"events": [{}], "xdm": 5}, 400, "EXEG-0102-400", "xdm"),  # v1 batch
])
def test_missing_or_misshapen_fields(client, url, body, status, code, field):
    problem = assert_problem(client.post(url, json=body), status, code)
    assert f"'{field}'" in problem["detail"]


def test_a_null_query_is_not_given_and_a_v2_request_s_own_xdm_is_not_read(client):
    """null is "not given", as for `meta`; SingleEventRequest and BatchV2Request have no top-level `xdm`."""
    assert client.post(INTERACT, json={**EVENT, "query": None, "meta": None}).status_code == 200
    assert client.post(INTERACT, json={**EVENT, "xdm": "x"}).status_code == 200


def test_a_config_override_that_is_not_an_object_is_0113_with_a_report(client):
    problem = assert_problem(client.post(INTERACT, json={**EVENT, "meta": {"configOverrides": "x"}}), 400,
                             "EXEG-0113-400")
    assert problem["report"]["errors"]


def test_silent_must_be_a_boolean(client):
    problem = assert_problem(client.post(COLLECT + "&silent=maybe", json={"events": [{}]}), 400, "EXEG-0108-400")
    assert "'silent' parameter type" in problem["detail"]


def test_primary_identity_when_the_datastream_requires_one(make_client, tmp_path):
    client = edge_client(make_client, tmp_path, datastreams={"strict": {"require_primary_identity": True}})
    url = "/edge/ee/v2/collect?datastreamId=strict"
    fpid = {"FPID": [{"id": "79bf8e83-f708-414b-b1ed-5789ff33bf0b", "primary": "true"}]}
    ok = {"xdm": {"identityMap": fpid}}
    assert client.post(url, json={"events": [ok, ok]}).status_code == 202
    problem = assert_problem(client.post(url, json={"events": [ok, {"xdm": {}}]}), 400, "EXEG-0306-400")
    assert "for event #1" in problem["detail"] and problem["report"]["configId"] == "strict"
    not_primary = {"event": {"xdm": {"identityMap": {"ECID": [{"id": "1", "primary": False}]}}}}
    assert_problem(client.post("/edge/ee/v2/interact?datastreamId=strict", json=not_primary), 400, "EXEG-0306-400")
    assert client.post(INTERACT, json={"events": [{}]} | EVENT).status_code == 200  # other datastreams: not required


def test_v2_collect_requires_a_primary_identity_per_event_by_default(make_client, tmp_path):
    # Collect page: "400 Bad Request when the request was not properly formed (e.g., the mandatory
    # primary identity was not found)".
    client = edge_client(make_client, tmp_path, datastreams={"lax": {"require_primary_identity": False}})
    problem = assert_problem(client.post(COLLECT, json={"events": [IDENTIFIED, {"xdm": {}}]}), 400, "EXEG-0306-400")
    assert problem["title"] == "Event is missing primary identity"
    assert problem["detail"] == ("There was no primary identity provided for event #1. "
                                 "Update the request according to your schema and try again.")
    shared = {"xdm": IDENTIFIED["xdm"], "events": [{}, {"xdm": {}}]}  # the batch's own identityMap counts
    assert client.post(COLLECT, json=shared).status_code == 202
    assert client.post("/edge/ee/v2/collect?datastreamId=lax", json={"events": [{}]}).status_code == 202
    assert client.post("/edge/ee/v1/collect?configId=ds-1", json={"events": [{}]}).status_code == 204
    assert client.post(INTERACT, json=EVENT).status_code == 200


ACQUIRE = "/edge/ee/v1/identity/acquire?configId=ds-1"


def test_identity_acquire_returns_the_ecid_like_interact(client):
    # The API reference's /v1/identity/acquire: IdentityAcquireRequest in, InteractResponse out.
    body = {"query": {"identity": {"fetch": ["ECID"]}}}
    response = client.post(ACQUIRE, content=json.dumps(body), headers={"Content-Type": "text/plain"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    handles = {h["type"]: h["payload"] for h in response.json()["handle"]}
    assert re.fullmatch(r"\d{38}", handles["identity:result"][0]["id"])
    assert handles["identity:result"][0]["namespace"] == {"code": "ECID"}
    hinted = client.post("/edge/ee/irl1/v1/identity/acquire?configId=ds-1", json=body)
    assert hinted.status_code == 200 and hinted.headers["x-adobe-edge"] == "IRL1;35"


def test_identity_acquire_errors(client):
    refused = client.post(ACQUIRE, json={"query": {"identity": {"fetch": ["CORE"]}}})
    assert refused.status_code == 200
    assert refused.json()["warnings"][0]["type"].endswith("EXEG-0303-200")
    problem = assert_problem(client.post(ACQUIRE, json={"query": "ECID"}), 400, "EXEG-0102-400")
    assert "'query' field does not match your input schema" in problem["detail"]
    # IdentityAcquireRequest's other member, `xdm`, is an object too (the reference's schema).
    problem = assert_problem(client.post(ACQUIRE, json={"xdm": ["ECID"]}), 400, "EXEG-0102-400")
    assert "'xdm' field does not match your input schema" in problem["detail"]
    assert client.post(ACQUIRE, json={"xdm": {"identityMap": {}}}).status_code == 200
    assert_problem(client.post("/edge/ee/v1/identity/acquire", json={}), 400, "EXEG-0002-400")
    assert client.get(ACQUIRE).status_code == 404


# ---- consent ---------------------------------------------------------------------------------
CONSENT_URL = "/edge/ee/v1/privacy/set-consent?configId=ds-1"


def test_consent_with_wrong_versions_gives_the_documented_report(client):
    consent = [{"standard": "Adobe", "version": "3.0", "value": {"general": "in"}},
               {"standard": "IAB TCF", "version": "1.0", "value": ""}]
    problem = assert_problem(client.post(CONSENT_URL, json={"consent": consent}), 422, "EXEG-0104-422")
    assert problem["title"] == "Unprocessable entity"
    assert problem["detail"] == "Invalid request (report attached). Please check your input and try again."
    assert problem["report"]["errors"] == [
        "Allowed Adobe version is 1.0 for standard 'Adobe' at index 0",
        "Allowed IAB version is 2.0 for standard 'IAB TCF' at index 1",
        "IAB consent string value must not be empty for standard 'IAB TCF' at index 1",
    ]
    assert problem["report"]["orgId"] == "53A16ACB5CC1D3760A495C99@AdobeOrg"


def test_the_docs_example_request_adobe_2_0_with_a_1_0_value_gets_the_docs_report(client):
    consent = [{"standard": "Adobe", "version": "2.0", "value": {"general": "in"}},
               {"standard": "IAB TCF", "version": "1.0", "value": ""}]
    problem = assert_problem(client.post(CONSENT_URL, json={"consent": consent}), 422, "EXEG-0104-422")
    assert problem["report"]["errors"] == [
        "Allowed Adobe version is 1.0 for standard 'Adobe' at index 0",
        "Allowed IAB version is 2.0 for standard 'IAB TCF' at index 1",
        "IAB consent string value must not be empty for standard 'IAB TCF' at index 1",
    ]
    as_the_web_sdk_sends_it = [{"standard": "Adobe", "version": "2.0",
                                "value": {"collect": {"val": "y"}, "metadata": {"time": "2024-01-01T00:00:00Z"}}}]
    assert client.post(CONSENT_URL, json={"consent": as_the_web_sdk_sends_it}).status_code == 200


def test_0104_caused_by_the_docs_consent_faults_is_the_docs_example_word_for_word(client):
    """Seed l.60-76: the example body, requestId aside: its report has no configId."""
    consent = [{"standard": "Adobe", "version": "2.0", "value": {"general": "in"}},
               {"standard": "IAB TCF", "version": "1.0", "value": ""}]
    problem = assert_problem(client.post(CONSENT_URL, json={"consent": consent}), 422, "EXEG-0104-422")
    assert problem == {
        "type": "https://ns.adobe.com/aep/errors/EXEG-0104-422", "status": 422, "title": "Unprocessable entity",
        "detail": "Invalid request (report attached). Please check your input and try again.",
        "report": {"errors": ["Allowed Adobe version is 1.0 for standard 'Adobe' at index 0",
                              "Allowed IAB version is 2.0 for standard 'IAB TCF' at index 1",
                              "IAB consent string value must not be empty for standard 'IAB TCF' at index 1"],
                   "requestId": problem["report"]["requestId"], "orgId": "53A16ACB5CC1D3760A495C99@AdobeOrg"}}
    assert list(problem["report"]) == ["errors", "requestId", "orgId"]


def test_0104_asked_by_flag_is_the_docs_example_with_its_whole_report(client):
    problem = assert_problem(client.post(f"{INTERACT}&__error=EXEG-0104-422", json=EVENT), 422, "EXEG-0104-422")
    assert {k: problem[k] for k in ("type", "status", "title", "detail")} == {
        "type": "https://ns.adobe.com/aep/errors/EXEG-0104-422", "status": 422, "title": "Unprocessable entity",
        "detail": "Invalid request (report attached). Please check your input and try again."}
    assert problem["report"]["errors"] == [
        "Allowed Adobe version is 1.0 for standard 'Adobe' at index 0",
        "Allowed IAB version is 2.0 for standard 'IAB TCF' at index 1",
        "IAB consent string value must not be empty for standard 'IAB TCF' at index 1",
    ]
    assert problem["report"]["orgId"] == "53A16ACB5CC1D3760A495C99@AdobeOrg"
    assert set(problem["report"]) == {"errors", "requestId", "orgId"}


def test_opting_out_makes_later_requests_warn_0301_and_opting_in_clears_it(client):
    opt_out = {"consent": [{"standard": "Adobe", "version": "1.0", "value": {"general": "out"}}]}
    out = client.post(CONSENT_URL, json=opt_out)
    assert out.status_code == 200
    assert out.json()["handle"][0]["payload"][0]["value"] == "general=out"
    ignored = client.post(INTERACT, json=EVENT)
    assert ignored.status_code == 200
    assert [w["type"].rsplit("/", 1)[1] for w in ignored.json()["warnings"]] == ["EXEG-0301-200"]
    assert "errors" not in ignored.json() and ignored.json()["handle"] == []
    other_session = client.post(INTERACT + "&__session=other", json=EVENT)
    assert "warnings" not in other_session.json()
    back_in = {"consent": [{"standard": "Adobe", "version": "2.0", "value": {"collect": {"val": "y"}}}]}
    assert client.post(CONSENT_URL, json=back_in).status_code == 200
    assert "warnings" not in client.post(INTERACT, json=EVENT).json()


def test_the_consent_report_has_a_line_for_every_faulty_entry_and_none_for_a_valid_one(client):
    """The doc's example reports each faulty entry by its index: one entry that is not an object or of an
    unknown standard does not hide the entries after it; an IAB TCF 2.0 entry with a consent string passes."""
    consent = [5, {"standard": "GPP", "version": "1.0", "value": "x"},
               {"standard": "IAB TCF", "version": "2.0", "value": "CO052l-O052l-DGAMBFRACBgAIBAAAAAAIYgEawAQEagAAAA"},
               {"standard": "IAB TCF", "version": "2.0", "value": 7},
               {"standard": "Adobe", "version": "3.0", "value": {"general": "in"}}]
    problem = assert_problem(client.post(CONSENT_URL, json={"consent": consent}), 422, "EXEG-0104-422")
    assert problem["report"]["errors"] == [
        "Consent entry at index 0 must be an object",
        "Unsupported consent standard 'GPP' at index 1",
        "IAB consent string value must not be empty for standard 'IAB TCF' at index 3",
        "Allowed Adobe version is 1.0 for standard 'Adobe' at index 4",
    ]
    assert client.post(CONSENT_URL, json={"consent": consent[2:3]}).status_code == 200


def test_a_standard_a_user_configures_without_messages_reports_a_wrong_version_in_words(make_client, tmp_path):
    """docs/apis/edge.md: `consent_standards` is an option; a standard given only its versions gets a report
    line naming the version, the standard and the index (it used to be an empty line)."""
    client = edge_client(make_client, tmp_path, consent_standards={"GPP": {"versions": ["1.0"]}})
    consent = [{"standard": "GPP", "version": "1.0", "value": "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"},
               {"standard": "GPP", "version": "2.0", "value": "x"}]
    problem = assert_problem(client.post(CONSENT_URL, json={"consent": consent}), 422, "EXEG-0104-422")
    assert problem["report"]["errors"] == ["Unsupported version '2.0' for standard 'GPP' at index 1"]
    assert client.post(CONSENT_URL, json={"consent": consent[:1]}).status_code == 200


def test_only_adobe_entries_make_the_visitors_choice(make_client, tmp_path):
    """A configured standard whose value is an object with Adobe's words ({general: out}) is not Adobe's entry."""
    client = edge_client(make_client, tmp_path, consent_standards={"GPP": {"versions": ["1.0"]}})
    answer = client.post(CONSENT_URL, json={"consent": [{"standard": "GPP", "version": "1.0",
                                                         "value": {"general": "out"}}]})
    assert answer.status_code == 200 and answer.json()["handle"][0]["payload"][0]["value"] == "general=in"
    assert "warnings" not in client.post(INTERACT, json=EVENT).json()


@pytest.mark.parametrize("consent, choice", [
    ([{"standard": "IAB TCF", "version": "2.0", "value": "CO052l-O052l-DGAMBFRACBgAIBAAAAAAIYgEawAQEagAAAA"},
      {"standard": "Adobe", "version": "1.0", "value": {"general": "out"}}], "out"),
    ([{"standard": "Adobe", "version": "1.0", "value": {"general": "out"}},
      {"standard": "Adobe", "version": "2.0", "value": {"collect": {"val": "y"}}}], "in"),
    ([{"standard": "Adobe", "version": "2.0", "value": {"collect": {"val": "n"}}},
      {"standard": "Adobe", "version": "1.0", "value": {"general": "in"}}], "in"),
])
def test_the_visitors_choice_is_its_last_adobe_consent_entry(client, consent, choice):
    """Other standards' entries (IAB TCF beside Adobe, as a CMP sends both) say nothing of Adobe's choice;
    of several Adobe entries the last one stands."""
    answer = client.post(CONSENT_URL, json={"consent": consent})
    assert answer.status_code == 200
    assert answer.json()["handle"][0]["payload"][0]["value"] == f"general={choice}"
    warnings = client.post(INTERACT, json=EVENT).json().get("warnings", [])
    assert [w["type"].rsplit("/", 1)[1] for w in warnings] == (["EXEG-0301-200"] if choice == "out" else [])


@pytest.mark.parametrize("body, code", [({}, "EXEG-0103-400"), ({"consent": {"x": 1}}, "EXEG-0102-400")])
def test_consent_array_is_required(client, body, code):
    assert_problem(client.post(CONSENT_URL, json=body), 400, code)


def test_fetching_an_unauthorized_namespace_warns_0303(client):
    body = {**EVENT, "query": {"identity": {"fetch": ["ECID", "CORE"]}}}
    response = client.post(INTERACT, json=body)
    assert response.status_code == 200
    warning = response.json()["warnings"][0]
    assert warning["type"].endswith("EXEG-0303-200") and warning["status"] == 200
    assert "namespaces: 'CORE'. The allowed namespaces are 'ECID'." in warning["detail"]


def test_a_namespace_fetched_twice_is_reported_once_and_a_non_string_is_no_namespace(client):
    body = {"event": {"query": {"identity": {"fetch": ["CORE", 5, None]}}}, "query": {"identity": {"fetch": ["CORE"]}}}
    response = client.post(INTERACT, json=body)
    assert response.status_code == 200
    [warning] = response.json()["warnings"]
    assert "namespaces: 'CORE'. The allowed namespaces are 'ECID'." in warning["detail"]


# ---- non-fatal errors and warnings -------------------------------------------------------------
def test_upstream_error_and_warning_asked_together_make_a_207(client):
    response = client.post(INTERACT, json=EVENT, headers={"Prefer": "error=EXEG-0201-503, error=EXEG-0204-200"})
    assert response.status_code == 207
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["handle"] == [] and body["requestId"] == response.headers["x-request-id"]
    [error], [warning] = body["errors"], body["warnings"]
    assert error["type"] == "https://ns.adobe.com/aep/errors/EXEG-0201-503" and error["status"] == 503
    assert "'com.adobe.experience.platform.ode' service is temporarily unable" in error["detail"]
    # the titles of the page's own example, word for word
    assert error["title"] == ("The 'com.adobe.experience.platform.ode' service is temporarily unable to serve this "
                              "request. Please try again later.")
    assert warning["title"] == ("A warning occurred while calling the 'com.adobe.audiencemanager' service for this "
                                "request.")
    assert warning["status"] == 200
    cause = {"message": "Cannot read related customer for device id: ...", "code": 202}
    assert warning["report"] == {"eventIndex": 0, "cause": cause}


@pytest.mark.parametrize("url, status", [(INTERACT, 200), (COLLECT, 202), ("/edge/ee/v1/collect?configId=d", 200)])
def test_warnings_alone_never_make_a_207(client, url, status):
    response = client.post(url + "&__error=EXEG-0204-200", json={"events": [IDENTIFIED]} | EVENT)
    assert response.status_code == status
    assert "errors" not in response.json() and response.json()["warnings"]


def test_a_warning_still_delivers_the_answer_its_handle_included(client):
    # "Warnings ... did not impact the request to full extent ... the functionality is still delivered."
    asked = client.post(INTERACT + "&__error=EXEG-0204-200", json=EVENT).json()
    assert [h["type"] for h in asked["handle"]] == ["locationHint:result", "state:store"]
    assert asked["handle"][0]["payload"] == [{"scope": "EdgeNetwork", "hint": "or2", "ttlSeconds": 1800}]
    earned = client.post(INTERACT, json={**EVENT, "query": {"identity": {"fetch": ["ECID", "EMAIL"]}}}).json()
    assert earned["warnings"][0]["type"].endswith("EXEG-0303-200") and "'EMAIL'" in earned["warnings"][0]["detail"]
    handles = {h["type"]: h["payload"] for h in earned["handle"]}
    assert re.fullmatch(r"\d{38}", handles["identity:result"][0]["id"])  # the allowed namespace is fetched
    failed = client.post(INTERACT, json=EVENT, headers={"Prefer": "error=EXEG-0203-502, error=EXEG-0204-200"})
    assert failed.status_code == 207 and failed.json()["handle"] == []  # as the page's 207 example


def test_a_batch_fails_for_chosen_events_only(client):
    batch = {"events": [IDENTIFIED] * 4}
    everyone = client.post(COLLECT + "&__error=EXEG-0203-502", json=batch)
    assert [e["report"]["eventIndex"] for e in everyone.json()["errors"]] == [0, 1, 2, 3]
    chosen = client.post(COLLECT, json=batch, headers={"Prefer": "error=EXEG-0203-502", "X-Mock-Event-Index": "2, 0"})
    assert chosen.status_code == 207
    assert [e["report"]["eventIndex"] for e in chosen.json()["errors"]] == [2, 0]


@pytest.mark.parametrize("header", ["4", "2", "0,2", "a", "1,-1", "", "\u00b2", "1" * 5000])  # 2 events: 0 and 1
def test_a_bad_event_index_is_misuse(client, header):
    response = client.post(COLLECT + "&__error=EXEG-0203-502", json={"events": [IDENTIFIED, IDENTIFIED]},
                           headers={"X-Mock-Event-Index": header.encode("latin-1")})
    assert response.status_code == 400 and response.headers["x-mockserver-misuse"] == "1"


def test_a_fatal_error_wins_over_asked_upstream_errors(client):
    response = client.post(INTERACT + "&__error=EXEG-0201-503&__error=EXEG-0101-400", json=EVENT)
    assert_problem(response, 400, "EXEG-0101-400")


def test_a_natural_fatal_error_wins_over_asked_upstream_errors(client):
    response = client.post("/edge/ee/v2/interact?__error=EXEG-0201-503", json=EVENT)
    assert_problem(response, 400, "EXEG-0002-400")
    assert "preference-applied" not in response.headers  # RFC 7240: only what was applied


def test_silent_collect_reports_no_non_fatal_error(client):
    response = client.post(COLLECT + "&silent=true&__error=EXEG-0201-503", json={"events": [IDENTIFIED]})
    assert response.status_code == 204 and response.content == b""


# ---- __code -------------------------------------------------------------------------------
def test_code_207_picks_a_non_fatal_upstream_error(client):
    response = client.post(INTERACT + "&__code=207", json=EVENT)
    assert response.status_code == 207
    assert response.json()["errors"][0]["status"] in (502, 503, 504)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_code_5xx_and_429_answer_a_fatal_problem(client, status):
    response = client.post(INTERACT, json=EVENT, headers={"Prefer": f"code={status}"})
    assert_problem(response, status)
    assert ("retry-after" in response.headers) == (status in (429, 503))
    if status in (429, 503):  # the seconds of options.retry_after_seconds (1 in edge.yaml); 0 would say "at once"
        assert response.headers["retry-after"] == "1"


def test_code_200_gives_a_warning(client):
    response = client.post(INTERACT + "&__code=200", json=EVENT)
    assert response.status_code == 200 and response.json()["warnings"]


# ---- hosts -----------------------------------------------------------------------------------
def test_the_real_hosts_are_served_at_the_root(client):
    public = client.post("/ee/v2/interact?datastreamId=ds-1", json=EVENT, headers={"Host": "edge.adobedc.net"})
    assert public.status_code == 200
    private = client.post("/ee/v2/interact?datastreamId=ds-1", json=EVENT, headers={"Host": "server.adobedc.net"})
    assert_problem(private, 401, "EXEG-0500-401")


def _state(answer) -> list[dict[str, str]]:
    """The state entries of an answer, as a client sends them back in meta.state.entries."""
    return [{"key": e["key"], "value": e["value"]} for h in answer.json()["handle"] if h["type"] == "state:store"
            for e in h["payload"]]


def test_consent_belongs_to_the_visitor_whose_state_carries_it(client):
    alice = _state(client.post(INTERACT, json=EVENT))
    bob = _state(client.post(INTERACT, json=EVENT))
    opt_out = {"consent": [{"standard": "Adobe", "version": "1.0", "value": {"general": "out"}}]}
    out = client.post(CONSENT_URL, json={**opt_out, "meta": {"state": {"entries": alice}}})
    alice += _state(out)
    assert alice[-1]["value"] == "general=out"
    assert "warnings" not in client.post(INTERACT, json={**EVENT, "meta": {"state": {"entries": bob}}}).json()
    assert "warnings" not in client.post(INTERACT, json=EVENT).json()  # a new visitor
    for entries in (alice, alice[:-1]):  # her consent entry, or only her identity (her recorded choice)
        ignored = client.post(INTERACT, json={**EVENT, "meta": {"state": {"entries": entries}}}).json()
        assert [w["type"].rsplit("/", 1)[1] for w in ignored["warnings"]] == ["EXEG-0301-200"]
    cookie = "; ".join(f"{e['key']}={e['value']}" for e in alice if e["key"].endswith("_consent"))
    assert "warnings" in client.post(INTERACT, json=EVENT, headers={"Cookie": cookie}).json()


def test_a_consent_update_that_fails_upstream_keeps_the_visitors_choice(client):
    """EXEG-0307-502: 'An error occurred while updating user consent settings. Try again later.' The
    opt-out was not applied: no consent entry comes back, and the visitor is not ignored after it."""
    visitor = _state(client.post(INTERACT, json=EVENT))
    opt_out = {"consent": [{"standard": "Adobe", "version": "1.0", "value": {"general": "out"}}],
               "meta": {"state": {"entries": visitor}}}
    failed = client.post(CONSENT_URL + "&__error=EXEG-0307-502", json=opt_out)
    assert failed.status_code == 207 and failed.json()["handle"] == []
    assert "warnings" not in client.post(INTERACT, json={**EVENT, "meta": {"state": {"entries": visitor}}}).json()
    anonymous = client.post(CONSENT_URL + "&__error=EXEG-0307-502", json={"consent": opt_out["consent"]})
    assert anonymous.status_code == 207
    assert "warnings" not in client.post(INTERACT, json=EVENT).json()


def test_a_stateless_device_named_by_ecid_has_its_own_consent(client):
    """setConsent 'only uses the ECID from the identity map, as the command operates at device level': the
    opt-out of the device ECID 1...1 does not ignore the requests of the device ECID 2...2."""
    def identity(ecid):
        return {"ECID": [{"id": ecid, "authenticatedState": "ambiguous", "primary": True}]}
    opt_out = [{"standard": "Adobe", "version": "1.0", "value": {"general": "out"}}]
    assert client.post(CONSENT_URL, json={"identityMap": identity("1" * 38), "consent": opt_out}).status_code == 200
    ignored = client.post(INTERACT, json={"event": {"xdm": {"identityMap": identity("1" * 38)}}}).json()
    assert [w["type"].rsplit("/", 1)[1] for w in ignored["warnings"]] == ["EXEG-0301-200"]
    assert "warnings" not in client.post(INTERACT, json={"event": {"xdm": {"identityMap": identity("2" * 38)}}}).json()
    # A consent entry brought back without a value decides nothing: the device's recorded choice does.
    no_value = {"state": {"entries": [{"key": f"kndctr_{ORG}_consent", "value": None}]}}
    ignored = client.post(INTERACT, json={"event": {"xdm": {"identityMap": identity("1" * 38)}}, "meta": no_value})
    assert [w["type"].rsplit("/", 1)[1] for w in ignored.json()["warnings"]] == ["EXEG-0301-200"]


def _fetched_ecid(answer) -> str:
    [result] = [h for h in answer.json()["handle"] if h["type"] == "identity:result"]
    return str(result["payload"][0]["id"])


def test_an_ecid_the_request_brings_is_used_and_an_fpid_always_gives_the_same_ecid(client):
    """visitor-identification-fpid.md: 'the Edge Network uses the ECID already provided'; 'Obtaining an
    ECID from a specific FPID always yields the same result'; a new ECID only when an FPID comes alone."""
    fetch = {"query": {"identity": {"fetch": ["ECID"]}}}
    ecid = "12345678901234567890123456789012345678"

    def sent(namespace: str, value: object, **more) -> dict:
        identity = {namespace: [{"id": value, "primary": True}], **more}
        return {"event": {"xdm": {"identityMap": identity}}, **fetch}

    given = client.post(INTERACT, json=sent("ECID", ecid))
    assert _fetched_ecid(given) == ecid
    stored = {e["key"]: e["value"] for h in given.json()["handle"] if h["type"] == "state:store" for e in h["payload"]}
    assert base64.b64decode(stored["kndctr_53A16ACB5CC1D3760A495C99_AdobeOrg_identity"])[2:].decode() == ecid
    fpid = "123e4567-e89b-12d3-a456-426614174000"
    first, again = (_fetched_ecid(client.post(INTERACT, json=sent("FPID", fpid))) for _ in range(2))
    assert first == again and len(first) == 38 and first.isdigit() and first != ecid
    assert _fetched_ecid(client.post(INTERACT + "&__session=other", json=sent("FPID", fpid))) == first
    assert _fetched_ecid(client.post(INTERACT, json=sent("FPID", fpid, ECID=[{"id": ecid}]))) == ecid
    batch = {"xdm": {"identityMap": {"ECID": [{"id": ecid}]}}, "events": [{}], **fetch}  # the request's own xdm
    assert _fetched_ecid(client.post("/edge/ee/v1/interact?configId=ds-1", json=batch)) == ecid
    for namespace in ("ECID", "FPID"):  # an id that is not a string names no one: a new ECID each time
        minted = {_fetched_ecid(client.post(INTERACT, json=sent(namespace, int(ecid)))) for _ in range(2)}
        assert len(minted) == 2 and ecid not in minted
