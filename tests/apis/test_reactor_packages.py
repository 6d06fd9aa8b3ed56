"""Extension packages: uploads processed asynchronously, and the parsers of the upload (property tests)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.apis.reactor_packages import inspect_package, read_upload
from mockserver.apis.reactor_store import package_attributes
from tests.apis.test_reactor_support import ID, Reactor, assert_jsonapi, extension_zip, make_zip


@pytest.fixture
def reactor(client) -> Reactor:  # type: ignore[no-untyped-def]
    return Reactor(client)


def upload(reactor: Reactor, content: bytes, method: str = "POST", path: str = "/extension_packages"):  # type: ignore[no-untyped-def]
    headers = {k: v for k, v in reactor.headers.items() if k != "Content-Type"}
    return reactor.client.request(method, "/reactor" + path, headers=headers,
                                  files={"package": ("package.zip", content, "application/zip")})


def processed(reactor: Reactor, content: bytes) -> dict:  # type: ignore[no-untyped-def]
    created = upload(reactor, content)
    assert created.status_code == 201 and created.json()["data"]["attributes"]["status"] == "pending"
    assert ID["extension_packages"].match(created.json()["data"]["id"])
    polled = reactor.get(f"/extension_packages/{created.json()['data']['id']}").json()
    assert_jsonapi(polled)
    return dict(polled["data"])


def test_a_good_package_succeeds_and_shows_its_manifest(reactor):
    package = processed(reactor, extension_zip())
    assert package["attributes"]["status"] == "succeeded" and "status_details" not in package.get("meta", {})
    assert package["attributes"]["name"] == "hello-world" and package["attributes"]["version"] == "1.0.1"
    listed = reactor.get("/extension_packages").json()["data"]
    assert [p["attributes"]["name"] for p in listed] == ["core", "adobe-analytics", "facebook-pixel", "hello-world"]


@pytest.mark.parametrize(("content", "codes"), [
    (b"not a zip at all", ["extension-package-zip-error"]),
    (make_zip({"readme.txt": "hi"}), ["extension-package-zip-error"]),
    (make_zip({"extension.json": "{broken"}), ["extension-package-zip-error"]),
    (extension_zip({"name": "x", "events": [{"name": "e", "libPath": "src/missing.js"}]}),
     ["library-file-not-found"]),
    (extension_zip({"name": "x", "main": "../outside.js"}), ["extension-package-path-error"]),
    # every path of extension.json, not only the library's (extension-package-web.json's patterns)
    (extension_zip({"name": "x", "viewBasePath": "../outside/"}), ["extension-package-path-error"]),
    (extension_zip({"name": "x", "iconPath": "../icon.svg"}), ["extension-package-path-error"]),
    (extension_zip({"name": "x", "configuration": {"viewPath": "../cfg.html", "schema": {}}}),
     ["extension-package-path-error"]),
    (extension_zip({"name": "x", "dataElements": [{"name": "d", "libPath": "src/lib/events/click.js",
                                                   "viewPath": "../../outside.html"}]}),
     ["extension-package-path-error"]),
    (extension_zip({"name": "x", "events": [{"name": "e", "libPath": "src/lib/events/click"}]}),
     ["extension-package-path-error"]),
    # looked up as written, as Adobe's reactor-validator does: `./src/...` is not `src/...`
    (extension_zip({"name": "x", "events": [{"name": "e", "libPath": "./src/lib/events/click.js"}]}),
     ["library-file-not-found"]),
    (extension_zip({"name": "x", "actions": [{"name": "a", "libPath": "src/lib/events/click.js",
                                              "transforms": [{"type": "customCode", "propertyPath": "s"}]}]}),
     ["illegal-custom-code-transform"]),
    (extension_zip({"name": "x", "actions": [{"name": "a", "libPath": "src/lib/events/click.js",
                                              "transforms": [{"type": "magic", "propertyPath": "s"}]}]}),
     ["extension-package-transform-definition-error"]),
    # errors.md: "Each object property can have one transform defined"
    (extension_zip({"name": "x", "actions": [{"name": "a", "libPath": "src/lib/events/click.js",
                                              "transforms": [{"type": "function", "propertyPath": "s"},
                                                             {"type": "file", "propertyPath": "s"}]}]}),
     ["extension-package-transform-definition-error"]),
])
def test_a_broken_package_fails_with_the_documented_error(reactor, content, codes):
    package = processed(reactor, content)
    assert package["attributes"]["status"] == "failed"
    errors = package["meta"]["status_details"]["errors"]
    assert [e["code"] for e in errors] == codes and all(e["status"] == "422" and e["detail"] for e in errors)


@pytest.mark.parametrize(("content", "told"), [
    (b"not a zip at all", "could not be unzipped"),
    (make_zip({"extension.json": "{broken"}), "extension.json is not valid JSON"),
    (make_zip({"extension.json": b"\xff{}"}), "extension.json is not valid JSON"),
])
def test_the_zip_error_says_which_step_failed(reactor, content, told):
    """A zip that opens but whose manifest does not parse is not one that "could not be unzipped"."""
    [error] = processed(reactor, content)["meta"]["status_details"]["errors"]
    assert error["code"] == "extension-package-zip-error" and told in error["detail"], error["detail"]


def test_an_upload_without_a_package_part_is_refused_at_once(reactor):
    response = reactor.post("/extension_packages", {"data": {"type": "extension_packages"}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "extension-package-zip-error"


def test_a_failed_package_may_be_uploaded_again_and_released_privately_not_publicly(reactor):
    package = processed(reactor, b"junk")
    again = upload(reactor, extension_zip(), "PATCH", f"/extension_packages/{package['id']}")
    assert again.status_code == 200 and again.json()["data"]["attributes"]["status"] == "pending"
    assert reactor.get(f"/extension_packages/{package['id']}").json()["data"]["attributes"]["status"] == "succeeded"

    def act(body: dict) -> object:
        return reactor.patch(f"/extension_packages/{package['id']}",
                             {"data": {"id": package["id"], "type": "extension_packages", **body}})

    assert act({"meta": {"action": "release_private"}}).json()["data"]["attributes"]["availability"] == "private"
    public = act({"meta": {"action": "release_public"}})
    assert public.status_code == 403 and public.json()["errors"][0]["code"] == "public-release-not-authorized"
    renamed = act({"attributes": {"name": "other"}})
    assert renamed.status_code == 422 and renamed.json()["errors"][0]["code"] == "invalid-extension_package_id"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_upload_whose_header_names_no_boundary_is_read_as_the_docs_and_adobes_clients_send_it(reactor, method):
    """extension-packages.md sends `Content-Type: multipart/form-data` with -F; so do reactor-uploader
    (getReactorHeaders.js) and the SDK (sendMultipartFile); node-fetch, requests and httpx keep that bare
    header, so the body's boundary is not in it."""
    path = "/extension_packages"
    if method == "PATCH":
        path += "/" + processed(reactor, b"junk")["id"]
    headers = {**reactor.headers, "Content-Type": "multipart/form-data"}
    response = reactor.client.request(method, "/reactor" + path, headers=headers,
                                      files={"package": ("package.zip", extension_zip(), "application/zip")})
    assert response.status_code == (201 if method == "POST" else 200), response.text
    assert "boundary" not in response.request.headers["content-type"]
    polled = reactor.get(f"/extension_packages/{response.json()['data']['id']}").json()["data"]
    assert polled["attributes"]["status"] == "succeeded" and polled["attributes"]["name"] == "hello-world"


