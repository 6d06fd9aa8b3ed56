"""Garbage requests never produce a traceback or an undeclared 500 (hypothesis drives raw ASGI)."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.app import build_app
from mockserver.settings import Settings
from tests.apis.test_dcs_support import jwt

APP = build_app(Settings())
APP.runtime.ready = True
PATHS = ["/reactor/companies", "/reactor/properties/PR1", "/reactor/", "/nowhere", "/__admin/catalog",
         "/braze/users/track", "/braze/messages/send", "/braze/campaigns/trigger/send", "/dcs/event",
         "/edge/ee/v2/interact", "/edge/ee/v2/collect", "/edge/ee/or2/v2/interact",
         "/clientless/reggie/v1/REQ/regcode", "/clientless/api/v1/authorize", "/clientless/mvpd/mso/login",
         "/reactor/properties/PR1/rule_components", "/reactor/rules/RL1/rule_components", "/reactor/callbacks/CB1",
         "/reactor/audit_events", "/braze/users/delete", "/edge/ee/v1/identity/acquire",
         "/clientless/api/v1/authenticate/freepreview", "/__session/s1/braze/users/track", "/__session//dcs/event"]
PREFIXES = ["/reactor/", "/braze/", "/dcs/", "/edge/", "/clientless/", "/__session/"]  # a session name drawn too


def call(method: str, path: str, raw_path: bytes, query: bytes, headers: list[tuple[bytes, bytes]],
         body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict] = []
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]

    async def receive():
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": raw_path, "query_string": query, "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080)}
    asyncio.run(APP(scope, receive, send))
    start = sent[0]
    headers_sent = {name.lower(): value for name, value in start["headers"]}  # names as the app wrote them
    return start["status"], headers_sent, b"".join(m.get("body", b"") for m in sent[1:])


header_bytes = st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b)


@settings(max_examples=int(os.environ.get("GARBAGE_EXAMPLES", "600")), suppress_health_check=[HealthCheck.too_slow],
          deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path=st.one_of(st.sampled_from(PATHS), st.tuples(st.sampled_from(PREFIXES), st.text(max_size=30)).map("".join)),
    raw_path=st.binary(max_size=30),
    query=st.one_of(st.binary(max_size=60), st.sampled_from([b"__error=", b"__code=999", b"__seed=x", b"__zz=1",
                                                            b"__error=not-found&__error=read-only"])),
    headers=st.lists(st.tuples(st.sampled_from([b"authorization", b"content-type", b"prefer", b"x-mock-session",
                                                b"host", b"x-api-key", b"accept", b"x-forwarded-for", b"referer",
                                                b"cookie", b"content-length", b"origin",
                                                b"access-control-request-method",
                                                b"access-control-request-headers"]), header_bytes), max_size=6),
    body=st.one_of(st.binary(max_size=200), st.just(b"{" * 5000), st.just(b"\xff\xfe{}"),
                   st.just(json.dumps({"data": {"type": "x"}}).encode())),
)
def test_garbage_never_gives_a_traceback(method, path, raw_path, query, headers, body):
    status, response_headers, content = call(method, path, raw_path, query, headers, body)
    assert b"x-mockserver-internal-error" not in response_headers, content
    assert status != 500 or b"x-mockserver-misuse" not in response_headers
    if b"x-mockserver-misuse" in response_headers and method != "HEAD":
        assert b'"valid"' in content or b'"detail"' in content  # the mock's own complaints say what is wrong


def test_a_one_megabyte_body_and_deep_json_are_answered():
    auth = [(b"authorization", b"Bearer t"), (b"content-type", b"application/vnd.api+json")]
    for body in (b"x" * 1_000_000, b"[" * 100_000, b'{"a":' * 50_000):
        status, headers, _ = call("POST", "/reactor/companies", b"", b"", auth, body)
        assert b"x-mockserver-internal-error" not in headers and status < 500


# Valid requests of each API, as their pages show them: the mutation test below breaks one value at a time,
# which reaches the handlers' own reading of a body (random bytes rarely get past the JSON parser).
_AUTH = [(b"authorization", b"Bearer t"), (b"x-api-key", b"k"), (b"x-gw-ims-org-id", b"O@AdobeOrg")]
_JSON = [(b"content-type", b"application/json")]
_JSONAPI = [(b"content-type", b"application/vnd.api+json")]
VALID_BODIES = [
    ("/braze/messages/send", [(b"content-type", b"application/json")],
     {"external_user_ids": ["u1"], "campaign_id": "c1", "send_id": "s1",
      "messages": {"apple_push": {"alert": "hi", "badge": 1, "message_variation_id": "v1"},
                   "email": {"app_id": "a", "subject": "s", "body": "b", "message_variation_id": "v2"}}}),
    ("/braze/users/track", [(b"content-type", b"application/json")],
     {"attributes": [{"external_id": "u1", "first_name": "A", "email_subscribe": "opted_in"}],
      "events": [{"external_id": "u1", "name": "e", "time": "2026-01-01T00:00:00Z", "properties": {"k": [1]}}],
      "purchases": [{"external_id": "u1", "product_id": "p", "currency": "USD", "price": 1.5,
                     "time": "2026-01-01T00:00:00Z"}]}),
    ("/braze/campaigns/trigger/send", [(b"content-type", b"application/json")],
     {"campaign_id": "c1", "recipients": [{"external_user_id": "u1", "trigger_properties": {"a": 1}}],
      "schedule": {"time": "2026-01-01T00:00:00Z"}}),
    ("/reactor/companies/CO1/properties", [(b"content-type", b"application/vnd.api+json"),
                                           (b"accept", b"application/vnd.api+json;revision=1")],
     {"data": {"type": "properties", "attributes": {"name": "q", "platform": "web", "domains": ["example.com"]}}}),
    ("/reactor/properties/PR1/rules", [(b"content-type", b"application/vnd.api+json"),
                                       (b"accept", b"application/vnd.api+json;revision=1")],
     {"data": {"type": "rules", "attributes": {"name": "r"}}}),
    ("/edge/ee/v2/interact?datastreamId=ds1", [(b"content-type", b"application/json")],
     {"event": {"xdm": {"identityMap": {"ECID": [{"id": "1", "primary": True}]}, "eventType": "web.webpagedetails",
                        "timestamp": "2026-01-01T00:00:00Z"}, "data": {}},
      "query": {"identity": {"fetch": ["ECID"]}}, "meta": {"state": {"entries": [{"key": "k", "value": "v"}]}}}),
    ("/edge/ee/v2/collect?datastreamId=ds1", [(b"content-type", b"application/json")],
     {"events": [{"xdm": {"eventType": "x", "timestamp": "2026-01-01T00:00:00Z", "_id": "i",
                          "identityMap": {"ECID": [{"id": "1", "primary": True}]}}}]}),
    # what the fuzzing rounds of session 16 reached: a user named twice, exports, merges, updates, DCR
    ("/braze/users/track", [(b"content-type", b"application/json")],
     {"attributes": [{"external_id": "u1", "user_alias": {"alias_name": "a", "alias_label": "l"}, "n": {"inc": 1}}]}),
    ("/braze/users/export/ids", [(b"content-type", b"application/json")],
     {"external_ids": ["u1"], "user_aliases": [{"alias_name": "a", "alias_label": "l"}],
      "fields_to_export": ["email"]}),
    ("/braze/users/merge", [(b"content-type", b"application/json")],
     {"merge_updates": [{"identifier_to_merge": {"external_id": "a"}, "identifier_to_keep": {"external_id": "b"}}]}),
    ("/braze/messages/schedule/create", [(b"content-type", b"application/json")],
     {"external_user_ids": ["u1"], "schedule": {"time": "2030-01-01T00:00:00Z", "in_local_time": False},
      "messages": {"android_push": {"alert": "hi", "extra": {"k": "v"}}}}),
    ("PATCH /reactor/properties/PR1", [(b"content-type", b"application/vnd.api+json")],
     {"data": {"id": "PR1", "type": "properties", "attributes": {"name": "p", "domains": ["a.com"], "port": 22,
                                                                 "enabled": True}}}),
    ("PATCH /reactor/libraries/LB1", [(b"content-type", b"application/vnd.api+json")],
     {"data": {"id": "LB1", "type": "libraries", "meta": {"action": "submit"}}}),
    ("/clientless/o/client/register", [(b"content-type", b"application/json")],
     {"software_statement": "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6IngifQ.c2ln", "redirect_uris": ["x://y"]}),
    # every other JSON route of the five pages, in the form its page shows
    ("/braze/canvas/trigger/send", _JSON, {"canvas_id": "cv1", "recipients": [{"external_user_id": "u1",
     "canvas_entry_properties": {"a": 1}}], "broadcast": False}),
    ("/braze/campaigns/trigger/schedule/create", _JSON, {"campaign_id": "c1", "recipients": [
     {"external_user_id": "u1"}], "schedule": {"time": "2030-01-01T00:00:00Z", "at_optimal_time": False}}),
    ("/braze/canvas/trigger/schedule/update", _JSON, {"canvas_id": "cv1", "schedule_id": "s1",
     "schedule": {"time": "2030-01-01T00:00:00Z"}}),
    ("/braze/messages/schedule/delete", _JSON, {"schedule_id": "s1"}),
    ("/braze/sends/id/create", _JSON, {"campaign_id": "c1", "send_id": "s1"}),
    ("/braze/users/delete", _JSON, {"external_ids": ["u1"], "braze_ids": ["b1"],
     "user_aliases": [{"alias_name": "a", "alias_label": "l"}]}),
    ("/braze/users/alias/new", _JSON, {"user_aliases": [{"external_id": "u1", "alias_name": "a",
     "alias_label": "l"}]}),
    ("/braze/users/alias/update", _JSON, {"alias_updates": [{"alias_label": "l", "old_alias_name": "a",
     "new_alias_name": "b"}]}),
    ("/braze/users/identify", _JSON, {"aliases_to_identify": [{"external_id": "u1", "user_alias": {
     "alias_name": "a", "alias_label": "l"}}]}),
    ("/edge/ee/v1/interact?configId=ds1", _JSON, {"events": [{"xdm": {"eventType": "x"}, "data": {}}],
     "meta": {"konductorConfig": {"streaming": {"enabled": True}}}}),
    ("/edge/ee/v1/privacy/set-consent?configId=ds1", _JSON, {"identityMap": {"ECID": [{"id": "1"}]},
     "consent": [{"standard": "Adobe", "version": "2.0", "value": {"collect": {"val": "y"}}}]}),
    ("/edge/ee/v1/identity/acquire?configId=ds1", _JSON, {"query": {"identity": {"fetch": ["ECID"]}},
     "xdm": {"identityMap": {"ECID": [{"id": "1"}]}}}),
    ("/reactor/properties/PR1/hosts", _JSONAPI, {"data": {"type": "hosts", "attributes": {
     "name": "h", "type_of": "sftp", "server": "s.example", "port": 22, "path": "/", "username": "u",
     "encrypted_private_key": "k"}}}),
    ("/reactor/properties/PR1/environments", _JSONAPI, {"data": {"type": "environments", "attributes": {
     "name": "e", "stage": "development", "archive": False}, "relationships": {"host": {"data": {
     "id": "HT1", "type": "hosts"}}}}}),
    ("/reactor/properties/PR1/data_elements", _JSONAPI, {"data": {"type": "data_elements", "attributes": {
     "name": "d", "delegate_descriptor_id": "core::dataElements::custom-code", "settings": "{}",
     "default_value": "", "storage_duration": "pageview"}, "relationships": {"extension": {"data": {
     "id": "EX1", "type": "extensions"}}}}}),
    ("PUT /reactor/callbacks/CB1", _JSONAPI, {"data": {"id": "CB1", "type": "callbacks", "attributes": {
     "url": "https://example.com/cb", "subscriptions": ["rule.created"]}}}),
]


def _length(body: bytes) -> tuple[bytes, bytes]:
    return b"content-length", str(len(body)).encode()


WEIRD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                         st.floats(allow_nan=False), st.text(max_size=20), st.just("\ud800"), st.just("x" * 3000),
                         st.just([]), st.just({}), st.just([[[[None]]]]), st.just(10**400), st.just(1e308))


def _break_one_value(draw, value: object) -> object:
    """The value with one node somewhere below it replaced, removed or given a sibling."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["descend", "replace", "remove", "add"]))
        changed = dict(value)
        if action == "remove":
            del changed[key]
        elif action == "add":
            changed[draw(st.text(max_size=8))] = draw(WEIRD_VALUES)
        else:
            changed[key] = _break_one_value(draw, value[key]) if action == "descend" else draw(WEIRD_VALUES)
        return changed
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], _break_one_value(draw, value[index]), *value[index + 1:]]
    return draw(WEIRD_VALUES)


