"""Reactor's rule components, callbacks and audit events, as their endpoint pages and Adobe's SDK use them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.apis.test_reactor_flow import error_of
from tests.apis.test_reactor_support import ID, Reactor, assert_jsonapi

# rule-components.md, "Look up a rule component": the members of `relationships`
RC_RELATIONSHIPS = {"updated_with_extension_package", "updated_with_extension", "extension", "notes", "origin",
                    "property", "rules"}


@pytest.fixture
def reactor(client) -> Reactor:  # type: ignore[no-untyped-def]
    return Reactor(client)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    assert_jsonapi(response.json())
    return [item["id"] for item in response.json()["data"]]


def base(reactor: Reactor) -> tuple[str, str, str]:
    """A property with the Core extension and one rule, as the SDK's rule component test starts."""
    prop = reactor.property()
    return prop, reactor.extension(prop), reactor.rule(prop)


def component_body(extension: str, rules: list[str], **attributes: Any) -> dict[str, Any]:
    return {"data": {"type": "rule_components",
                     "attributes": {"name": "Click", "delegate_descriptor_id": "core::events::click", **attributes},
                     "relationships": {"extension": {"data": {"id": extension, "type": "extensions"}},
                                       "rules": {"data": [{"id": r, "type": "rules"} for r in rules]}}}}


# -- rule components ------------------------------------------------------------------------------
def test_rule_components_as_the_sdk_integration_test_uses_them(reactor, client):
    client.post("/__admin/clock", json={"freeze": True})
    prop, extension, rule = base(reactor)
    created = reactor.rule_component(prop, extension, [rule], "Kamas")
    assert_jsonapi({"data": created})
    assert set(created["relationships"]) == RC_RELATIONSHIPS
    assert created["relationships"]["extension"]["data"] == {"id": extension, "type": "extensions"}
    assert created["relationships"]["origin"]["data"] == {"id": created["id"], "type": "rule_components"}
    assert created["attributes"]["order"] == 1 and created["attributes"]["dirty"] is True
    assert created["attributes"]["rule_order"] == 50.0 and created["meta"] == {"latest_revision_number": 0}
    magna = reactor.rule_component(prop, extension, [rule], "Magna")["id"]
    sandy = reactor.rule_component(prop, extension, [rule], "Sandy")["id"]
    assert ids(reactor.get(f"/rules/{rule}/rule_components")) == [created["id"], magna, sandy]
    filtered = reactor.get(f"/rules/{rule}/rule_components", params={"filter[name]": "CONTAINS amas,CONTAINS andy"})
    assert ids(filtered) == [created["id"], sandy]
    rc = created["id"]
    assert reactor.get(f"/rule_components/{rc}").json()["data"]["attributes"]["name"] == "Kamas"
    assert reactor.get(f"/rule_components/{rc}/extension").json()["data"]["id"] == extension
    assert ids(reactor.get(f"/rule_components/{rc}/rules")) == [rule]
    assert reactor.get(f"/rule_components/{rc}/origin").json()["data"]["id"] == rc
    assert reactor.get(f"/rule_components/{rc}/property").json()["data"]["id"] == prop
    package = reactor.get(f"/rule_components/{rc}/updated_with_extension_package").json()["data"]
    assert package["type"] == "extension_packages"
    assert reactor.get(f"/rules/{rule}").json()["data"]["relationships"]["rule_components"]["links"]["related"] \
        .endswith(f"/rules/{rule}/rule_components")