def uploader_lookup(reactor: Reactor, name: str) -> list:  # type: ignore[type-arg]
    """adobe/reactor-uploader bin/getExtensionPackageFromServer.js: its own development package of that name."""
    response = reactor.get("/extension_packages", params={
        "page[size]": "1", "page[number]": "1", "filter[name]": f"EQ {name}", "filter[platform]": "EQ web",
        "filter[availability]": "EQ development"})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_the_uploaders_lookup_finds_nothing_then_its_own_package_which_it_patches(reactor):
    assert uploader_lookup(reactor, "hello-world") == []  # Core is public: not the uploader's package
    broken = processed(reactor, extension_zip({"name": "hello-world", "platform": "web", "main": "../x.js"}))
    assert broken["attributes"]["status"] == "failed"
    [found] = uploader_lookup(reactor, "hello-world")
    assert found["id"] == broken["id"]  # the second run PATCHes it instead of creating another
    again = upload(reactor, extension_zip(), method="PATCH", path=f"/extension_packages/{found['id']}")
    assert again.status_code == 200 and again.json()["data"]["attributes"]["status"] == "pending"
    polled = reactor.get(f"/extension_packages/{found['id']}").json()["data"]
    assert polled["attributes"]["status"] == "succeeded"
    assert uploader_lookup(reactor, "Hello-World") == []  # EQ is "an exact, case-sensitive match"