WRONG_TYPES = [None, True, 0, -1, 1e308, 10**400, "", "\ud800", "x" * 3000, [], [[]], {}, {"a": {}}]


def _replacements(value: object) -> list[object]:
    """The document with each node in turn (every member, every item, at any depth) given each wrong type."""
    found: list[object] = [wrong for wrong in WRONG_TYPES]
    if isinstance(value, dict):
        for key, member in value.items():
            found += [{**value, key: changed} for changed in _replacements(member)]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += [[*value[:index], changed, *value[index + 1:]] for changed in _replacements(item)]
    return found


def _reactor_ids() -> dict[str, str]:
    """Real resources for the Reactor documents' placeholders (CO1, PR1 ...), so their handlers are reached."""
    if _REACTOR_IDS:
        return _REACTOR_IDS

    def made(path: str, document: dict) -> str:
        body = json.dumps(document).encode()
        status, _, content = call("POST", path, path.encode(), b"", [*_AUTH, *_JSONAPI, _length(body)], body)
        assert status == 201, content
        return str(json.loads(content)["data"]["id"])

    _, _, listed = call("GET", "/reactor/companies", b"/reactor/companies", b"", _AUTH, b"")
    company = json.loads(listed)["data"][0]["id"]
    prop = made(f"/reactor/companies/{company}/properties",
                {"data": {"type": "properties", "attributes": {"name": "p", "platform": "web",
                                                               "domains": ["example.com"]}}})
    _REACTOR_IDS.update(CO1=company, PR1=prop, LB1=made(f"/reactor/properties/{prop}/libraries", {
        "data": {"type": "libraries", "attributes": {"name": "l"}}}), HT1=made(f"/reactor/properties/{prop}/hosts", {
        "data": {"type": "hosts", "attributes": {"name": "h", "type_of": "akamai"}}}),
        CB1=made(f"/reactor/properties/{prop}/callbacks", {"data": {"type": "callbacks", "attributes": {
            "url": "https://example.com/cb", "subscriptions": ["rule.created"]}}}))
    return _REACTOR_IDS