def test_updating_a_rule_component_touches_its_rule_and_deleting_it_is_soft(reactor, client):
    client.post("/__admin/clock", json={"freeze": True})
    prop, extension, rule = base(reactor)
    rc = reactor.rule_component(prop, extension, [rule], "Ophir")["id"]
    before = reactor.get(f"/rules/{rule}").json()["data"]["attributes"]["updated_at"]
    client.post("/__admin/clock", json={"advance": "5s"})
    patched = reactor.patch(f"/rule_components/{rc}", {"data": {
        "id": rc, "type": "rule_components", "attributes": {"name": "Updated Ophir", "order": 8, "negate": True}}})
    assert patched.status_code == 200, patched.text
    attributes = reactor.get(f"/rule_components/{rc}").json()["data"]["attributes"]
    assert (attributes["name"], attributes["order"], attributes["negate"]) == ("Updated Ophir", 8, False)
    assert reactor.get(f"/rules/{rule}").json()["data"]["attributes"]["updated_at"] > before
    deleted = reactor.delete(f"/rule_components/{rc}")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = reactor.get(f"/rule_components/{rc}")
    assert gone.status_code == 200 and gone.json()["data"]["attributes"]["deleted_at"] is not None
    assert ids(reactor.get(f"/rules/{rule}/rule_components")) == []
    error_of(reactor.patch(f"/rule_components/{rc}", {"data": {"id": rc, "type": "rule_components",
                                                              "attributes": {"order": 2}}}), 404, "not-found", "/data")


@pytest.mark.parametrize("descriptor", ["core::dataElements::cookie", "other::events::click", "core::events::",
                                        "core::events", "core::::click", "click"])
def test_a_delegate_the_extension_does_not_provide_is_unresolved(reactor, descriptor):
    prop, extension, rule = base(reactor)
    path = f"/properties/{prop}/rule_components"
    error_of(reactor.post(path, component_body(extension, [rule], delegate_descriptor_id=descriptor)), 422,
             "delegate-descriptor-unresolved", "/data/attributes/delegate_descriptor_id")
    rc = reactor.rule_component(prop, extension, [rule])["id"]
    patch = {"data": {"id": rc, "type": "rule_components", "attributes": {"delegate_descriptor_id": descriptor}}}
    error_of(reactor.patch(f"/rule_components/{rc}", patch), 422, "delegate-descriptor-unresolved",
             "/data/attributes/delegate_descriptor_id")
    assert reactor.get(f"/rule_components/{rc}").json()["data"]["attributes"]["delegate_descriptor_id"] \
        == "core::events::click"


def test_a_rule_component_against_its_documented_form(reactor):
    prop, extension, rule = base(reactor)
    path = f"/properties/{prop}/rule_components"
    for settings_value in ("{not json", "[1, 2]", {"a": 1}):
        error_of(reactor.post(path, component_body(extension, [rule], settings=settings_value)), 422,
                 "invalid-settings-syntax", "/data/attributes/settings")
    for missing in ("name", "delegate_descriptor_id"):
        body = component_body(extension, [rule])
        del body["data"]["attributes"][missing]
        error_of(reactor.post(path, body), 422, "invalid-settings-syntax", f"/data/attributes/{missing}")
    error_of(reactor.post(path, component_body(extension, [])), 422, "invalid-settings-syntax",
             "/data/relationships/rules/data")
    error_of(reactor.post(path, component_body(extension, [rule, "RL" + "0" * 32])), 404, "not-found",
             "/data/relationships/rules/data/1")
    error_of(reactor.post(path, component_body("EX" + "0" * 32, [rule])), 404, "not-found",
             "/data/relationships/extension/data")
    other_rule = reactor.rule(reactor.property("Other"))
    error_of(reactor.post(path, component_body(extension, [other_rule])), 404, "not-found",
             "/data/relationships/rules/data/0")
    custom = component_body(extension, [rule], delegate_descriptor_id="core::actions::custom-code",
                            settings='{"language": "python", "source": "x"}')
    error_of(reactor.post(path, custom), 422, "unsupported-custom-code-language", "/data/attributes/settings")
    custom["data"]["attributes"]["settings"] = '{"language": "javascript", "source": "x"}'
    assert reactor.post(path, custom).status_code == 201
    # rule-components.md lists components by rule only
    error_of(reactor.get(path), 404, "not-found", "/data")