def test_an_installed_package_becomes_an_extension_of_the_property(reactor):
    package = processed(reactor, extension_zip())
    prop = reactor.property()
    extension = reactor.created(f"/properties/{prop}/extensions", "extensions", {"settings": "{}"},
                                extension_package=package["id"])
    assert extension["attributes"]["name"] == "hello-world"
    assert reactor.get(f"/extensions/{extension['id']}/extension_package").json()["data"]["id"] == package["id"]
    failed = processed(reactor, b"junk")
    refused = reactor.post(f"/properties/{prop}/extensions", {"data": {
        "type": "extensions", "relationships": {"extension_package": {"data": {
            "id": failed["id"], "type": "extension_packages"}}}}})
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["source"] == {"pointer": "/data/relationships/extension_package/data"}


def multipart(boundary: str, parts: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, content in parts:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f.zip\"\r\n"
                "Content-Type: application/zip\r\n\r\n").encode() + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


boundaries = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=8, max_size=40)


@settings(max_examples=200, deadline=None)
@given(boundary=boundaries, payload=st.binary(max_size=2000), other=st.binary(max_size=200))
def test_read_upload_finds_the_package_part_whatever_its_bytes(boundary, payload, other):
    body = multipart(boundary, [("other", other), ("package", payload)])
    if f"--{boundary}".encode() in payload + other:
        return  # a payload holding the boundary cannot be framed by it
    assert read_upload(f"multipart/form-data; boundary={boundary}", body) == payload


@settings(max_examples=200, deadline=None)
@given(boundary=boundaries, payload=st.binary(max_size=2000), preamble=st.sampled_from([b"", b"\r\n"]))
def test_read_upload_takes_the_boundary_from_the_body_when_the_header_has_none(boundary, payload, preamble):
    body = preamble + multipart(boundary, [("package", payload)])
    if f"--{boundary}".encode() in payload:
        return
    assert read_upload("multipart/form-data", body) == payload
    assert read_upload("multipart/form-data;", body) == payload


@settings(max_examples=300, deadline=None)
@given(content_type=st.one_of(st.text(max_size=80), st.just("multipart/form-data; boundary=x")),
       body=st.binary(max_size=500))
def test_read_upload_never_raises_on_garbage(content_type, body):
    found = read_upload(content_type, body)
    assert found is None or isinstance(found, bytes)


manifests = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                         lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                             st.sampled_from(["name", "main", "events", "actions", "libPath", "transforms", "type",
                                              "dataElements", "x"]), inner, max_size=5), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(manifest=manifests, names=st.lists(st.text(alphabet="abc/._-", min_size=1, max_size=12), max_size=4))
