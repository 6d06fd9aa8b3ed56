"""Shared by the Reactor tests: the SDK's headers, the official JSON:API schema, a small client."""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from typing import Any

from jsonschema import Draft7Validator

from tests.conftest import ROOT

SHARED = ROOT / "tests" / "reference"  # copies of shared/reference: official schemas byte for byte (see .source.txt)
# What adobe/reactor-sdk-javascript sends on every request (src/reactor-headers.js)
HEADERS = {
    "Accept": "application/vnd.api+json;revision=1",
    "Content-Type": "application/vnd.api+json",
    "Authorization": "Bearer test-token",
    "X-Api-Key": "Activation-DTM",
}
JSONAPI = "application/vnd.api+json"
ID = {kind: re.compile(rf"^{prefix}[0-9a-f]{{32}}$") for kind, prefix in (
    ("companies", "CO"), ("properties", "PR"), ("libraries", "LB"), ("builds", "BL"), ("environments", "EN"),
    ("hosts", "HT"), ("extensions", "EX"), ("data_elements", "DE"), ("rules", "RL"), ("extension_packages", "EP"),
    ("rule_components", "RC"), ("callbacks", "CB"), ("audit_events", "AE"))}


def _patched(node: Any) -> Any:
    """The recipe of schemas/jsonapi-1.0.schema.json.source.txt, applied to every empty pattern.

    The recipe names `"patternProperties": {"": true}` (meta, attributes); the same empty pattern
    also keys `relationships` (`{"": {"$ref": ".../relationship"}}`), which python-jsonschema
    otherwise reads as "no member allowed": it becomes `"^"` too, its schema kept.
    """
    if isinstance(node, dict):
        return {k: ({("^" if p == "" else p): _patched(s) for p, s in v.items()} if k == "patternProperties"
                    and isinstance(v, dict) else _patched(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_patched(v) for v in node]
    return node


def jsonapi_validator() -> Draft7Validator:
    schema = json.loads((SHARED / "schemas" / "jsonapi-1.0.schema.json").read_text())
    return Draft7Validator(_patched(copy.deepcopy(schema)))


VALIDATOR = jsonapi_validator()


def assert_jsonapi(document: Any) -> None:
    problems = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not problems, [f"{list(p.path)}: {p.message}" for p in problems[:5]]


def documented_ids() -> list[str]:
    return list(json.loads((SHARED / "documented-errors.json").read_text())["reactor"]["ids"])


def links_of(document: Any) -> list[str]:
    """Every value of every `links` member, anywhere in the document."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "links" and isinstance(value, dict):
                found.extend(v for v in value.values() if isinstance(v, str))
            else:
                found.extend(links_of(value))
    elif isinstance(document, list):
        for value in document:
            found.extend(links_of(value))
    return found


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def extension_zip(manifest: dict[str, Any] | None = None, extra: dict[str, str] | None = None) -> bytes:
    manifest = manifest if manifest is not None else {
        "name": "hello-world", "displayName": "Hello World", "version": "1.0.1", "platform": "web",
        "events": [{"name": "click", "displayName": "Click", "libPath": "src/lib/events/click.js"}]}
    return make_zip({"extension.json": json.dumps(manifest), "src/lib/events/click.js": "module.exports = 1;",
                     **(extra or {})})


class Reactor:
    """A test client that speaks as Adobe's SDK does, with helpers for the usual resources."""

    def __init__(self, client: Any, prefix: str = "/reactor", session: str = "s1", **extra: str) -> None:
        self.client = client
        self.prefix = prefix
        self.headers = {**HEADERS, "X-Mock-Session": session, **extra}

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        content = json.dumps(body) if body is not None else kwargs.pop("content", None)
        return self.client.request(method, self.prefix + path, content=content, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("DELETE", path, body, **kwargs)

    def created(self, path: str, kind: str, attributes: dict[str, Any],
                **relationships: str | list[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"type": kind, "attributes": attributes}
        if relationships:  # a to-many (a name ending in s) takes a list of ids
            data["relationships"] = {name: {"data": [{"id": i, "type": name} for i in value]
                                            if isinstance(value, list) else {"id": value, "type": f"{name}s"}}
                                     for name, value in relationships.items()}
        response = self.post(path, {"data": data})
        assert response.status_code == 201, response.text
        assert ID[kind].match(response.json()["data"]["id"])
        return dict(response.json()["data"])

    def company(self) -> str:
        return str(self.get("/companies").json()["data"][0]["id"])

    def property(self, name: str = "Prop") -> str:
        return self.created(f"/companies/{self.company()}/properties", "properties",
                            {"name": name, "platform": "web", "domains": ["example.com"]})["id"]

    def library(self, prop: str, name: str = "Lib") -> str:
        return self.created(f"/properties/{prop}/libraries", "libraries", {"name": name})["id"]

    def host(self, prop: str, name: str = "Akamai") -> str:
        return self.created(f"/properties/{prop}/hosts", "hosts", {"name": name, "type_of": "akamai"})["id"]

    def environment(self, prop: str, host: str | None, name: str = "Dev", stage: str = "development") -> str:
        extra = {"host": host} if host else {}
        return self.created(f"/properties/{prop}/environments", "environments", {"name": name, "stage": stage},
                            **extra)["id"]

    def assign(self, library: str, environment: str) -> Any:
        return self.post(f"/libraries/{library}/relationships/environment",
                         {"data": {"id": environment, "type": "environments"}})

    def buildable(self, name: str = "Prop") -> tuple[str, str, str]:
        """A property with a library assigned to a development environment on an Akamai host."""
        prop = self.property(name)
        library = self.library(prop)
        environment = self.environment(prop, self.host(prop))
        assert self.assign(library, environment).status_code == 200
        return prop, library, environment

    def core_package(self) -> str:
        """As helpers.js getCoreExtensionPackage finds it."""
        found = self.get("/extension_packages", params={"filter[platform]": "EQ web", "filter[name]": "EQ core"})
        return str(next(p["id"] for p in found.json()["data"] if p["attributes"]["name"] == "core"))

    def extension(self, prop: str) -> str:
        """The Core extension a new web property comes with, as helpers.js getCoreExtension finds it."""
        found = self.get(f"/properties/{prop}/extensions", params={"filter[platform]": "EQ web",
                                                                   "filter[name]": "EQ core"})
        assert found.status_code == 200, found.text
        package = self.core_package()
        core = [e for e in found.json()["data"] if e["relationships"]["extension_package"]["data"]["id"] == package]
        assert len(core) == 1 and ID["extensions"].match(core[0]["id"]) and core[0]["attributes"]["name"] == "core"
        return str(core[0]["id"])

    def data_element(self, prop: str, extension: str, name: str = "DE") -> str:
        return self.created(f"/properties/{prop}/data_elements", "data_elements",
                            {"name": name, "delegate_descriptor_id": "core::dataElements::cookie",
                             "settings": '{"name": "x"}'}, extension=extension)["id"]

    def rule(self, prop: str, name: str = "Rule") -> str:
        return self.created(f"/properties/{prop}/rules", "rules", {"name": name})["id"]

    def rule_component(self, prop: str, extension: str, rules: list[str], name: str = "Click",
                       delegate: str = "core::events::click") -> dict[str, Any]:
        """As adobe/reactor-sdk-javascript test/integration/helpers.js makes one."""
        return self.created(f"/properties/{prop}/rule_components", "rule_components",
                            {"name": name, "delegate_descriptor_id": delegate, "order": 1,
                             "settings": '{"elementSelector": "a#checkout"}'}, extension=extension, rules=rules)