# -- callbacks ------------------------------------------------------------------------------------
def test_callbacks_as_the_sdk_integration_test_uses_them(reactor):
    prop = reactor.property()
    path = f"/properties/{prop}/callbacks"
    watch = ["rule.created", "rule.updated", "rule.deleted"]
    made = []
    for url in ("https://eleanor.com/", "https://chidi.com/"):
        # the SDK's createCallback (and callbacks.md's example) sends no `type`
        response = reactor.post(path, {"data": {"attributes": {"url": url, "subscriptions": watch}}})
        assert response.status_code == 201, response.text
        assert_jsonapi(response.json())
        data = response.json()["data"]
        assert ID["callbacks"].match(data["id"]) and data["attributes"]["url"] == url
        assert data["attributes"]["subscriptions"] == watch
        assert data["relationships"] == {"property": {"links": {"related": f"{reactor.client.base_url}/reactor"
                                                                           f"/callbacks/{data['id']}/property"},
                                                      "data": {"id": prop, "type": "properties"}}}
        made.append(data["id"])
    assert ids(reactor.get(path)) == made
    assert reactor.get(f"/callbacks/{made[0]}/property").json()["data"]["id"] == prop
    patched = reactor.patch(f"/callbacks/{made[0]}", {"data": {"id": made[0], "type": "callbacks", "attributes": {
        "url": "https://michael.com", "subscriptions": ["rule.deleted"]}}})
    assert patched.status_code == 200 and patched.json()["data"]["attributes"]["subscriptions"] == ["rule.deleted"]
    put = reactor.request("PUT", f"/callbacks/{made[1]}", {"data": {"id": made[1], "type": "callbacks", "attributes": {
        "subscriptions": ["rule.created", "build.created"]}}})
    assert put.status_code == 200, put.text
    assert reactor.get(f"/callbacks/{made[1]}").json()["data"]["attributes"] == {
        **put.json()["data"]["attributes"], "url": "https://chidi.com/", "subscriptions": ["rule.created",
                                                                                        "build.created"]}
    assert reactor.delete(f"/callbacks/{made[0]}").status_code == 204
    error_of(reactor.get(f"/callbacks/{made[0]}"), 404, "not-found", "/data")
    assert ids(reactor.get(path)) == [made[1]]
    error_of(reactor.request("PUT", f"/properties/{prop}", {"data": {"id": prop, "type": "properties"}}), 404,
             "not-found", "/data")


@pytest.mark.parametrize("attributes,pointer", [
    ({"url": "http://example.com", "subscriptions": ["rule.created"]}, "/data/attributes/url"),
    ({"url": "https://", "subscriptions": ["rule.created"]}, "/data/attributes/url"),
    ({"url": 42, "subscriptions": ["rule.created"]}, "/data/attributes/url"),
    ({"url": "https://exa mple.com", "subscriptions": ["rule.created"]}, "/data/attributes/url"),
    ({"url": "ht\ttps://example.com", "subscriptions": ["rule.created"]}, "/data/attributes/url"),
    ({"url": "https://example.com/\x7f", "subscriptions": ["rule.created"]}, "/data/attributes/url"),  # DEL
    ({"url": "https://example.com", "subscriptions": "rule.created"}, "/data/attributes/subscriptions"),
    ({"url": "https://example.com", "subscriptions": ["rule.created", "rule.published"]},
     "/data/attributes/subscriptions/1"),
    ({"url": "https://example.com", "subscriptions": [7]}, "/data/attributes/subscriptions/0"),
    ({"url": "https://example.com"}, "/data/attributes/subscriptions"),
    ({"subscriptions": ["rule.created"]}, "/data/attributes/url"),
])
def test_a_callback_outside_its_documented_form_is_refused(reactor, attributes, pointer):
    prop = reactor.property()
    error = error_of(reactor.post(f"/properties/{prop}/callbacks", {"data": {"type": "callbacks",
                                                                             "attributes": attributes}}),
                     422, "invalid-settings-syntax", pointer)
    assert error["detail"]
    good = reactor.post(f"/properties/{prop}/callbacks", {"data": {"attributes": {
        "url": "https://example.com", "subscriptions": ["rule.created"]}}}).json()["data"]["id"]
    if "url" in attributes and "subscriptions" in attributes:
        patch = {"data": {"id": good, "type": "callbacks", "attributes": attributes}}
        error_of(reactor.patch(f"/callbacks/{good}", patch), 422, "invalid-settings-syntax", pointer)
    error_of(reactor.post(f"/properties/{prop}/callbacks", {"data": {"type": "rules", "attributes": {
        "url": "https://example.com", "subscriptions": ["rule.created"]}}}), 422, "invalid-settings-syntax",
        "/data/type")


