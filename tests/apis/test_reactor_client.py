"""A client written as a user would (requests, the SDK's headers) against a real server process."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.apis.test_reactor_support import HEADERS, JSONAPI

pytestmark = pytest.mark.slow


class ReactorError(Exception):
    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{status}: {[e.get('code') for e in errors]}")
        self.status = status
        self.errors = errors


class Client:
    """What a user's code does: JSON:API in, errors read only from an application/vnd.api+json body."""

    def __init__(self, base_url: str, session: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update({**HEADERS, "X-Mock-Session": session})

    def call(self, method: str, url: str, body: Any = None, **headers: str) -> Any:
        url = url if url.startswith("http") else self.base_url + url
        response = self.http.request(method, url, json=body, headers=headers, timeout=10)
        document = response.json() if JSONAPI in response.headers.get("content-type", "") else None
        if not response.ok:
            raise ReactorError(response.status_code, (document or {}).get("errors", []))
        return document

    def create(self, url: str, kind: str, attributes: dict[str, Any], **relationships: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"type": kind, "attributes": attributes}
        if relationships:
            data["relationships"] = {k: {"data": v} for k, v in relationships.items()}
        return dict(self.call("POST", url, {"data": data})["data"])

    def wait_for_build(self, build: dict[str, Any]) -> dict[str, Any]:
        for _ in range(10):  # the SDK's integration test polls while the status is pending
            build = self.call("GET", build["links"]["self"])["data"]
            if build["attributes"]["status"] != "pending":
                return build
        raise AssertionError("the build stayed pending")


def test_a_client_drives_property_library_build_poll_and_sees_the_documented_failure(start_server):
    server = start_server("--seed", "3")
    client = Client(server.url + "/reactor", "client-flow")
    company = client.call("GET", "/companies")["data"][0]
    prop = client.create(company["relationships"]["properties"]["links"]["related"], "properties",
                         {"name": "Web", "platform": "web", "domains": ["example.com"]})
    with pytest.raises(ReactorError) as duplicate:
        client.create(company["relationships"]["properties"]["links"]["related"], "properties",
                      {"name": "Web", "platform": "web", "domains": ["example.com"]})
    assert duplicate.value.status == 422 and duplicate.value.errors[0]["code"] == "not-unique"
    related = {name: member["links"]["related"] for name, member in prop["relationships"].items()}
    library = client.create(related["libraries"], "libraries", {"name": "Main"})
    with pytest.raises(ReactorError) as no_environment:
        client.call("POST", library["relationships"]["builds"]["links"]["related"])
    assert no_environment.value.errors[0]["code"] == "environment-required"
    host = client.create(related["hosts"], "hosts", {"name": "Managed by Adobe", "type_of": "akamai"})
    environment = client.create(related["environments"], "environments", {"name": "Dev", "stage": "development"},
                                host={"id": host["id"], "type": "hosts"})
    client.call("PATCH", library["relationships"]["environment"]["links"]["self"],
                {"data": {"id": environment["id"], "type": "environments"}})

    build = client.call("POST", library["relationships"]["builds"]["links"]["related"], None,
                        Prefer="error=minification-error")["data"]
    assert build["attributes"]["status"] == "pending"
    failed = client.wait_for_build(build)
    assert failed["attributes"]["status"] == "failed"
    [error] = failed["meta"]["status_details"]["errors"]
    assert (error["code"], error["status"], error["title"]) == ("minification-error", "422", "Minification Error")
    owner = client.call("GET", failed["relationships"]["library"]["links"]["related"])["data"]
    assert owner["id"] == library["id"] and owner["meta"]["build_status"] == "failed"

    good = client.wait_for_build(client.call("POST", library["relationships"]["builds"]["links"]["related"])["data"])
    assert good["attributes"]["status"] == "succeeded"
    with pytest.raises(ReactorError) as missing:
        client.call("GET", "/builds/BL" + "0" * 32)
    assert missing.value.status == 404 and missing.value.errors[0]["source"] == {"pointer": "/data"}


def test_the_same_flow_served_alone_at_the_root_links_to_the_root(start_server):
    server = start_server("--api", "reactor")
    client = Client(server.url, "root")
    company = client.call("GET", "/companies")["data"][0]
    assert company["links"]["self"] == f"{server.url}/companies/{company['id']}"
    assert client.call("GET", company["relationships"]["properties"]["links"]["related"])["data"] == []
