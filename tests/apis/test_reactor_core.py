"""The Core extension a new web property comes with, as Adobe's SDK integration tests find the real API.

adobe/reactor-sdk-javascript test/integration/helpers.js creates a web property, then looks Core up
(getCoreExtension) and builds data elements and rule components on it without ever creating it.
"""

from __future__ import annotations

import json

import pytest

from tests.apis.test_reactor_flow import error_of
from tests.apis.test_reactor_support import ID, Reactor, assert_jsonapi


@pytest.fixture
def reactor(client) -> Reactor:  # type: ignore[no-untyped-def]
    return Reactor(client, session="core")


def core_body(package: str) -> dict:  # type: ignore[type-arg]
    return {"data": {"type": "extensions", "attributes": {"settings": "{}"},
                     "relationships": {"extension_package": {"data": {"id": package, "type": "extension_packages"}}}}}


def test_the_sdk_finds_core_on_a_fresh_web_property(reactor):
    created = reactor.post(f"/companies/{reactor.company()}/properties", {"data": {"type": "properties", "attributes": {
        "name": "Fresh", "platform": "web", "domains": ["testing.reactor.adobe.com"]}}})
    assert created.status_code == 201 and created.json()["data"]["type"] == "properties"  # the property, as before
    prop = created.json()["data"]["id"]
    core = reactor.extension(prop)  # helpers.js getCoreExtension: the filtered list, then by package id
    listed = reactor.get(f"/properties/{prop}/extensions").json()
    assert_jsonapi(listed)
    assert [e["id"] for e in listed["data"]] == [core]
    extension = reactor.get(f"/extensions/{core}").json()["data"]
    package = reactor.core_package()
    shown = reactor.get(f"/extension_packages/{package}").json()["data"]["attributes"]
    attributes = extension["attributes"]
    assert (attributes["name"], attributes["display_name"], attributes["version"]) == (
        "core", shown["display_name"], shown["version"])
    assert attributes["enabled"] is True and attributes["settings"] == "{}" and attributes["revision_number"] == 0
    assert attributes["delegate_descriptor_id"] is None and attributes["dirty"] is False
    # extensions.test.js "gets an Extension's ExtensionPackage" and "gets an Extension's Property"
    assert reactor.get(f"/extensions/{core}/extension_package").json()["data"]["id"] == package
    assert reactor.get(f"/extensions/{core}/property").json()["data"]["id"] == prop
    # audited as a client's create would be: the property's event, then Core's (newest first)
    events = reactor.get("/audit_events").json()["data"]
    assert [e["attributes"]["type_of"] for e in events] == ["extension.created", "property.created"]
    assert json.loads(events[0]["attributes"]["entity"])["data"]["id"] == core
    assert events[0]["relationships"]["property"]["data"]["id"] == prop


@pytest.mark.parametrize("platform", ["mobile", "edge"])
def test_mobile_and_edge_properties_get_no_web_core(reactor, platform):
    created = reactor.created(f"/companies/{reactor.company()}/properties", "properties",
                              {"name": f"App {platform}", "platform": platform})
    assert reactor.get(f"/properties/{created['id']}/extensions").json()["data"] == []


def test_a_data_element_made_on_core_builds(reactor):
    """helpers.js createTestDataElement on Core, then addCoreToLibrary (a revision of Core) and buildLibrary."""
    prop, library, _ = reactor.buildable()
    core = reactor.extension(prop)
    element = reactor.created(f"/properties/{prop}/data_elements", "data_elements", {
        "name": "jsvar", "delegate_descriptor_id": "core::dataElements::javascript-variable",
        "settings": '{"path":"data_layer.zomg.jsvar"}'}, extension=core)["id"]
    revision = reactor.patch(f"/extensions/{core}", {"data": {"id": core, "type": "extensions",
                                                              "meta": {"action": "revise"}}}).json()["data"]["id"]
    assert ID["extensions"].match(revision) and revision != core
    for kind, resource in (("extensions", revision), ("data_elements", element)):
        added = reactor.post(f"/libraries/{library}/relationships/{kind}", {"data": [{"id": resource, "type": kind}]})
        assert added.status_code == 200, added.text
    build = reactor.post(f"/libraries/{library}/builds").json()["data"]["id"]
    polled = reactor.get(f"/builds/{build}").json()["data"]
    assert polled["attributes"]["status"] == "succeeded" and "status_details" not in polled["meta"]


def test_core_is_not_installed_twice_when_a_client_creates_it_too(reactor):
    prop = reactor.property()
    core = reactor.extension(prop)
    # extensions.md: "no more than one installed instance of a given extension package"
    error = error_of(reactor.post(f"/properties/{prop}/extensions", core_body(reactor.core_package())), 422,
                     "not-unique", "/data/relationships/extension_package/data")
    # the reference's sentence, then this occurrence's
    assert error["detail"] == ("The name you are trying to use is already in use. For this resource, the 'name' "
                               "property must be unique. The property already has an extension of the package "
                               "`core`; a property holds one installed instance of a given extension package.")
    assert [e["id"] for e in reactor.get(f"/properties/{prop}/extensions").json()["data"]] == [core]
    # once deleted, it may be installed again (what extensions.test.js does with Analytics)
    assert reactor.delete(f"/extensions/{core}").status_code == 204
    again = reactor.post(f"/properties/{prop}/extensions", core_body(reactor.core_package()))
    assert again.status_code == 201, again.text
    assert reactor.extension(prop) == again.json()["data"]["id"] != core


def test_a_property_with_core_deletes_and_its_name_gets_a_new_property_with_its_own_core(reactor):
    prop = reactor.property("Gone")
    core = reactor.extension(prop)
    assert reactor.delete(f"/properties/{prop}").status_code == 204
    assert reactor.get(f"/properties/{prop}").status_code == 404
    assert reactor.get(f"/properties/{prop}/extensions").status_code == 404
    second = reactor.property("Gone")
    assert reactor.extension(second) != core
    assert reactor.get("/audit_events").json()["data"][0]["attributes"]["type_of"] == "extension.created"


def test_the_resources_of_a_deleted_property_are_gone_with_it(reactor):
    """Found by tests/apis/test_reactor_stateful.py: a deleted property's host, environment, library,
    rule and extension stayed readable (200) by id, and so did a rule deleted before it (with
    deleted_at). They belong to the property (every resource page lists it among the relationships),
    so they answer not-found with it."""
    prop = reactor.property("Doomed")
    host, extension = reactor.host(prop), reactor.extension(prop)
    deleted_first = reactor.rule(prop, "Deleted first")
    assert reactor.delete(f"/rules/{deleted_first}").status_code == 204
    assert reactor.get(f"/rules/{deleted_first}").status_code == 200  # deleted_at, while its property lives
    owned = [("hosts", host), ("environments", reactor.environment(prop, host)), ("libraries", reactor.library(prop)),
             ("rules", reactor.rule(prop)), ("extensions", extension),
             ("data_elements", reactor.data_element(prop, extension)), ("rules", deleted_first)]
    assert reactor.delete(f"/properties/{prop}").status_code == 204
    for kind, resource_id in owned:
        answer = reactor.get(f"/{kind}/{resource_id}")
        assert answer.status_code == 404, (kind, answer.text)
        assert answer.json()["errors"][0]["code"] == "not-found"