def only_property(reactor: Reactor) -> str:
    """The session's one property (hypothesis runs many examples in one session; names are unique)."""
    existing = reactor.get(f"/companies/{reactor.company()}/properties").json()["data"]
    return str(existing[0]["id"]) if existing else reactor.property()


def post_callback(reactor: Reactor, url: Any, subscription: Any) -> Any:
    return reactor.post(f"/properties/{only_property(reactor)}/callbacks",
                        {"data": {"attributes": {"url": url, "subscriptions": [subscription]}}})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.one_of(st.text(max_size=40), st.text(max_size=20).map(lambda rest: "https://" + rest)),
       subscription=st.one_of(st.text(max_size=20), st.text(max_size=12).map(lambda rest: rest + ".created")))
def test_any_callback_is_created_as_sent_or_refused_with_a_pointer(reactor, url, subscription):
    response = post_callback(reactor, url, subscription)
    if response.status_code == 201:
        attributes = response.json()["data"]["attributes"]
        assert attributes["url"] == url and attributes["subscriptions"] == [subscription]
        assert url.lower().startswith("https://") and not any(c.isspace() for c in url)
        assert subscription.rsplit(".", 1)[-1] in ("created", "updated", "deleted")
    else:
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["code"] == "invalid-settings-syntax" and error["detail"]
        assert error["source"]["pointer"] in ("/data/attributes/url", "/data/attributes/subscriptions/0")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.from_regex(r"\A(https|HTTPS|Https)://[a-z0-9]{1,10}(\.[a-z]{2,5}){0,2}(:[0-9]{1,4})?(/[A-Za-z0-9._~%-]{0,10}){0,3}"
                         r"(\?[a-z]=[a-z0-9]{0,5})?\Z"),
       subscription=st.from_regex(r"\A(property|rule_component|data_element|build|app_configuration)\."
                                  r"(created|updated|deleted)\Z"))
def test_every_documented_form_of_callback_is_accepted(reactor, url, subscription):
    response = post_callback(reactor, url, subscription)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["attributes"] == {**response.json()["data"]["attributes"], "url": url,
                                                     "subscriptions": [subscription]}


# -- audit events ---------------------------------------------------------------------------------
def test_changes_leave_audit_events_newest_first(reactor):
    prop, extension, rule = base(reactor)
    rc = reactor.rule_component(prop, extension, [rule])["id"]
    reactor.patch(f"/rules/{rule}", {"data": {"id": rule, "type": "rules", "attributes": {"name": "Renamed"}}})
    assert reactor.delete(f"/rule_components/{rc}").status_code == 204
    reactor.post(f"/properties/{prop}/callbacks", {"data": {"attributes": {"url": "https://example.com",
                                                                          "subscriptions": ["rule.created"]}}})
    listed = reactor.get("/audit_events", params={"page[size]": 100})
    assert_jsonapi(listed.json())
    events = listed.json()["data"]
    assert [e["attributes"]["type_of"] for e in events] == [
        "rule_component.deleted", "rule.updated", "rule_component.created", "rule.created", "extension.created",
        "property.created"]
    assert listed.json()["meta"]["pagination"]["total_count"] == 6
    renamed = events[1]
    assert ID["audit_events"].match(renamed["id"])
    assert renamed["attributes"]["display_name"] == "Renamed"
    assert renamed["attributes"]["attributed_to_email"] == reactor.get("/profile").json()["data"]["attributes"][
        "email"]
    entity = json.loads(renamed["attributes"]["entity"])
    assert entity["data"]["id"] == rule and entity["data"]["attributes"]["name"] == "Renamed"
    assert renamed["relationships"]["entity"]["data"] == {"id": rule, "type": "rules"}
    assert renamed["relationships"]["property"]["data"] == {"id": prop, "type": "properties"}
    assert renamed["meta"] == {"property_name": "Prop"}
    one = reactor.get(f"/audit_events/{renamed['id']}").json()["data"]
    assert one == renamed
    assert reactor.get(f"/audit_events/{renamed['id']}/entity").json()["data"]["id"] == rule
    assert reactor.get(f"/audit_events/{renamed['id']}/property").json()["data"]["id"] == prop
    deleted = reactor.get(f"/audit_events/{events[0]['id']}/entity").json()["data"]
    assert deleted["id"] == rc and deleted["attributes"]["deleted_at"] is not None
    created = reactor.get("/audit_events", params={"filter[type_of]": "EQ rule.created"})
    assert ids(created) == [events[3]["id"]]
    error_of(reactor.patch(f"/audit_events/{renamed['id']}", {"data": {"id": renamed["id"],
                                                                       "type": "audit_events"}}), 403, "read-only")
    error_of(reactor.delete(f"/audit_events/{renamed['id']}"), 403, "read-only")
    error_of(reactor.get(f"/audit_events/AE{'0' * 32}"), 404, "not-found", "/data")
    assert ids(Reactor(reactor.client, session="elsewhere").get("/audit_events")) == []