_REACTOR_IDS: dict[str, str] = {}


@pytest.mark.parametrize("request_", VALID_BODIES, ids=lambda r: r[0] if isinstance(r, tuple) else "")
def test_every_value_of_a_valid_body_given_every_wrong_type_never_gives_a_traceback(request_):
    """Exhaustive where the hypothesis test below samples: the fuzzing rounds found 500s at single nodes (an
    identifier given as an array beside a good one, an `exp` past a float) that random draws rarely reached."""
    target, headers, document = request_
    if "/reactor/" in target:  # the placeholders given the ids of real resources
        text = json.dumps([target, document])
        for placeholder, real in _reactor_ids().items():
            text = text.replace(placeholder, real)
        target, document = json.loads(text)
    method, _, target = target.rpartition(" ")
    path, _, query = target.partition("?")
    for broken in _replacements(document)[len(WRONG_TYPES):]:  # the whole body replaced: the garbage test's job
        body = json.dumps(broken).encode()
        status, response_headers, content = call(method or "POST", path, path.encode(), query.encode(),
                                                 [*_AUTH, *headers, _length(body)], body)
        assert b"x-mockserver-internal-error" not in response_headers, (broken, content)


@settings(max_examples=int(os.environ.get("GARBAGE_EXAMPLES", "600")), suppress_health_check=[HealthCheck.too_slow],
          deadline=None)
