"""Random sequences of Reactor calls against a model of what the endpoint pages say.

The model: the session's company holds properties (names unique, case-insensitive, within the
company: properties.md); a property holds hosts, environments, libraries and rules. A created resource
reads back with its attributes; a deleted property, host, environment or library answers not-found
(404) and stays so; a deleted rule stays readable with `meta.deleted_at` (adobe/reactor-sdk-javascript
test/integration/rules.test.js) and leaves its list; every list holds exactly what exists, in creation
order, page by page (guides/pagination.md). Every error answer is a catalog entry, with its status and
JSON:API shape; every answer replays byte for byte. STATEFUL_EXAMPLES / STATEFUL_STEPS size the run.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from tests.apis.stateful import SETTINGS, Recorder, body
from tests.apis.test_reactor_support import HEADERS, ID, JSONAPI, assert_jsonapi

NAMES = st.sampled_from(["Alpha", "alpha", "Beta", "Gamma", "Delta", "beta "])
KINDS = ("hosts", "environments", "libraries", "rules")


def document(kind: str, attributes: dict[str, Any], relationships: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"type": kind, "attributes": attributes}
    if relationships:
        data["relationships"] = relationships
    return {"data": data}


class ReactorModel(RuleBasedStateMachine):
    properties = Bundle("properties")
    children = Bundle("children")

    def __init__(self) -> None:
        super().__init__()
        self.api = Recorder("reactor", headers=HEADERS)
        self.company = body(self.api.request("GET", "/reactor/companies"))["data"][0]["id"]
        self.catalog = self.api.catalog
        self.props: dict[str, dict[str, Any]] = {}  # id -> attributes the model knows
        self.kids: dict[str, dict[str, Any]] = {}  # id -> {"kind", "property", "name", "deleted"}
        self.gone: set[str] = set()  # ids whose resources were deleted (hard)
        self.seen_ids: set[str] = set()

    # -- helpers -------------------------------------------------------------------------------
    def send(self, method: str, path: str, document: Any = None, **params: Any) -> Any:
        response = self.api.request(method, f"/reactor{path}", json=document, params=params or None)
        if response.status_code >= 400:
            self.check_error(response)
        return response

    def check_error(self, response: Any) -> None:
        assert response.headers["content-type"] == JSONAPI, response.headers
        errors = body(response)["errors"]
        for error in errors:
            entry = self.catalog[error["code"]]
            assert int(error["status"]) == entry["status"] == response.status_code, error
            assert error["title"] == entry["title"]

    def expect_error(self, response: Any, code: str) -> None:
        assert response.status_code == self.catalog[code]["status"], (response.status_code, response.text)
        assert [e["code"] for e in body(response)["errors"]] == [code], response.text

    def created(self, response: Any, kind: str) -> dict[str, Any]:
        assert response.status_code == 201, response.text
        data = body(response)["data"]
        assert ID[kind].match(data["id"]) and data["type"] == kind
        assert data["id"] not in self.seen_ids, "ids are unique"
        self.seen_ids.add(data["id"])
        return data

    def name_taken(self, name: str, own: str | None = None) -> bool:
        return any(a["name"].casefold() == name.casefold() and i != own for i, a in self.props.items())

    def listed(self, path: str) -> list[str]:
        """Every page of a list, cut in pages of a random size, checked against its pagination."""
        first = self.send("GET", path, **{"page[size]": "2"})
        assert first.status_code == 200, first.text
        meta = body(first)["meta"]["pagination"]
        found = [r["id"] for r in body(first)["data"]]
        for number in range(2, meta["total_pages"] + 1):
            page = body(self.send("GET", path, **{"page[size]": "2", "page[number]": str(number)}))
            assert page["meta"]["pagination"]["current_page"] == number
            found += [r["id"] for r in page["data"]]
        assert len(found) == meta["total_count"] == len(set(found)), (found, meta)
        return found

    # -- properties ----------------------------------------------------------------------------
    @rule(target=properties, name=NAMES, platform=st.sampled_from(["web", "mobile", "edge"]))
    def create_property(self, name: str, platform: str) -> Any:
        attributes = {"name": name, "platform": platform, **({"domains": ["example.com"]} if platform == "web" else {})}
        response = self.send("POST", f"/companies/{self.company}/properties", document("properties", attributes))
        if self.name_taken(name):
            self.expect_error(response, "not-unique")
            return None
        data = self.created(response, "properties")
        assert {k: data["attributes"][k] for k in attributes} == attributes
        self.props[data["id"]] = attributes
        return data["id"]

    @rule(prop=properties)
    def read_property(self, prop: str | None) -> None:
        if prop is None:
            return
        response = self.send("GET", f"/properties/{prop}")
        if prop in self.gone:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 200, response.text
        attributes = body(response)["data"]["attributes"]
        assert {k: attributes[k] for k in self.props[prop]} == self.props[prop]

    @rule(prop=properties, name=NAMES)
    def rename_property(self, prop: str | None, name: str) -> None:
        if prop is None:
            return
        response = self.send("PATCH", f"/properties/{prop}",
                             {"data": {"id": prop, "type": "properties", "attributes": {"name": name}}})
        if prop in self.gone:
            self.expect_error(response, "not-found")
        elif self.name_taken(name, prop):
            self.expect_error(response, "not-unique")
        else:
            assert response.status_code == 200, response.text
            assert body(response)["data"]["attributes"]["name"] == name
            self.props[prop]["name"] = name

    @rule(prop=properties)
    def delete_property(self, prop: str | None) -> None:
        if prop is None:
            return
        response = self.send("DELETE", f"/properties/{prop}")
        if prop in self.gone:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 204, response.text
        assert response.content == b""
        self.gone.add(prop)
        del self.props[prop]
        self.gone.update(i for i, k in self.kids.items() if k["property"] == prop)  # its resources go with it

    # -- a property's resources ----------------------------------------------------------------
    @rule(target=children, prop=properties, kind=st.sampled_from(KINDS), name=NAMES)
    def create_child(self, prop: str | None, kind: str, name: str) -> Any:
        if prop is None:
            return None
        attributes: dict[str, Any] = {"name": name}
        relationships = None
        if kind == "hosts":
            attributes["type_of"] = "akamai"
        host = self.live_host(prop) if kind == "environments" else None
        if host is not None:  # environments.md: an environment's host relationship
            relationships = {"host": {"data": {"id": host, "type": "hosts"}}}
        response = self.send("POST", f"/properties/{prop}/{kind}", document(kind, attributes, relationships))
        if prop in self.gone:
            self.expect_error(response, "not-found")
            return None
        data = self.created(response, kind)
        assert {k: data["attributes"][k] for k in attributes} == attributes
        self.kids[data["id"]] = {"kind": kind, "property": prop, "name": name, "deleted": False, "host": host}
        return data["id"]

    def live_host(self, prop: str) -> str | None:
        hosts = [i for i, k in self.kids.items()
                 if k["property"] == prop and k["kind"] == "hosts" and i not in self.gone]
        return hosts[-1] if hosts else None

    @rule(child=children)
    def read_child(self, child: str | None) -> None:
        if child is None:
            return
        known = self.kids[child]
        response = self.send("GET", f"/{known['kind']}/{child}")
        if child in self.gone:
            self.expect_error(response, "not-found")
            return
        assert response.status_code == 200, response.text
        data = body(response)["data"]
        assert data["attributes"]["name"] == known["name"]
        if known["deleted"]:  # a soft-deleted rule
            assert data["meta"].get("deleted_at"), data

    @rule(child=children, name=NAMES)
    def rename_child(self, child: str | None, name: str) -> None:
        if child is None:
            return
        known = self.kids[child]
        response = self.send("PATCH", f"/{known['kind']}/{child}",
                             {"data": {"id": child, "type": known["kind"], "attributes": {"name": name}}})
        if child in self.gone or known["deleted"]:
            self.expect_error(response, "not-found")
        elif known["kind"] == "hosts":  # hosts.md: an Akamai host cannot be changed
            self.expect_error(response, "read-only")
        else:
            assert response.status_code == 200, response.text
            assert body(response)["data"]["attributes"]["name"] == name
            known["name"] = name

    @rule(child=children)
    def delete_child(self, child: str | None) -> None:
        if child is None:
            return
        known = self.kids[child]
        response = self.send("DELETE", f"/{known['kind']}/{child}")
        if child in self.gone or known["deleted"]:
            self.expect_error(response, "not-found")
            return
        if known["kind"] == "hosts" and any(k["host"] == child for i, k in self.kids.items() if i not in self.gone):
            self.expect_error(response, "host-in-use")  # hosts.md: not while an environment uses it
            return
        assert response.status_code == 204, response.text
        if known["kind"] == "rules":
            known["deleted"] = True
        else:
            self.gone.add(child)

    @precondition(lambda self: bool(self.props))
    @rule(data=st.data())
    def list_children(self, data: st.DataObject) -> None:
        prop = data.draw(st.sampled_from(sorted(self.props)))
        kind = data.draw(st.sampled_from(KINDS))
        expected = [i for i, k in self.kids.items()
                    if k["property"] == prop and k["kind"] == kind and i not in self.gone and not k["deleted"]]
        assert self.listed(f"/properties/{prop}/{kind}") == expected

    @rule()
    def list_properties(self) -> None:
        assert self.listed(f"/companies/{self.company}/properties") == list(self.props)

    @invariant()
    def documents_are_jsonapi(self) -> None:
        if self.api.answers and self.api.answers[-1][2]:
            assert_jsonapi(body(_Last(self.api.answers[-1][2])))

    def teardown(self) -> None:
        self.api.finish()


class _Last:
    """The last answer's bytes, for `body`."""

    def __init__(self, content: bytes) -> None:
        self.content = content


ReactorModel.TestCase.settings = SETTINGS
TestReactorModel = ReactorModel.TestCase