def test_a_build_is_audited_when_it_starts(reactor):
    _, library, _ = reactor.buildable()
    build = reactor.post(f"/libraries/{library}/builds").json()["data"]["id"]
    newest = reactor.get("/audit_events").json()["data"][0]
    assert newest["attributes"]["type_of"] == "build.created"
    assert newest["relationships"]["entity"]["data"] == {"id": build, "type": "builds"}


# -- errors by flag on the new routes -------------------------------------------------------------
@pytest.mark.parametrize("method,path,error_id", [
    ("GET", "/audit_events", "internal-error"),
    ("GET", "/audit_events", "not-authorized"),
    ("POST", "/properties/{prop}/rule_components", "delegate-descriptor-unresolved"),
    ("POST", "/properties/{prop}/callbacks", "invalid-settings-syntax"),
    ("PUT", "/callbacks/CB{zeros}", "not-found"),
])
def test_errors_asked_by_flag_on_the_new_routes(reactor, method, path, error_id):
    prop = reactor.property()
    url = path.format(prop=prop, zeros="0" * 32)
    response = reactor.request(method, url, {"data": {}}, params={"__error": error_id})
    assert response.json()["errors"][0]["code"] == error_id


def test_code_flag_picks_a_documented_error_the_new_routes_name(reactor):
    assert reactor.get("/audit_events", params={"__code": "500"}).json()["errors"][0]["code"] == "internal-error"
    put = reactor.request("PUT", f"/callbacks/CB{'0' * 32}", {"data": {}}, params={"__code": "404"})
    assert put.status_code == 404 and put.json()["errors"][0]["code"] == "not-found"


@pytest.mark.parametrize("kind", ["rules", "data_elements"])
def test_deleted_rules_and_data_elements_stay_readable_with_meta_deleted_at(reactor, kind):
    """rules.test.js and data-elements.test.js of Adobe's SDK: read after delete, `meta.deleted_at` set."""
    prop, extension, rule = base(reactor)
    made = rule if kind == "rules" else reactor.data_element(prop, extension)
    assert reactor.delete(f"/{kind}/{made}").status_code == 204
    gone = reactor.get(f"/{kind}/{made}")
    assert gone.status_code == 200, gone.text
    assert gone.json()["data"]["meta"]["deleted_at"] is not None
    assert made not in ids(reactor.get(f"/properties/{prop}/{kind}"))  # out of the lists
    patched = reactor.patch(f"/{kind}/{made}", {"data": {"id": made, "type": kind, "attributes": {"name": "x"}}})
    error_of(patched, 404, "not-found", "/data")