def test_inspect_package_never_raises_and_names_only_documented_errors(manifest, names):
    files: dict[str, str | bytes] = {name: "x" for name in names if name != "extension.json"}
    files["extension.json"] = json.dumps(manifest)
    found, problems = inspect_package(make_zip(files))
    allowed = {"extension-package-zip-error", "extension-package-path-error", "library-file-not-found",
               "illegal-custom-code-transform", "extension-package-transform-definition-error"}
    assert {p.id for p in problems} <= allowed
    assert isinstance(found, dict) and (found == manifest or problems)
    json.dumps(package_attributes(found, "pending", "ORG@AdobeOrg"))  # what the upload answer shows


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_inspect_package_of_any_bytes_never_raises(data):
    found, problems = inspect_package(data)
    assert isinstance(found, dict) and isinstance(problems, list)


def test_the_catalog_holds_the_public_packages_adobes_sdk_installs(reactor):
    """extension-packages.test.js lists core, adobe-analytics and facebook-pixel; extensions.test.js and
    examples.test.js install Adobe Analytics on a new web property and revise it (against reactor.adobe.io)."""
    web = reactor.get("/extension_packages", params={"filter[platform]": "EQ web", "sort": "+name",
                                                      "page[number]": "1", "page[size]": "100"}).json()["data"]
    public = {p["attributes"]["name"]: p for p in web if p["attributes"]["availability"] == "public"}
    assert {"core", "adobe-analytics", "facebook-pixel"} <= set(public)
    assert public["adobe-analytics"]["attributes"]["display_name"] == "Adobe Analytics"
    assert public["facebook-pixel"]["attributes"]["display_name"] == "Facebook Pixel"
    prop = reactor.property()
    analytics = reactor.created(f"/properties/{prop}/extensions", "extensions", {
        "delegate_descriptor_id": "adobe-analytics::extensionConfiguration::config",
        "settings": json.dumps({"libraryCode": {"type": "managed", "accounts": {"development": ["dev-tastic"]}}})},
        extension_package=public["adobe-analytics"]["id"])
    assert analytics["attributes"]["name"] == "adobe-analytics"
    assert analytics["attributes"]["display_name"] == "Adobe Analytics"
    listed = reactor.get(f"/properties/{prop}/extensions").json()["data"]
    assert sorted(e["attributes"]["name"] for e in listed) == ["adobe-analytics", "core"]
    revision = reactor.patch(f"/extensions/{analytics['id']}", {"data": {
        "id": analytics["id"], "type": "extensions", "attributes": {}, "meta": {"action": "revise"}}})
    assert revision.status_code == 200 and revision.json()["data"]["id"] != analytics["id"]
    # its delegates resolve by the package's name (examples.test.js: an Analytics action on a rule)
    component = reactor.rule_component(prop, analytics["id"], [reactor.rule(prop)], name="analytics-action",
                                       delegate="adobe-analytics::actions::set-variables")
    assert component["relationships"]["extension"]["data"]["id"] == analytics["id"]