@given(data=st.data(), request=st.sampled_from(VALID_BODIES))
def test_a_valid_body_with_one_value_broken_never_gives_a_traceback(data, request):
    target, headers, document = request
    method, _, target = target.rpartition(" ")
    path, _, query = target.partition("?")
    body = json.dumps(_break_one_value(data.draw, document)).encode()
    status, response_headers, content = call(method or "POST", path, path.encode(), query.encode(),
                                             [*_AUTH, *headers, _length(body)], body)
    assert b"x-mockserver-internal-error" not in response_headers, content
    assert status < 500 or b"x-mockserver-misuse" not in response_headers, content


def test_a_lone_surrogate_escape_in_a_body_reads_as_the_replacement_character():
    # json.loads gives "\ud800" a character UTF-8 cannot carry; Braze's size check used to fail encoding it
    def send(alert: bytes) -> tuple[int, object]:
        body = b'{"external_user_ids": ["u1"], "messages": {"apple_push": {"alert": "%s"}}}' % alert
        status, headers, content = call("POST", "/braze/messages/send", b"", b"",
                                        [*_AUTH, (b"content-type", b"application/json"), _length(body)], body)
        assert b"x-mockserver-internal-error" not in headers, content
        return status, {k: v for k, v in json.loads(content).items() if k != "dispatch_id"}

    assert send(b"a\\ud800b") == send("a\ufffdb".encode()) == (201, {"message": "success"})
    too_long = b"x" * 1898  # {"alert":"..."} at 1,912 bytes, Apple's limit, with a 2-byte character, over with U+FFFD
    assert send(too_long + b"\\udfff")[0] == 400 and send(too_long + b"\\u00e9")[0] == 201