@pytest.mark.parametrize("relationships, pointer", [
    ({"host": {"data": {"id": 123, "type": "hosts"}}}, "/data/relationships/host/data"),
    ({"host": {"data": {"id": "HT0123456789abcdef0123456789abcdef"}}}, "/data/relationships/host/data"),
    ({"host": {"data": "HT0123456789abcdef0123456789abcdef"}}, "/data/relationships/host/data"),
    ({"host": "HT0123456789abcdef0123456789abcdef"}, "/data/relationships/host"),
    ({"host": {"data": [{"id": "HT0123456789abcdef0123456789abcdef", "type": "hosts"}]}},
     "/data/relationships/host/data"),  # an array for a to-one
    ({"a/b~": {"data": [{"id": "x", "type": "y"}, 7]}}, "/data/relationships/a~1b~0/data/1"),
    ("bad", "/data/relationships"),
])
def test_a_malformed_relationship_is_a_syntax_error_not_left_out(reactor, relationships, pointer):
    """An environment made with a host given as a number, a bare id or an object without `data` used to be created
    with no host at all (201), found out only when a build said host-required."""
    prop = reactor.property()
    body = {"data": {"type": "environments", "attributes": {"name": "e", "stage": "development"},
                     "relationships": relationships}}
    error_of(reactor.post(f"/properties/{prop}/environments", body), 422, "invalid-settings-syntax", pointer)
    environment = reactor.environment(prop, None)
    error_of(reactor.patch(f"/environments/{environment}", {**body, "data": {**body["data"], "id": environment}}),
             422, "invalid-settings-syntax", pointer)
    none = {"data": {"type": "environments", "attributes": {"name": "f", "stage": "development"},
                     "relationships": {"host": {"data": None}}}}
    assert reactor.post(f"/properties/{prop}/environments", none).status_code == 201  # null: no host, as JSON:API


def test_a_resource_read_back_is_taken_as_it_was_printed(reactor):
    """The members without `data` (builds, library, property: `links` only) say nothing and are let be, as is
    `relationships: null`: what a GET printed, PATCHed back unchanged, is 200."""
    prop = reactor.property()
    environment = reactor.environment(prop, reactor.host(prop))
    printed = reactor.get(f"/environments/{environment}").json()["data"]
    assert any("data" not in member for member in printed["relationships"].values())
    assert reactor.patch(f"/environments/{environment}", {"data": printed}).status_code == 200
    bare = {"data": {"id": environment, "type": "environments", "attributes": {"name": "n"}, "relationships": None}}
    assert reactor.patch(f"/environments/{environment}", bare).status_code == 200


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_settings_holding_nan_or_infinity_are_not_json(reactor, constant):
    """RFC 8259 section 6: NaN and Infinity are not JSON numbers; Python's own parser took them."""
    prop, extension, _ = base(reactor)
    body = {"data": {"type": "data_elements",
                     "attributes": {"name": "d", "delegate_descriptor_id": "core::dataElements::javascript-variable",
                                    "settings": json.dumps({"a": 1})[:-1] + f', "b": {constant}}}'},
                     "relationships": {"extension": {"data": {"id": extension, "type": "extensions"}}}}}
    error_of(reactor.post(f"/properties/{prop}/data_elements", body), 422, "invalid-settings-syntax",
             "/data/attributes/settings")


def test_links_keep_a_session_asked_in_the_query(client):
    """`?__session=` is not sent again by a client that follows a link: the links carry it as the path form."""
    reactor = Reactor(client, session="unused")
    del reactor.headers["X-Mock-Session"]
    company = reactor.get("/companies?__session=qs1").json()["data"][0]
    related = company["relationships"]["properties"]["links"]["related"]
    assert urlsplit(related).path.startswith("/__session/qs1/reactor/companies/")
    assert client.get(urlsplit(related).path, headers=reactor.headers).status_code == 200
    assert client.get("/__admin/requests?session=qs1").json()["count"] == 2  # both in the session asked
    plain = reactor.get("/companies", headers={"X-Mock-Session": "qs1"}).json()["data"][0]
    assert urlsplit(plain["relationships"]["properties"]["links"]["related"]).path.startswith("/reactor/")