def test_a_modes_asynchronous_error_shows_when_the_package_is_polled_as_a_flags_does(make_client, tmp_path):
    """A mode is how a client that takes only a base URL (reactor-uploader) meets an error: its
    `minification-error` answered the POST 422 at once, which no real Reactor does; the uploader then died on
    "No extension package ID was returned". As asked by flag, the POST is 201 pending and the poll shows it."""
    (tmp_path / "fails.yaml").write_text("api: reactor\nmodes:\n  package-fails:\n    description: processing fails\n"
                                         "    error: minification-error\n    routes: [create-extension-package]\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    switched = reactor.client.post("/__admin/modes", json={"mode": "package-fails", "api": "reactor", "session": "s1"})
    assert switched.status_code < 300, switched.text
    package = processed(reactor, extension_zip({"name": "x"}))
    assert package["attributes"]["status"] == "failed"
    assert [e["code"] for e in package["meta"]["status_details"]["errors"]] == ["minification-error"]
    # __code=422 there still picks a processing error, shown when polled (not invalid-name, at once)
    assert upload(reactor, extension_zip({"name": "y"}), path="/extension_packages?__code=422").status_code == 201
    # another mode on that fails at once still answers: the asynchronous one took no failure's place
    assert reactor.client.post("/__admin/modes", json={"mode": "outage", "api": "reactor",
                                                       "session": "s1"}).status_code < 300
    outage = upload(reactor, extension_zip({"name": "z"}))
    assert outage.status_code >= 500 and outage.json()["errors"][0]["code"] != "minification-error"


def test_a_package_named_as_a_public_one_is_refused_at_once_as_reactor_uploader_expects(reactor):
    """adobe/reactor-uploader bin/uploadZip.js reads `invalid-name` from the POST's answer: a name in use by an
    extension outside the organization (the public packages are Adobe's). The mock created a second `core`."""
    refused = upload(reactor, extension_zip({"name": "core"}))
    assert refused.status_code == 422 and "data" not in refused.json()
    assert [(e["code"], e["source"]["pointer"]) for e in refused.json()["errors"]] == [("invalid-name",
                                                                                        "/data/attributes/name")]
    names = [p["attributes"]["name"] for p in reactor.get("/extension_packages").json()["data"]]
    assert names.count("core") == 1
    assert processed(reactor, extension_zip({"name": "my-core"}))["attributes"]["status"] == "succeeded"


def test_a_public_package_is_adobes_not_the_clients_to_change(reactor):
    """Core is released to every org: a PATCH taking it private or uploading over it is an action no client's
    account may perform (403 not-authorized); it stays public, and the next web property still gets it."""
    listed = reactor.get("/extension_packages").json()["data"]
    core = next(p for p in listed if p["attributes"]["name"] == "core")
    private = reactor.patch(f"/extension_packages/{core['id']}",
                            {"data": {"id": core["id"], "type": "extension_packages",
                                      "meta": {"action": "release_private"}}})
    assert private.status_code == 403 and private.json()["errors"][0]["code"] == "not-authorized"
    zipped = extension_zip({"name": "core", "version": "9.9.9"})
    over = upload(reactor, zipped, "PATCH", f"/extension_packages/{core['id']}")
    assert over.status_code == 403 and over.json()["errors"][0]["code"] == "not-authorized"
    after = reactor.get(f"/extension_packages/{core['id']}").json()["data"]["attributes"]
    assert after["availability"] == "public" and after["version"] == core["attributes"]["version"]


def test_the_core_package_is_an_option_of_the_file(make_client, tmp_path):
    """`core_extension_package` was read by the code and written in no file: `[1]` made each session's first request
    a 500 and left the session with no package. Now the bundled file gives it (its kind is held at load), and a
    package without a name (null, {}) is refused: the session's seeding starts with it."""
    (tmp_path / "reactor-core.yaml").write_text("api: reactor\noptions:\n  core_extension_package: {name: core, "
                                                "display_name: Core, version: 3.5.0, platform: web}\n")
    reactor = Reactor(make_client(scenarios=(str(tmp_path),)))
    listed = reactor.get("/extension_packages", params={"page[size]": "100"}).json()["data"]
    assert [p["attributes"]["version"] for p in listed if p["attributes"]["name"] == "core"] == ["3.5.0"]
    for option, told in [("[1]", "a list where the option takes a mapping (as {'name': 'core', 'display_name': "
                                "'Core', 'version': '3.4.2', 'platform': 'web'})"),
                        ("null", "null is no package: a mapping with a name, as {name: core, display_name: Core, "
                                 "version: 3.4.2, platform: web}"),
                        ("{display_name: X}", "{'display_name': 'X'} is no package: a mapping with a name, as {name: "
                                              "core, display_name: Core, version: 3.4.2, platform: web}")]:
        (tmp_path / "reactor-core.yaml").write_text(f"api: reactor\noptions:\n  core_extension_package: {option}\n")
        answer = reactor.client.post("/__admin/reload")
        assert answer.status_code == 422 and answer.json()["problems"] == [
            f"{tmp_path / 'reactor-core.yaml'}:3: options.core_extension_package: {told}"], option
    assert reactor.get("/extension_packages").status_code == 200  # the old scenarios still served