HUGE_EXP = jwt({"exp": 10**400})  # an integer past what a float holds (json.dumps writes its 401 digits)


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), [
    # an identifier where a string goes, as an array: named nobody (missing-user-identifier), not a TypeError
    ("POST", "/braze/users/track", {"Authorization": "Bearer k"}, {"attributes": [{"external_id": []}]}, 400),
    ("POST", "/braze/users/track", {"Authorization": "Bearer k"}, {"events": [{"external_id": {}}]}, 400),
    # a JWT whose exp no float holds: infinitely far, so not expired (Edge then wants its other credentials)
    ("GET", "/dcs/event?d_rtbd=json", {"Authorization": f"Bearer {HUGE_EXP}"}, None, 200),
    ("POST", "/edge/ee/v2/interact?datastreamId=ds1", {"Host": "server.adobedc.net", "x-api-key": "k",
     "x-gw-ims-org-id": "o", "Authorization": f"Bearer {HUGE_EXP}"}, {"event": {"xdm": {}}}, 200),
    # a decision no server printed (5,000 digits: past int()'s limit) is misuse, not a ValueError
    ("GET", "/dcs/event?__replay=seed=1;session=a;n=" + "9" * 5000 + ";fault=empty", {}, None, 400),
    # the second round, in situations the first did not reach
    ("POST", "/braze/users/track", {"Authorization": "Bearer k"},
     {"attributes": [{"external_id": [], "user_alias": {"alias_name": "a", "alias_label": "l"}}]}, 201),
    ("GET", "/braze/sends/data_series?campaign_id=c1&send_id=s&length=5&ending_at=0001-01-01T00:00:00Z",
     {"Authorization": "Bearer k"}, None, 200),
    ("POST", "/__admin/clock", {}, json.loads('{"freeze": 1' + "0" * 400 + "}"), 400),
    ("POST", "/__admin/modes", {}, b'{"mode": "\\ud800"}', 400),  # a lone surrogate, escaped as JSON allows
    ("POST", "/__admin/clock", {}, b'{"\\ud800": 1}', 400),
])
def test_what_the_fuzzer_found_is_answered_without_a_500(client, method, path, headers, body, status):
    """Found by fuzzing every route over HTTP (session 16): each was a 500 with a traceback in the log."""
    sent = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = client.request(method, path, headers=headers, **sent)
    assert answer.status_code == status and "x-mockserver-internal-error" not in answer.headers, answer.text


@pytest.mark.parametrize("seed", range(8))
def test_a_lognormal_delay_with_a_wide_sigma_is_cut_at_the_longest_fixed_delay(seed):
    """`lognormal:1,1000`: exp() overflowed (a 500) or drew a wait of centuries; now at most what `__delay` takes."""
    from mockserver.dispatch import MAX_DELAY_MS, delay_of
    from mockserver.engine.generate import Generator

    assert 0 <= delay_of("lognormal:1,1000", Generator(seed, "s", 1)) <= MAX_DELAY_MS


def test_a_package_whose_manifest_holds_a_lone_surrogate_is_stored_and_shown(client):
    """`"\\ud800"` in extension.json parsed to a string no UTF-8 carries: the upload, then every list of the
    session's packages, answered 500. It is shown as U+FFFD, as a JSON body's are."""
    from tests.apis.test_reactor_support import Reactor, extension_zip

    reactor = Reactor(client)
    manifest = json.loads('{"name": "x\\ud800", "platform": "web", "iconPath": "\\ud800.svg"}')
    headers = {k: v for k, v in reactor.headers.items() if k != "Content-Type"}
    made = client.post("/reactor/extension_packages", headers=headers,
                       files={"package": ("p.zip", extension_zip(manifest), "application/zip")})
    assert made.status_code == 201, made.text
    listed = reactor.get("/extension_packages")
    assert listed.status_code == 200 and "x\ufffd" in listed.json()["data"][-1]["attributes"]["name"]


