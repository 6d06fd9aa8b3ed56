"""Reactor without flags: the gateway, resources, library rules and the publishing flow."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.cli import main
from mockserver.scenario.read import ScenarioError
from tests.apis.test_reactor_support import ID, JSONAPI, Reactor, assert_jsonapi, links_of


@pytest.fixture
def reactor(client) -> Reactor:  # type: ignore[no-untyped-def]
    return Reactor(client)


def error_of(response, status: int, code: str, pointer: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSONAPI
    assert_jsonapi(response.json())
    error = response.json()["errors"][0]
    assert error["code"] == code and error["status"] == str(status)
    assert error.get("source") == ({"pointer": pointer} if pointer is not None else None)
    return dict(error)


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer  ", "Basic dXNlcjpwYXNz", "token abc"])
def test_missing_or_malformed_authorization_is_authentication_failure(reactor, authorization):
    headers = {k: v for k, v in reactor.headers.items() if k != "Authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    for path in ("/reactor/companies", "/reactor/properties/PR0123", "/reactor/no/such/route"):
        error_of(reactor.client.get(path, headers=headers), 401, "authentication-failure")


def test_missing_api_key_gets_the_gateway_answer_not_a_jsonapi_error(reactor):
    headers = {k: v for k, v in reactor.headers.items() if k != "X-Api-Key"}
    response = reactor.client.get("/reactor/companies", headers=headers)
    assert response.status_code == 403 and response.headers["content-type"] == "application/json"
    assert response.json() == {"error_code": "403000", "message": "Api Key is required"}


def test_the_org_header_is_optional_unless_the_user_requires_it(make_client, tmp_path):
    headers = {k: v for k, v in Reactor(None).headers.items()}
    assert make_client().get("/reactor/companies", headers=headers).status_code == 200
    (tmp_path / "mine.yaml").write_text("api: reactor\noptions: {require_org_id: true, require_api_key: false}\n")
    strict = make_client(scenarios=(str(tmp_path),))
    response = strict.get("/reactor/companies", headers=headers)
    assert response.status_code == 400 and response.json() == {"error_code": "400003", "message": "Missing header"}
    without_key = {**{k: v for k, v in headers.items() if k != "X-Api-Key"}, "x-gw-ims-org-id": "ORG@AdobeOrg"}
    assert strict.get("/reactor/companies", headers=without_key).status_code == 200


def test_a_fresh_session_has_one_company_and_sessions_do_not_see_each_other(client):
    one, two = Reactor(client, session="one"), Reactor(client, session="two")
    listed = one.get("/companies", headers={"x-gw-ims-org-id": "ABC@AdobeOrg"})
    assert listed.status_code == 200 and listed.headers["content-type"] == JSONAPI
    document = listed.json()
    assert_jsonapi(document)
    [company] = document["data"]
    assert ID["companies"].match(company["id"]) and company["attributes"]["org_id"] == "ABC@AdobeOrg"
    assert document["meta"]["pagination"] == {"current_page": 1, "next_page": None, "prev_page": None,
                                              "total_pages": 1, "total_count": 1}
    prop = one.property()
    assert two.get(f"/properties/{prop}").status_code == 404
    assert one.get(f"/properties/{prop}").status_code == 200


def test_an_org_without_companies_gets_404_on_list_companies(make_client, tmp_path):
    """getting-started.md: "You may not have any companies in your organization, in which case the
    response will be HTTP status 404 (Not Found)" (api-facts.md §2)."""
    (tmp_path / "mine.yaml").write_text("api: reactor\noptions: {org_has_company: false}\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    error_of(reactor.get("/companies"), 404, "not-found", "/data")
    error_of(reactor.get("/companies"), 404, "not-found", "/data")


@pytest.mark.parametrize("path", ["/properties/PR00000000000000000000000000000000", "/libraries/LBx",
                                  "/builds/BLnope", "/companies/COx/properties", "/libraries/LBx/builds",
                                  "/environments/ENx/relationships/host", "/unknown/thing", "/properties/PRx/nope"])
def test_unknown_ids_and_paths_are_not_found_with_pointer_data(reactor, path):
    error_of(reactor.get(path), 404, "not-found", "/data")


def test_a_second_property_with_the_same_name_is_not_unique(reactor):
    company = reactor.company()
    reactor.property("Shop")
    again = reactor.post(f"/companies/{company}/properties",
                         {"data": {"type": "properties", "attributes": {"name": "shop", "platform": "web"}}})
    error_of(again, 422, "not-unique", "/data/attributes/name")
    other = reactor.property("Blog")
    renamed = reactor.patch(f"/properties/{other}", {"data": {"id": other, "type": "properties",
                                                              "attributes": {"name": "Shop"}}})
    error_of(renamed, 422, "not-unique", "/data/attributes/name")


@pytest.mark.parametrize(("attributes", "pointer"), [
    ({"platform": "tv", "domains": ["example.com"]}, "/data/attributes/platform"),
    ({"platform": "web"}, "/data/attributes/domains"),
    ({"platform": "web", "domains": []}, "/data/attributes/domains"),
    ({"platform": "web", "domains": "example.com"}, "/data/attributes/domains"),
])
def test_a_property_breaking_the_documented_platform_or_web_domains_is_refused(reactor, attributes, pointer):
    """properties.md, create: platform "web ..., or mobile or edge"; domains "(Required for web properties)"."""
    company = reactor.company()
    response = reactor.post(f"/companies/{company}/properties",
                            {"data": {"type": "properties", "attributes": {"name": "Shop", **attributes}}})
    error_of(response, 422, "invalid-settings-syntax", pointer)
    for platform in ("mobile", "edge"):
        created = reactor.post(f"/companies/{company}/properties", {"data": {"type": "properties", "attributes": {
            "name": f"App {platform}", "platform": platform}}})
        assert created.status_code == 201 and created.json()["data"]["attributes"]["platform"] == platform


@pytest.mark.parametrize(("body", "pointer"), [
    (b"{not json", None),
    (b"", None),
    (json.dumps({"name": "x"}).encode(), "/data"),
    (json.dumps({"data": []}).encode(), "/data"),
    (json.dumps({"data": {"type": "libraries", "attributes": {"name": "x"}}}).encode(), "/data/type"),
    (json.dumps({"data": {"type": "properties", "attributes": "x"}}).encode(), "/data/attributes"),
    (json.dumps({"data": {"type": "properties", "attributes": {"platform": "web"}}}).encode(), "/data/attributes/name"),
])
def test_a_body_that_is_not_a_jsonapi_document_is_refused(reactor, body, pointer):
    response = reactor.post(f"/companies/{reactor.company()}/properties", content=body)
    error = error_of(response, 422, "invalid-settings-syntax", pointer)
    sentence = "A syntax error was encountered while parsing the settings JSON."
    assert error["detail"].startswith(sentence + " ") and len(error["detail"]) > len(sentence) + 10


@pytest.mark.parametrize("settings", ["{nope", "[1, 2]", 7, {"a": 1}])
def test_settings_that_are_not_a_json_object_string_are_invalid_settings_syntax(reactor, settings):
    prop = reactor.property()
    package = reactor.get("/extension_packages").json()["data"][0]["id"]
    response = reactor.post(f"/properties/{prop}/extensions", {"data": {
        "type": "extensions", "attributes": {"settings": settings},
        "relationships": {"extension_package": {"data": {"id": package, "type": "extension_packages"}}}}})
    error = error_of(response, 422, "invalid-settings-syntax", "/data/attributes/settings")
    assert error["detail"] == "A syntax error was encountered while parsing the settings JSON."


SFTP = {"name": "SFTP", "type_of": "sftp", "server": "sftp.example.com", "path": "x", "port": 22,
        "encrypted_private_key": "-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n"}


def test_a_new_sftp_host_is_pending_until_verified_and_shows_the_sftp_errors_asked(reactor):
    # hosts.md's create example answers a new SFTP host `"status": "pending"`; its Akamai examples `succeeded`
    prop = reactor.property()
    document = {"data": {"type": "hosts", "attributes": SFTP}}
    created = reactor.post(f"/properties/{prop}/hosts", document)
    assert created.status_code == 201 and created.json()["data"]["attributes"]["status"] == "pending"
    host = created.json()["data"]["id"]
    assert reactor.get(f"/hosts/{host}").json()["data"]["attributes"]["status"] == "succeeded"
    failing = reactor.post(f"/properties/{prop}/hosts?__error=sftp-authentication-failed", document)
    assert failing.status_code == 201 and failing.json()["data"]["attributes"]["status"] == "pending"
    [listed] = [h for h in reactor.get(f"/properties/{prop}/hosts").json()["data"]
                if h["id"] == failing.json()["data"]["id"]]  # the list shows it: a poll too
    assert listed["attributes"]["status"] == "failed"
    [error] = listed["meta"]["status_details"]["errors"]
    assert (error["status"], error["code"], error["title"]) == ("502", "sftp-authentication-failed",
                                                                "SFTP Authentication Failed")
    akamai = {"data": {"type": "hosts", "attributes": {"name": "Managed", "type_of": "akamai"}}}
    assert reactor.post(f"/properties/{prop}/hosts", akamai).json()["data"]["attributes"]["status"] == "succeeded"
    error_of(reactor.post(f"/properties/{prop}/hosts?__error=sftp-exception", akamai), 502, "sftp-exception")


def test_sftp_hosts_need_an_encrypted_private_key(reactor):
    prop = reactor.property()
    base = {"name": "SFTP", "type_of": "sftp", "server": "sftp.example.com", "path": "x", "port": 22}
    missing = reactor.post(f"/properties/{prop}/hosts", {"data": {"type": "hosts", "attributes": base}})
    error_of(missing, 422, "decrypt-no-data", "/data/attributes/encrypted_private_key")
    plain = {**base, "encrypted_private_key": "ssh-rsa AAAA"}
    error_of(reactor.post(f"/properties/{prop}/hosts", {"data": {"type": "hosts", "attributes": plain}}),
             422, "decrypt-failed", "/data/attributes/encrypted_private_key")
    pgp = {**base, "encrypted_private_key": "-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n"}
    created = reactor.post(f"/properties/{prop}/hosts", {"data": {"type": "hosts", "attributes": pgp}})
    assert created.status_code == 201 and "encrypted_private_key" not in created.json()["data"]["attributes"]
    # hosts.md: encrypted_private_key and type_of are among what a PATCH may change
    host = created.json()["data"]["id"]

    def patch(attributes: dict) -> object:  # type: ignore[type-arg]
        return reactor.patch(f"/hosts/{host}", {"data": {"id": host, "type": "hosts", "attributes": attributes}})

    error_of(patch({"encrypted_private_key": "ssh-rsa AAAA"}), 422, "decrypt-failed",
             "/data/attributes/encrypted_private_key")
    error_of(patch({"encrypted_private_key": ""}), 422, "decrypt-no-data", "/data/attributes/encrypted_private_key")
    # decrypt-failed: "Ensure the key works locally and that whitespace has been trimmed"; a message cut short
    armored = "-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----"
    for untrimmed in ("  \n" + armored, armored + "\n\n", armored + " ", armored[:40], "-----BEGIN PGP MESSAGE-----"):
        error_of(patch({"encrypted_private_key": untrimmed}), 422, "decrypt-failed",
                 "/data/attributes/encrypted_private_key")
    for trimmed in (armored, armored + "\n", armored + "\r\n"):  # gpg --armor ends its output with a line end
        assert patch({"encrypted_private_key": trimmed}).status_code == 200
    error_of(patch({"type_of": "ftp"}), 422, "invalid-settings-syntax", "/data/attributes/type_of")
    renamed = patch({"name": "Renamed", "encrypted_private_key": pgp["encrypted_private_key"]})
    assert renamed.status_code == 200 and renamed.json()["data"]["attributes"]["name"] == "Renamed"
    assert "encrypted_private_key" not in renamed.json()["data"]["attributes"]


def test_library_rules_environment_in_use_and_environment_required(reactor):
    prop = reactor.property()
    first, second = reactor.library(prop, "A"), reactor.library(prop, "B")
    error_of(reactor.post(f"/libraries/{first}/builds"), 422, "environment-required")
    environment = reactor.environment(prop, reactor.host(prop))
    assert reactor.assign(first, environment).status_code == 200
    error_of(reactor.assign(second, environment), 422, "environment-in-use", "/data")
    linkage = reactor.get(f"/libraries/{first}/relationships/environment").json()
    assert linkage["data"] == {"id": environment, "type": "environments"}
    assert reactor.get(f"/environments/{environment}/library").json()["data"]["id"] == first
    assert reactor.delete(f"/libraries/{first}/relationships/environment").status_code == 204
    assert reactor.patch(f"/libraries/{second}/relationships/environment",
                         {"data": {"id": environment, "type": "environments"}}).status_code == 200


def test_host_required_and_host_in_use(reactor):
    prop = reactor.property()
    library = reactor.library(prop)
    bare = reactor.environment(prop, None)
    assert reactor.assign(library, bare).status_code == 200
    error_of(reactor.post(f"/libraries/{library}/builds"), 422, "host-required")
    host = reactor.host(prop)
    used = reactor.environment(prop, host, "Used")
    error_of(reactor.delete(f"/hosts/{host}"), 422, "host-in-use")
    assert reactor.delete(f"/environments/{used}").status_code == 204
    assert reactor.delete(f"/hosts/{host}").status_code == 204
    assert reactor.get(f"/hosts/{host}").status_code == 404


def test_a_build_of_a_library_lacking_the_extension_of_its_resources_fails_with_extension_not_found(reactor):
    """error-handling.md: extension-not-found, "The extension that defines a data element or rule component
    is not included in the library"; a build-time (delayed) error, in the build's meta.status_details."""
    prop, library, _ = reactor.buildable()
    extension = reactor.extension(prop)
    element = reactor.data_element(prop, extension, "needs core")
    rule = reactor.rule(prop)
    component = reactor.rule_component(prop, extension, [rule])
    for kind, resource in (("data_elements", element), ("rules", rule)):
        added = reactor.post(f"/libraries/{library}/relationships/{kind}", {"data": [{"id": resource, "type": kind}]})
        assert added.status_code == 200, added.text

    def build() -> dict:  # type: ignore[type-arg]
        created = reactor.post(f"/libraries/{library}/builds")
        assert created.status_code == 201 and created.json()["data"]["attributes"]["status"] == "pending"
        polled = reactor.get(f"/builds/{created.json()['data']['id']}").json()
        assert_jsonapi(polled)
        return dict(polled["data"])

    failed = build()
    assert failed["attributes"]["status"] == "failed"
    errors = failed["meta"]["status_details"]["errors"]
    assert [e["code"] for e in errors] == ["extension-not-found"] * 2
    assert all(e["status"] == "422" and e["title"] == "Extension Not Found" for e in errors)
    assert element in errors[0]["detail"] and component["id"] in errors[1]["detail"]
    assert reactor.get(f"/libraries/{library}").json()["data"]["meta"]["build_status"] == "failed"
    added = reactor.post(f"/libraries/{library}/relationships/extensions", {"data": [{"id": extension,
                                                                                      "type": "extensions"}]})
    assert added.status_code == 200, added.text
    rebuilt = build()
    assert rebuilt["attributes"]["status"] == "succeeded" and "status_details" not in rebuilt["meta"]


def test_a_resource_deleted_after_it_joined_a_library_needs_no_extension_in_its_build(reactor):
    """The library's lists stop showing a deleted data element or rule; its build does not ask for their
    extension either (extension-not-found is about what the build includes)."""
    prop, library, _ = reactor.buildable()
    extension = reactor.extension(prop)
    element = reactor.data_element(prop, extension, "deleted later")
    rule = reactor.rule(prop)
    reactor.rule_component(prop, extension, [rule])
    for kind, resource in (("data_elements", element), ("rules", rule)):
        added = reactor.post(f"/libraries/{library}/relationships/{kind}", {"data": [{"id": resource, "type": kind}]})
        assert added.status_code == 200, added.text
    for kind, resource in (("data_elements", element), ("rules", rule)):
        assert reactor.delete(f"/{kind}/{resource}").status_code == 204
        assert reactor.get(f"/libraries/{library}/{kind}").json()["data"] == []
    created = reactor.post(f"/libraries/{library}/builds")
    assert created.status_code == 201, created.text
    polled = reactor.get(f"/builds/{created.json()['data']['id']}").json()["data"]
    assert polled["attributes"]["status"] == "succeeded", polled["meta"]


def test_deleted_resources_and_multiple_revisions_cannot_join_a_library(reactor):
    prop = reactor.property()
    library = reactor.library(prop)
    extension = reactor.extension(prop)
    kept, gone = reactor.data_element(prop, extension, "kept"), reactor.data_element(prop, extension, "gone")
    assert reactor.delete(f"/data_elements/{gone}").status_code == 204
    path = f"/libraries/{library}/relationships/data_elements"
    error_of(reactor.post(path, {"data": [{"id": gone, "type": "data_elements"}]}), 422, "deleted-resources",
             "/data/0")
    revised = reactor.patch(f"/data_elements/{kept}", {"data": {"id": kept, "type": "data_elements",
                                                                "attributes": {"name": "kept 2"},
                                                                "meta": {"action": "revise"}}})
    assert revised.json()["data"]["meta"]["latest_revision_number"] == 1
    revision = revised.json()["data"]  # the real API answers the new revision (see test_revise_answers_...)
    assert revision["attributes"]["revision_number"] == 1 and revision["id"] != kept
    added = reactor.post(path, {"data": [{"id": kept, "type": "data_elements"}]})
    assert added.status_code == 200 and [d["id"] for d in added.json()["data"]] == [kept]
    error_of(reactor.post(path, {"data": [{"id": revision["id"], "type": "data_elements"}]}), 422,
             "multiple-revisions", "/data/0")
    both = reactor.patch(path, {"data": [{"id": kept, "type": "data_elements"},
                                         {"id": revision["id"], "type": "data_elements"}]})
    error_of(both, 422, "multiple-revisions", "/data/1")
    replaced = reactor.patch(path, {"data": [{"id": revision["id"], "type": "data_elements"}]})
    assert [d["id"] for d in replaced.json()["data"]] == [revision["id"]]
    assert reactor.get(f"/libraries/{library}/data_elements").json()["data"][0]["attributes"]["name"] == "kept 2"
    removed = reactor.delete(path, {"data": [{"id": revision["id"], "type": "data_elements"}]})
    assert removed.status_code == 200 and removed.json()["data"] == []


def test_the_publishing_flow_up_to_published(reactor):
    prop = reactor.property()
    library = reactor.library(prop)
    host = reactor.host(prop)
    states = []
    for stage, action in (("development", "submit"), ("staging", "approve"), ("production", None)):
        environment = reactor.environment(prop, host, stage, stage)
        assert reactor.assign(library, environment).status_code == 200
        build = reactor.post(f"/libraries/{library}/builds").json()["data"]
        assert reactor.get(f"/builds/{build['id']}").json()["data"]["attributes"]["status"] == "succeeded"
        if action:
            moved = reactor.patch(f"/libraries/{library}", {"data": {"id": library, "type": "libraries",
                                                                     "meta": {"action": action}}})
            states.append(moved.json()["data"]["attributes"]["state"])
    assert states == ["submitted", "approved"]
    published = reactor.get(f"/libraries/{library}").json()["data"]["attributes"]
    assert published["state"] == "published" and published["published_at"]
    rename = {"data": {"id": library, "type": "libraries", "attributes": {"name": "late"}}}
    error_of(reactor.patch(f"/libraries/{library}", rename), 403, "read-only")


def test_submit_and_reject_unassign_the_librarys_environment_which_another_library_may_take(reactor):
    """publishing-flow.md: Submit "Unassign[s] the library from the development environment", Reject "from the
    staging environment"; libraries.md's submit example answers `environment.data` null beside a last_build."""
    prop, library, development = reactor.buildable()
    other = reactor.library(prop, "Other")
    assert reactor.post(f"/libraries/{library}/builds").status_code == 201

    def act(action: str) -> dict:  # type: ignore[type-arg]
        moved = reactor.patch(f"/libraries/{library}", {"data": {"id": library, "type": "libraries",
                                                                 "meta": {"action": action}}})
        assert moved.status_code == 200, moved.text
        return dict(moved.json()["data"])

    assert act("submit")["relationships"]["environment"]["data"] is None
    assert reactor.get(f"/libraries/{library}/relationships/environment").json()["data"] is None
    assert reactor.get(f"/environments/{development}/library").json()["data"] is None
    assert reactor.assign(other, development).status_code == 200  # free again: no environment-in-use
    staging = reactor.environment(prop, reactor.host(prop, "Second"), "Staging", "staging")
    assert reactor.assign(library, staging).status_code == 200
    assert act("reject")["relationships"]["environment"]["data"] is None
    assert reactor.get(f"/environments/{staging}/library").json()["data"] is None


def test_transitions_the_state_does_not_allow_and_edits_outside_development_are_read_only(reactor):
    prop = reactor.property()
    library = reactor.library(prop)

    def act(action: str):  # type: ignore[no-untyped-def]
        return reactor.patch(f"/libraries/{library}", {"data": {"id": library, "type": "libraries",
                                                                "meta": {"action": action}}})

    error_of(act("approve"), 403, "read-only", "/data/meta/action")
    error_of(act("publish"), 422, "invalid-settings-syntax", "/data/meta/action")
    assert act("submit").json()["data"]["attributes"]["state"] == "submitted"
    extension = reactor.extension(prop)
    adding = reactor.post(f"/libraries/{library}/relationships/extensions",
                          {"data": [{"id": extension, "type": "extensions"}]})
    error_of(adding, 403, "read-only", "/data")
    assert act("reject").json()["data"]["attributes"]["state"] == "rejected"
    assert act("develop").json()["data"]["attributes"]["state"] == "development"
    assert reactor.post(f"/libraries/{library}/relationships/extensions",
                        {"data": [{"id": extension, "type": "extensions"}]}).status_code == 200


def test_pagination_follows_page_number_and_size(reactor):
    prop = reactor.property()
    made = [reactor.library(prop, f"L{i}") for i in range(5)]
    page = reactor.get(f"/properties/{prop}/libraries?page[size]=2&page[number]=2").json()
    assert [d["id"] for d in page["data"]] == made[2:4]
    assert page["meta"]["pagination"] == {"current_page": 2, "next_page": 3, "prev_page": 1, "total_pages": 3,
                                          "total_count": 5}
    odd = reactor.get(f"/properties/{prop}/libraries?page[size]=zero&page[number]=-1").json()
    assert len(odd["data"]) == 5 and odd["meta"]["pagination"]["current_page"] == 1
    zero = reactor.get(f"/properties/{prop}/libraries?page[size]=0&page[number]=0").json()  # not positive: defaults
    assert len(zero["data"]) == 5 and zero["meta"]["pagination"]["current_page"] == 1
    # `²` (str.isdigit(), not int()) and `２` (U+FF12: str.isdecimal() and int() read it as 2) are no numbers
    odd = reactor.get(f"/properties/{prop}/libraries?page[size]=%C2%B2&page[number]=%EF%BC%92").json()
    assert len(odd["data"]) == 5 and odd["meta"]["pagination"]["current_page"] == 1
    last = reactor.get(f"/properties/{prop}/libraries?page[size]=2&page[number]=3").json()
    assert [d["id"] for d in last["data"]] == made[4:]
    assert last["meta"]["pagination"] == {"current_page": 3, "next_page": None, "prev_page": 2, "total_pages": 3,
                                          "total_count": 5}


@pytest.mark.parametrize("number", ["4", "999999999", "1000000000", "1" + "0" * 19, "9" * 5000])
def test_a_page_past_the_end_is_empty_however_large_its_number(reactor, number):
    """Past the last page is an empty page whatever its number: 10**9 and more (20 digits, or more than int()
    reads) were page 1 again, so a client walking pages by number saw the first records twice."""
    prop = reactor.property()
    for i in range(5):
        reactor.library(prop, f"L{i}")
    page = reactor.get(f"/properties/{prop}/libraries?page[size]=2&page[number]={number}").json()
    pagination = page["meta"]["pagination"]
    assert page["data"] == [] and pagination["next_page"] is None
    # a number over 10**9 (reactor_docs.PAGE_NUMBER_LIMIT) is read as 10**9: as far past the end, and short in JSON
    assert pagination["current_page"] == (int(number) if len(number) < 10 else 10**9)
    assert (pagination["total_pages"], pagination["total_count"]) == (3, 5)
    assert pagination["prev_page"] == (3 if number == "4" else None)  # the last page, right behind it only


def test_page_size_at_its_default_and_at_its_cap(reactor):
    """pagination.md: 25 by default; 100 at most (reactor_docs.MAX_PAGE_SIZE says why), one more is 100 again."""
    prop = reactor.property()
    for i in range(101):
        reactor.library(prop, f"L{i}")

    def served(query: str) -> tuple[int, object]:
        page = reactor.get(f"/properties/{prop}/libraries{query}").json()
        return len(page["data"]), page["meta"]["pagination"]["next_page"]

    assert served("") == (25, 2)
    assert [served(f"?page[size]={n}") for n in (24, 25, 26)] == [(24, 2), (25, 2), (26, 2)]
    assert [served(f"?page[size]={n}") for n in (99, 100, 101)] == [(99, 2), (100, 2), (100, 2)]
    assert served("?page[size]=101&page[number]=2") == (1, None)  # the 101st record, on the next page
    # however large: 10**11 was the default 25, and so was a size of more digits than int() reads
    assert [served(f"?page[size]={n}") for n in (500, 10**11, "9" * 5000)] == [(100, 2)] * 3


def test_filters_as_the_filtering_guide_and_the_sdk_write_them(reactor):
    company = reactor.company()
    for name in ("Atlanta", "Barstow", "Chicago", "Detroit"):
        reactor.property(f"Reactor SDK Property {name}")

    def names(**params: str) -> list[str]:
        response = reactor.get(f"/companies/{company}/properties", params=params)
        assert response.status_code == 200, response.text
        return [p["attributes"]["name"].rsplit(" ", 1)[-1] for p in response.json()["data"]]

    # adobe/reactor-sdk-javascript test/integration/properties.test.js
    assert names(**{"filter[name]": "CONTAINS Detroit,CONTAINS Barstow"}) == ["Barstow", "Detroit"]
    assert names(**{"filter[name]": "EQ Reactor SDK Property Chicago"}) == ["Chicago"]
    assert names(**{"filter[name]": "EQ reactor sdk property chicago"}) == []  # EQ is case-sensitive
    assert names(**{"filter[name]": "NOT Reactor SDK Property Chicago,Reactor SDK Property Atlanta"}) == [
        "Barstow", "Detroit"]
    assert names(**{"filter[name]": "EQ Reactor SDK Property Atlanta", "filter[enabled]": "EQ true"}) == ["Atlanta"]
    assert names(**{"filter[enabled]": "EQ false"}) == []
    # "if the structure of your filters is incorrect, no filters are applied"
    assert names(**{"filter[name]": "Atlanta"}) == ["Atlanta", "Barstow", "Chicago", "Detroit"]
    listed = reactor.get(f"/companies/{company}/properties?filter[name]=CONTAINS%20Atlanta&page[size]=1").json()
    assert listed["meta"]["pagination"]["total_count"] == 1  # counted after filtering
    # "only the last provided filter for that attribute will be applied"
    twice = reactor.get(f"/companies/{company}/properties?filter[name]=CONTAINS%20Atlanta"
                        "&filter[name]=CONTAINS%20Chicago").json()["data"]
    assert [p["attributes"]["name"] for p in twice] == ["Reactor SDK Property Chicago"]
    created = [p["attributes"]["created_at"] for p in reactor.get(f"/companies/{company}/properties").json()["data"]]
    between = reactor.get(f"/companies/{company}/properties",
                          params={"filter[created_at]": f"BETWEEN {created[0]},{created[-1]}"}).json()["data"]
    assert len(between) == 4



@pytest.mark.parametrize(("prefix", "host", "base"), [
    ("/reactor", None, "http://127.0.0.1:8080/reactor"),
    ("", "reactor.adobe.io", "http://reactor.adobe.io"),
])
def test_every_link_is_absolute_on_this_server_and_answers(client, prefix, host, base):
    reactor = Reactor(client, prefix=prefix, **({"Host": host} if host else {}))
    prop, library, _ = reactor.buildable()
    extension = reactor.extension(prop)
    reactor.data_element(prop, extension)
    build = reactor.post(f"/libraries/{library}/builds").json()["data"]["id"]
    documents = [reactor.get(path).json() for path in (
        "/companies", f"/properties/{prop}", f"/libraries/{library}", f"/builds/{build}",
        f"/properties/{prop}/environments", f"/properties/{prop}/hosts", f"/properties/{prop}/extensions",
        f"/properties/{prop}/data_elements", "/extension_packages")]
    links = {link for document in documents for link in links_of(document)}
    assert links and all(link.startswith(base + "/") for link in links), links
    for document in documents:
        assert_jsonapi(document)
    for link in sorted(links):
        followed = reactor.client.get(link, headers=reactor.headers)
        assert followed.status_code == 200, (link, followed.text)
        assert_jsonapi(followed.json())


def test_documented_resource_links_are_there_when_the_user_asks(make_client, tmp_path):
    (tmp_path / "links.yaml").write_text("api: reactor\noptions: {documented_resource_links: true}\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    prop = reactor.property()
    links = reactor.get(f"/properties/{prop}").json()["data"]["links"]
    assert links["company"].endswith(f"/companies/{reactor.company()}") and links["self"].endswith(prop)


def test_polls_before_done_keeps_a_build_pending_for_that_many_polls(make_client, tmp_path):
    (tmp_path / "slow.yaml").write_text("api: reactor\noptions: {polls_before_done: 3}\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    _, library, _ = reactor.buildable()
    build = reactor.post(f"/libraries/{library}/builds?__error=timeout-error").json()["data"]["id"]
    seen = [reactor.get(f"/builds/{build}").json()["data"]["attributes"]["status"] for _ in range(4)]
    assert seen == ["pending", "pending", "failed", "failed"]


@pytest.mark.parametrize("value", ["3.0", "1.5", ".inf", "'3'"])
def test_polls_before_done_that_is_not_an_integer_is_refused_at_load(make_client, tmp_path, value):
    """`polls_before_done: 3.0` (or 1.5) passed validate and was then ignored: the build ended at the first poll.
    It is the file's problem now, at its line, for serve and validate alike (3.0 too: an integer is written as
    one, as Reactor's integer attributes and a check's integer arguments take it)."""
    slow = tmp_path / "slow.yaml"
    slow.write_text(f"api: reactor\n# builds that take a while\noptions:\n  polls_before_done: {value}\n")
    with pytest.raises(ScenarioError) as caught:
        make_client(scenarios=(str(slow),))
    assert [(p.file, p.line, p.field) for p in caught.value.problems] == [
        (str(slow), 4, "options.polls_before_done")]
    validated = CliRunner().invoke(main, ["validate", str(slow)])
    assert validated.exit_code == 1 and f"{slow}:4: options.polls_before_done: " in validated.output


@pytest.mark.parametrize("flag", [{"__error": "timeout-error"}, {"__code": "504"}])
def test_an_asynchronous_flag_where_no_build_starts_is_not_said_applied(make_client, flag):
    """A build of an unknown library starts no work to report the asked error on: Reactor's 404 answers, and
    Preference-Applied does not claim the flag (RFC 7240); a flag answered at once still wins there."""
    reactor = Reactor(make_client())
    path = f"/libraries/LB{'0' * 32}/builds"
    response = reactor.post(path, params=flag)
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not-found"
    assert "preference-applied" not in response.headers
    forbidden = reactor.post(path, params={"__error": "not-authorized"})
    assert forbidden.status_code == 403 and forbidden.headers["preference-applied"] == "error=not-authorized"


@pytest.mark.parametrize("view", ["library", "library's builds", "environment's builds"])
def test_a_build_ends_whichever_view_the_client_polls(make_client, tmp_path, view):
    """The work goes on however it is watched: a client waiting on the library's meta.build_status, or on a
    list of builds, sees the build end as one polling GET /builds/{id} does (the same count of polls)."""
    (tmp_path / "slow.yaml").write_text("api: reactor\noptions: {polls_before_done: 2}\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    _, library, environment = reactor.buildable()
    build = reactor.post(f"/libraries/{library}/builds?__error=sftp-connection-timeout").json()["data"]["id"]

    def status() -> str:
        if view == "library":
            return reactor.get(f"/libraries/{library}").json()["data"]["meta"]["build_status"]
        path = f"/libraries/{library}/builds" if view == "library's builds" else f"/environments/{environment}/builds"
        [shown] = [b for b in reactor.get(path).json()["data"] if b["id"] == build]
        return shown["attributes"]["status"]

    assert [status(), status(), status()] == ["pending", "failed", "failed"]
    failed = reactor.get(f"/builds/{build}").json()["data"]
    assert [e["code"] for e in failed["meta"]["status_details"]["errors"]] == ["sftp-connection-timeout"]


def test_deleting_a_revised_extension_deletes_its_revisions_and_companies_are_read_only(reactor):
    prop = reactor.property()
    extension = reactor.extension(prop)
    revision = reactor.patch(f"/extensions/{extension}", {"data": {"id": extension, "type": "extensions",
                                                                  "attributes": {"enabled": False},
                                                                  "meta": {"action": "revise"}}}).json()["data"]["id"]
    assert revision != extension
    assert reactor.delete(f"/extensions/{extension}").status_code == 204
    assert reactor.get(f"/extensions/{revision}").status_code == 404
    error_of(reactor.delete(f"/companies/{reactor.company()}"), 403, "read-only")


def revise(reactor: Reactor, kind: str, head: str, **attributes: object) -> dict:  # type: ignore[type-arg]
    data: dict[str, object] = {"id": head, "type": kind, "meta": {"action": "revise"}}
    if attributes:
        data["attributes"] = attributes
    response = reactor.patch(f"/{kind}/{head}", {"data": data})
    assert response.status_code == 200, response.text
    assert_jsonapi(response.json())
    return dict(response.json()["data"])


def revisable_head(reactor: Reactor, kind: str) -> str:
    prop = reactor.property()
    extension = reactor.extension(prop)
    return {"extensions": lambda: extension, "data_elements": lambda: reactor.data_element(prop, extension),
            "rules": lambda: reactor.rule(prop)}[kind]()


# Adobe's SDK integration tests, run against the real API (adobe/reactor-sdk-javascript
# test/integration/{extensions,data-elements,rules}.test.js): a revise answers a new resource, not the head
@pytest.mark.parametrize("kind", ["extensions", "data_elements", "rules"])
def test_revise_answers_the_new_revision_not_the_head(reactor, kind):
    head = revisable_head(reactor, kind)
    before = reactor.get(f"/{kind}/{head}").json()["data"]
    first = revise(reactor, kind, head)
    assert first["id"] != head and ID[kind].match(first["id"]) and first["type"] == kind
    assert first["attributes"]["revision_number"] == 1 and first["meta"]["latest_revision_number"] == 1
    assert first["attributes"].get("name") == before["attributes"].get("name")  # rules.test.js makeRuleRevision
    assert first["relationships"]["origin"]["data"] == {"id": head, "type": kind}
    assert first["links"]["self"].endswith(f"/{kind}/{first['id']}")
    assert reactor.get(f"/{kind}/{first['id']}").json()["data"]["attributes"]["revision_number"] == 1
    now = reactor.get(f"/{kind}/{head}").json()["data"]
    assert now["attributes"]["revision_number"] == 0 and now["meta"]["latest_revision_number"] == 1
    second = revise(reactor, kind, head)  # data-elements.test.js "revises a DataElement": again, a new one
    assert second["id"] not in (head, first["id"]) and second["attributes"]["revision_number"] == 2
    assert reactor.get(f"/{kind}/{first['id']}").json()["data"]["meta"]["latest_revision_number"] == 2
    listed = reactor.get(f"/properties/{before['relationships']['property']['data']['id']}/{kind}").json()["data"]
    assert head in [r["id"] for r in listed] and first["id"] not in [r["id"] for r in listed]


def test_a_revise_carries_its_changes_into_the_revision_and_is_audited_on_the_head(reactor):
    head = revisable_head(reactor, "data_elements")
    revision = revise(reactor, "data_elements", head, name="renamed")
    assert revision["attributes"]["name"] == "renamed" and revision["attributes"]["dirty"] is False
    assert reactor.get(f"/data_elements/{head}").json()["data"]["attributes"]["name"] == "renamed"
    newest = reactor.get("/audit_events").json()["data"][0]
    assert newest["attributes"]["type_of"] == "data_element.updated"
    assert newest["relationships"]["entity"]["data"]["id"] == head
    assert not [e for e in reactor.get("/audit_events", params={"page[size]": 100}).json()["data"]
                if e["relationships"]["entity"]["data"]["id"] == revision["id"]]


@pytest.mark.parametrize("kind", ["extensions", "data_elements", "rules"])
def test_revisions_list_the_head_and_every_revision_and_filter_by_revision_number(reactor, kind):
    head = revisable_head(reactor, kind)
    first, second = revise(reactor, kind, head)["id"], revise(reactor, kind, head)["id"]
    listed = reactor.get(f"/{kind}/{head}/revisions").json()
    assert [r["id"] for r in listed["data"]] == [head, first, second]  # rules.md: the head first
    assert [r["attributes"]["revision_number"] for r in listed["data"]] == [0, 1, 2]
    assert listed["meta"]["pagination"]["total_count"] == 3
    one = reactor.get(f"/{kind}/{head}/revisions", params={"filter[revision_number]": "EQ 1"}).json()["data"]
    assert [r["id"] for r in one] == [first]  # rules.test.js "gets a filtered rule revision"
    assert [r["id"] for r in reactor.get(f"/{kind}/{first}/revisions").json()["data"]] == [head, first, second]


@pytest.mark.parametrize("kind", ["extensions", "data_elements", "rules"])
def test_the_origin_of_a_revision_is_its_head_at_revision_zero(reactor, kind):
    head = revisable_head(reactor, kind)
    first, second = revise(reactor, kind, head)["id"], revise(reactor, kind, head)["id"]
    assert len({head, first, second}) == 3  # extensions.test.js "shows the origin": of the answered revision
    for resource_id in (head, first, second):
        origin = reactor.get(f"/{kind}/{resource_id}/origin").json()["data"]
        assert origin["id"] == head and origin["attributes"]["revision_number"] == 0


def test_a_revision_answered_by_revise_joins_a_library_and_goes_with_its_head(reactor):
    """helpers.js makeTestRule and libraries.test.js makeDataElements add the answered id to libraries."""
    prop = reactor.property()
    library = reactor.library(prop)
    rule = reactor.rule(prop)
    revision = revise(reactor, "rules", rule)["id"]
    added = reactor.post(f"/libraries/{library}/relationships/rules", {"data": [{"id": revision, "type": "rules"}]})
    assert added.status_code == 200 and [d["id"] for d in added.json()["data"]] == [revision]
    assert [lib["id"] for lib in reactor.get(f"/rules/{revision}/libraries").json()["data"]] == [library]
    error_of(reactor.post(f"/libraries/{library}/relationships/rules", {"data": [{"id": rule, "type": "rules"}]}),
             422, "multiple-revisions", "/data/0")
    assert reactor.delete(f"/rules/{rule}").status_code == 204
    assert reactor.get(f"/rules/{revision}").json()["data"]["meta"]["deleted_at"]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["data", "type", "attributes", "name", "platform", "settings", "id",
                                                "relationships", "meta"]), inner, max_size=4), max_leaves=15)
documents = st.builds(lambda attributes, kind: {"data": {"type": kind, "attributes": attributes}},
                      st.dictionaries(st.sampled_from(["name", "platform", "settings", "domains"]),
                                      json_values, max_size=4),
                      st.sampled_from(["properties", "libraries"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(json_values, documents))
def test_any_json_body_is_created_or_refused_with_a_jsonapi_error(client, body):
    reactor = Reactor(client, session="fuzz")
    response = reactor.post(f"/companies/{reactor.company()}/properties", body)
    assert response.status_code in (201, 422), response.text
    assert_jsonapi(response.json())
    if response.status_code == 422:
        assert response.json()["errors"][0]["code"] in ("invalid-settings-syntax", "not-unique")


def test_head_reads_and_never_creates(reactor):
    company = reactor.company()
    assert reactor.request("HEAD", f"/companies/{company}/properties").status_code == 200
    assert reactor.request("HEAD", "/extension_packages").status_code == 200
    assert reactor.get(f"/companies/{company}/properties").json()["data"] == []


def _world() -> tuple[Reactor, list[str]]:
    """One session with one of everything, and paths that reach each route with real ids."""
    from mockserver.app import build_app
    from mockserver.settings import Settings
    from tests.conftest import asgi_client

    client = asgi_client(build_app(Settings()))
    client.__enter__()
    reactor = Reactor(client, session="world")
    prop, library, environment = reactor.buildable()
    extension = reactor.extension(prop)
    element = reactor.data_element(prop, extension)
    build = reactor.post(f"/libraries/{library}/builds").json()["data"]["id"]
    host = reactor.get(f"/environments/{environment}/host").json()["data"]["id"]
    ids = [reactor.company(), prop, library, environment, extension, element, build, host, "XX123"]
    kinds = ["properties", "libraries", "environments", "hosts", "extensions", "data_elements", "rules", "builds",
             "company", "revisions", "environment", "host", "extension_packages", "nope"]
    paths = [f"/{t}/{i}" for t in ("companies", "properties", "libraries", "builds", "environments", "hosts",
                                   "extensions", "data_elements", "extension_packages") for i in ids]
    paths += [f"/properties/{prop}/{k}" for k in kinds] + [f"/libraries/{library}/{k}" for k in kinds]
    paths += [f"/libraries/{library}/relationships/{k}" for k in kinds] + [f"/libraries/{library}/builds",
                                                                          "/extension_packages", "/companies"]
    return reactor, paths


WORLD: tuple[Reactor, list[str]] | None = None


@settings(max_examples=400, deadline=None)
@given(method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"]), index=st.integers(0, 10**6),
       body=st.one_of(json_values, documents, st.binary(max_size=50)))
def test_any_method_on_any_route_with_any_body_answers_as_reactor(method, index, body):
    global WORLD
    WORLD = WORLD or _world()
    reactor, paths = WORLD
    path = paths[index % len(paths)]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = reactor.request(method, path, content=content)
    assert "x-mockserver-internal-error" not in response.headers, response.text
    assert response.status_code < 500, response.text
    if response.content and method != "HEAD":
        assert response.headers["content-type"] == JSONAPI
        assert_jsonapi(response.json())


def test_a_user_who_requires_nothing_gets_resources_from_any_document(make_client, tmp_path):
    (tmp_path / "lax.yaml").write_text("api: reactor\noptions: {required_attributes: {properties: []}}\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    prop = reactor.property()
    for body in ({"data": {"type": "libraries", "attributes": "x"}}, {"data": "x"}, [1]):
        response = reactor.post(f"/properties/{prop}/libraries", body)
        assert response.status_code == 201 and response.json()["data"]["attributes"]["state"] == "development"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["filter[name]", "filter[enabled]", "filter[created_at]", "filter[]",
                                        "filter[x", "page[size]"]),
                       st.lists(st.text(max_size=30), min_size=1, max_size=3), max_size=4),
       st.one_of(st.text(max_size=10), st.booleans(), st.none(), st.integers(), st.floats(allow_nan=True)))
def test_any_filter_query_keeps_a_subset_and_never_raises(query, value):
    from mockserver.apis.reactor_docs import filtered

    records = [{"id": f"PR{i}", "type": "properties", "attributes": {"name": value, "enabled": value,
                                                                       "created_at": value}} for i in range(3)]
    kept = filtered(records, query)
    assert all(r in records for r in kept)
    if not any(k.startswith("filter[") and k.endswith("]") and k != "filter[]" for k in query):
        assert kept == records


def test_heartbeat_is_ok_with_no_body_and_profile_is_the_signed_in_user(reactor):
    beat = reactor.get("/heartbeat")
    assert beat.status_code == 200 and beat.content == b""
    assert JSONAPI not in beat.headers.get("content-type", "")  # the SDK's heartbeat() then returns null
    response = reactor.get("/profile")
    assert response.status_code == 200 and response.headers["content-type"] == JSONAPI
    assert_jsonapi(response.json())
    user = response.json()["data"]
    assert user["type"] == "users" and user["id"].startswith("UR") and len(user["id"]) == 34
    org = reactor.get("/companies").json()["data"][0]["attributes"]["org_id"]
    assert user["attributes"]["active_org"] == org and org in user["attributes"]["organizations"]
    assert reactor.get("/profile").json() == response.json()  # the same user all session
    headers = {k: v for k, v in reactor.headers.items() if k != "Authorization"}
    assert reactor.client.get("/reactor/profile", headers=headers).status_code == 401


def test_a_data_element_must_name_a_delegate_of_its_extension_in_a_supported_language(reactor):
    prop = reactor.property()
    extension = reactor.extension(prop)

    def create(descriptor: str, settings: str = '{"name": "x"}') -> object:  # type: ignore[type-arg]
        return reactor.post(f"/properties/{prop}/data_elements", {"data": {
            "type": "data_elements", "attributes": {"name": descriptor, "delegate_descriptor_id": descriptor,
                                                    "settings": settings},
            "relationships": {"extension": {"data": {"id": extension, "type": "extensions"}}}}})

    # guides/delegate-descriptor-ids.md: {package name}::{delegate type}::{delegate name}
    for wrong in ("cookie", "other-package::dataElements::cookie", "core::actions::cookie", "core::dataElements::"):
        error_of(create(wrong), 422, "delegate-descriptor-unresolved", "/data/attributes/delegate_descriptor_id")
    error_of(create("core::dataElements::custom-code", '{"language": "python", "source": "x"}'), 422,
             "unsupported-custom-code-language", "/data/attributes/settings")
    assert create("core::dataElements::custom-code", '{"language": "javascript", "source": "x"}').status_code == 201
    assert create("core::dataElements::javascript-variable").status_code == 201


@pytest.mark.parametrize("kind", ["data_elements", "rule_components"])
def test_a_patch_of_custom_code_settings_alone_is_refused_an_unsupported_language(reactor, kind):
    """The reference: "A custom code language was supplied that is not supported." A PATCH that
    supplies one in `settings` of a custom-code delegate is refused as the create is."""
    prop = reactor.property()
    extension = reactor.extension(prop)
    good = '{"language": "javascript", "source": "x"}'
    if kind == "data_elements":
        made = reactor.created(f"/properties/{prop}/data_elements", "data_elements", {
            "name": "Custom", "delegate_descriptor_id": "core::dataElements::custom-code", "settings": good},
            extension=extension)["id"]
    else:
        rule = reactor.rule(prop)
        made = reactor.rule_component(prop, extension, [rule], delegate="core::actions::custom-code")["id"]
        assert reactor.patch(f"/{kind}/{made}", {"data": {"id": made, "type": kind, "attributes": {
            "settings": good}}}).status_code == 200
    patch = {"data": {"id": made, "type": kind, "attributes": {"settings": '{"language": "php", "source": "x"}'}}}
    error_of(reactor.patch(f"/{kind}/{made}", patch), 422, "unsupported-custom-code-language",
             "/data/attributes/settings")
    assert reactor.get(f"/{kind}/{made}").json()["data"]["attributes"]["settings"] == good
    patch["data"]["attributes"]["settings"] = '{"language": "html", "source": "<b>x</b>"}'
    assert reactor.patch(f"/{kind}/{made}", patch).status_code == 200


def test_a_build_to_a_host_that_failed_verification_is_host_required(reactor):
    """host-required: "The Environment assigned to this Library does not have a valid Host": one whose
    verification failed is no valid host, polled or not yet."""
    prop = reactor.property()
    document = {"data": {"type": "hosts", "attributes": SFTP}}
    failing = reactor.post(f"/properties/{prop}/hosts?__error=sftp-authentication-failed", document)
    host = failing.json()["data"]["id"]
    library = reactor.library(prop)
    assert reactor.assign(library, reactor.environment(prop, host)).status_code == 200
    error_of(reactor.post(f"/libraries/{library}/builds"), 422, "host-required")  # not polled yet
    assert reactor.get(f"/hosts/{host}").json()["data"]["attributes"]["status"] == "failed"
    error_of(reactor.post(f"/libraries/{library}/builds"), 422, "host-required")


def test_a_property_holds_one_staging_and_one_production_environment(reactor):
    """environments.md: "Staging | One", "Production | One"; `stage` is development, staging or production."""
    prop = reactor.property()
    host = reactor.host(prop)
    for stage in ("staging", "production"):
        first = reactor.environment(prop, host, stage.title(), stage)
        document = {"data": {"type": "environments", "attributes": {"name": "Again", "stage": stage}}}
        error = error_of(reactor.post(f"/properties/{prop}/environments", document), 422, "not-unique",
                         "/data/attributes/stage")
        assert f"one {stage} environment" in error["detail"]
        assert reactor.delete(f"/environments/{first}").status_code == 204  # gone: the stage is free again
        reactor.environment(prop, host, "Second", stage)
    reactor.environment(prop, host, "Dev 1")
    reactor.environment(prop, host, "Dev 2")  # development: as many as wanted
    nulled = {"data": {"type": "environments", "attributes": {"name": "Null", "stage": None}}}
    created = reactor.post(f"/properties/{prop}/environments", nulled)  # null: not given, so development
    assert created.status_code == 201 and created.json()["data"]["attributes"]["stage"] == "development"
    for stage in ("Production", "prod", ""):
        document = {"data": {"type": "environments", "attributes": {"name": "Typo", "stage": stage}}}
        error_of(reactor.post(f"/properties/{prop}/environments", document), 422, "invalid-settings-syntax",
                 "/data/attributes/stage")