def test_a_library_transition_that_is_not_a_string_is_a_syntax_error(client):
    from tests.apis.test_reactor_support import Reactor

    reactor = Reactor(client)
    library = reactor.library(reactor.property())
    for action in ([], {}):
        answer = reactor.patch(f"/libraries/{library}", {"data": {"id": library, "type": "libraries",
                                                                  "meta": {"action": action}}})
        assert answer.status_code == 422 and answer.json()["errors"][0]["code"] == "invalid-settings-syntax"


def test_a_blank_regcode_ttl_is_no_ttl_and_a_statement_nested_past_the_stack_names_no_software(client):
    """`ttl=%20` passed the ttl check (blank: none given) and then failed int(); a software statement whose payload
    is `[[[...]]]` 100,000 deep was a RecursionError: one answers the default ttl, the other what any statement whose
    payload is not JSON gets."""
    import base64

    made = client.post("/clientless/reggie/v1/R/regcode", headers={"Authorization": "Bearer t"},
                       data={"deviceId": "d", "ttl": " "})
    assert made.status_code == 201, made.text
    payload = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).rstrip(b"=").decode()
    statement = f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"
    registered = client.post("/clientless/o/client/register", json={"software_statement": statement})
    assert registered.status_code < 500 and "x-mockserver-internal-error" not in registered.headers, registered.text


def test_an_attribute_counted_past_a_double_is_kept_as_it_was(client):
    """`{"inc": 1e308}` twice made Infinity, which the export printed as `Infinity`: not JSON."""
    headers = {"Authorization": "Bearer k", "X-Mock-Session": "inf"}
    for _ in range(2):
        tracked = {"attributes": [{"external_id": "u1", "n": {"inc": 1e308}}]}
        client.post("/braze/users/track", headers=headers, json=tracked)
    exported = client.post("/braze/users/export/ids", headers=headers, json={"external_ids": ["u1"]})
    assert exported.status_code == 201 and b"Infinity" not in exported.content
    assert exported.json()["users"][0]["custom_attributes"]["n"] == 1e308


@pytest.mark.parametrize(("path", "attributes", "pointer"), [
    ("/properties/{property}", {"name": None}, "/data/attributes/name"),  # required: not emptied by an update
    ("/properties/{property}", {"domains": 5}, "/data/attributes/domains"),
    ("/properties/{property}", {"name": {"a": {}}}, "/data/attributes/name"),
    ("/properties/{property}", {"ssl_enabled": "yes"}, "/data/attributes/ssl_enabled"),
])
def test_a_reactor_attribute_of_the_wrong_type_is_a_syntax_error(client, path, attributes, pointer):
    """Accepted and stored before (a name that is an object, domains that are a number)."""
    from tests.apis.test_reactor_support import Reactor

    reactor = Reactor(client)
    prop = reactor.property()
    url = path.format(property=prop)
    answer = reactor.patch(url, {"data": {"id": prop, "type": "properties", "attributes": attributes}})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["code"] == "invalid-settings-syntax" and error["source"]["pointer"] == pointer
    created = reactor.post(f"/companies/{reactor.company()}/properties",
                           {"data": {"type": "properties", "attributes": {"name": {"a": 1}, "platform": "web"}}})
    assert created.status_code == 422 and created.json()["errors"][0]["source"]["pointer"] == "/data/attributes/name"


def test_a_header_template_echoing_a_request_crlf_is_the_mocks_500_not_a_dropped_connection(tmp_path, make_client):
    """uvicorn and hypercorn refuse to send CR LF in a header value: the connection was dropped with a traceback in
    the log. The mock's declared 500 says why; so for a status template that renders no HTTP status."""
    (tmp_path / "echo.yaml").write_text(
        "api: dcs\nroutes:\n  - id: echo\n    method: GET\n    path: /echo\n    respond:\n"
        "      status: \"{{ request.query.s | default(200) }}\"\n"
        "      headers: {X-Echo: \"{{ request.query.h | default('x') }}\"}\n      body: {ok: true}\n")
    client = make_client(scenarios=(str(tmp_path),))
    assert client.get("/dcs/echo?h=fine").status_code == 200
    for query in ("h=a%0d%0aSet-Cookie:%20x=1", "s=1000", "s=0"):
        answer = client.get(f"/dcs/echo?{query}")
        assert answer.status_code == 500 and answer.headers["x-mockserver-internal-error"] == "1", query
        assert "set-cookie" not in answer.headers
